#include "server/console_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/clock.h"
#include "server/internal/recording_stream.h"
#include "storage/big_endian.h"
#include "storage/internal/temp_dir.h"
#include "storage/raw_log_record.h"

namespace cdp::server {
namespace {

using internal::RecordingStream;
using ::testing::HasSubstr;
using ::testing::Not;

class ConsoleHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::Database::Options options;
    options.path = dir_.sub("data");
    database_ = std::move(storage::Database::open(options)).value();
    live_ = std::make_unique<LiveEvents>(*database_, SystemClock::instance());
    live_->start();
    console_ = dir_.sub("console");
    std::filesystem::create_directories(console_ + "/assets");
    write("index.html", "<!doctype html><title>cdp</title>");
    write("assets/index-Ab12.js", "console.log(1)");
    write("favicon.svg", "<svg/>");
  }
  void TearDown() override { live_->stop(); }

  void write(const std::string& name, const std::string& content) {
    std::ofstream(console_ + "/" + name) << content;
  }
  Response call(ConsoleHandler& handler, const std::string& target, const std::string& token = "",
                http::verb method = http::verb::get, StreamOpener open_stream = {}) {
    Request request{method, target, 11};
    if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
    RequestInfo info;
    info.open_stream = std::move(open_stream);
    Response answer;
    answered_ = false;
    handler.handle(request, info, [&](Response response) {
      answer = std::move(response);
      answered_ = true;
    });
    return answer;
  }

  storage::internal::TempDir dir_;
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<LiveEvents> live_;
  std::string console_;
  bool answered_ = false;  // the last call() was answered through the Responder
};

TEST_F(ConsoleHandlerTest, ServesTheBuiltFilesWithTheirTypesAndCaching) {
  ConsoleHandler handler(console_, "admin", "reader", *live_);
  EXPECT_EQ(handler.files(), 3U);
  EXPECT_TRUE(handler.handles("/"));
  EXPECT_TRUE(handler.handles("/assets/index-Ab12.js"));
  EXPECT_FALSE(handler.handles("/assets/other.js"));
  EXPECT_FALSE(handler.handles("/assets/../index.html"));
  EXPECT_FALSE(handler.handles("/v1/profiles/x"));

  auto page = call(handler, "/");
  EXPECT_EQ(page.result(), http::status::ok);
  EXPECT_EQ(page[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ(page[http::field::cache_control], "no-cache");
  EXPECT_THAT(std::string(page["Content-Security-Policy"]), HasSubstr("default-src 'self'"));
  EXPECT_EQ(page.body(), "<!doctype html><title>cdp</title>");

  auto script = call(handler, "/assets/index-Ab12.js?v=1");
  EXPECT_EQ(script[http::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_THAT(std::string(script[http::field::cache_control]), HasSubstr("immutable"));
  EXPECT_EQ(call(handler, "/favicon.svg")[http::field::content_type], "image/svg+xml");

  auto head = call(handler, "/", "", http::verb::head);
  EXPECT_EQ(head.body(), "");
  EXPECT_EQ(head[http::field::content_length], "33");
  EXPECT_EQ(call(handler, "/", "", http::verb::post).result(), http::status::method_not_allowed);
}

TEST_F(ConsoleHandlerTest, SaysHowToBuildAConsoleThatIsNotThere) {
  ConsoleHandler handler(dir_.sub("nothing"), "admin", "", *live_);
  EXPECT_EQ(handler.files(), 0U);
  const auto page = call(handler, "/");
  EXPECT_EQ(page.result(), http::status::not_found);
  EXPECT_THAT(page.body(), HasSubstr("npm ci &amp;&amp; npm run build"));
}

TEST_F(ConsoleHandlerTest, TellsWhatATokenMayDo) {
  ConsoleHandler handler(console_, "admin", "reader", *live_);
  EXPECT_EQ(call(handler, "/v1/console/whoami", "admin").body(), R"({"role":"admin"})");
  EXPECT_EQ(call(handler, "/v1/console/whoami", "reader").body(), R"({"role":"read"})");
  const auto refused = call(handler, "/v1/console/whoami", "a-write-key");
  EXPECT_EQ(refused.result(), http::status::unauthorized);
  EXPECT_THAT(refused.body(), HasSubstr("admin token or the read token"));
  EXPECT_EQ(call(handler, "/v1/console/whoami").result(), http::status::unauthorized);

  // No read token configured: an empty bearer opens nothing.
  ConsoleHandler admin_only(console_, "admin", "", *live_);
  Request request{http::verb::get, "/v1/console/whoami", 11};
  request.set(http::field::authorization, "Bearer ");
  Response answer;
  admin_only.handle(request, {}, [&answer](Response response) { answer = std::move(response); });
  EXPECT_EQ(answer.result(), http::status::unauthorized);
}

TEST_F(ConsoleHandlerTest, TheLiveStreamOpensForTheAdminTokenWithItsFilters) {
  ConsoleHandler handler(console_, "admin", "reader", *live_);
  EXPECT_EQ(call(handler, "/admin/v1/live/events").result(), http::status::unauthorized);
  const auto reader = call(handler, "/admin/v1/live/events", "reader");
  EXPECT_EQ(reader.result(), http::status::unauthorized) << "raw events are the admin's";
  EXPECT_THAT(reader.body(), HasSubstr("needs the admin token"));
  EXPECT_EQ(call(handler, "/admin/v1/live/events?backlog=x", "admin").result(),
            http::status::bad_request);
  EXPECT_EQ(call(handler, "/admin/v1/live/events", "admin").result(), http::status::not_implemented)
      << "a server that cannot stream says so";

  auto stream = std::make_shared<RecordingStream>();
  Response head;
  call(handler, "/admin/v1/live/events?type=track&name=Order+Completed", "admin", http::verb::get,
       [&](Response given) {
         head = std::move(given);
         return std::shared_ptr<ResponseStream>(stream);
       });
  EXPECT_FALSE(answered_) << "no answer besides the stream's head";
  EXPECT_EQ(head[http::field::content_type], "text/event-stream; charset=utf-8");
  EXPECT_EQ(stream->text(), "retry: 2000\n\n");
  EXPECT_EQ(live_->subscribers(), 1U);

  uint64_t seq = 0;
  for (const char* name : {"Order Completed", "Other", "Order Completed"}) {
    const storage::RawLogRecord record{++seq, "web", 0,
                                       std::string(R"({"type":"track","event":")") + name + "\"}"};
    ASSERT_TRUE(database_->db()
                    .Put(rocksdb::WriteOptions(), database_->raw_log(), storage::u64_be(record.seq),
                         record.encode_value())
                    .ok());
  }
  live_->notify(seq);
  // The second match comes after "Other": had the filter let it through, it would be here.
  const auto text = stream->wait_for("event: event", 2);
  EXPECT_EQ(RecordingStream::count_in(text, "Order Completed"), 2U);
  EXPECT_THAT(text, Not(HasSubstr("Other"))) << "the name filter, decoded from the query";
}

}  // namespace
}  // namespace cdp::server

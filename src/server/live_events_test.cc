#include "server/live_events.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

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
using namespace std::chrono_literals;

class LiveEventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::Database::Options options;
    options.path = dir_.sub("data");
    database_ = std::move(storage::Database::open(options)).value();
    live_ = std::make_unique<LiveEvents>(*database_, SystemClock::instance());
    live_->start();
  }
  void TearDown() override { live_->stop(); }

  // Stores a record the way the raw log writer does, and tells the live events about it.
  void store(const std::string& source, const std::string& json) {
    const storage::RawLogRecord record{++last_seq_, source, 1'700'000'000'000, json};
    ASSERT_TRUE(database_->db()
                    .Put(rocksdb::WriteOptions(), database_->raw_log(), storage::u64_be(record.seq),
                         record.encode_value())
                    .ok());
    live_->notify(last_seq_);
  }
  static std::string track(const std::string& name, int n) {
    return R"({"type":"track","event":")" + name + R"(","messageId":"m)" + std::to_string(n) +
           R"(","userId":"u1"})";
  }

  storage::internal::TempDir dir_;
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<LiveEvents> live_;
  uint64_t last_seq_ = 0;
};

TEST_F(LiveEventsTest, ANewClientGetsTheLatestEventsThenEachNewOneThatPassesItsFilter) {
  store("web", track("Viewed", 1));
  store("web", R"({"type":"identify","messageId":"m2","userId":"u1"})");
  store("app", track("Bought", 3));
  store(std::string(storage::kAdminSource), R"({"type":"define_audience","name":"a"})");
  store("web", track("Viewed", 5));

  auto all = std::make_shared<RecordingStream>();
  ASSERT_TRUE(live_->subscribe(all, {}, 2).is_ok());
  EXPECT_THAT(all->text(), HasSubstr("id: 3\nevent: event\ndata: {\"seq\":3,\"source\":\"app\""));
  EXPECT_THAT(all->text(), HasSubstr("id: 5\n"));
  EXPECT_THAT(all->text(), Not(HasSubstr("id: 2\n"))) << "only the last 2";
  EXPECT_THAT(all->text(), Not(HasSubstr("define_audience"))) << "cdp's own entries are left out";

  auto viewed = std::make_shared<RecordingStream>();
  ASSERT_TRUE(live_->subscribe(viewed, {"web", "track", "Viewed"}, 10).is_ok());
  EXPECT_EQ(viewed->count("event: event"), 2U);

  store("web", track("Viewed", 6));
  store("web", track("Clicked", 7));
  store("app", track("Viewed", 8));
  EXPECT_THAT(all->wait_for("\"messageId\":\"m8\""), HasSubstr("\"messageId\":\"m6\""));
  const auto text = viewed->wait_for("event: event", 3);
  EXPECT_THAT(text, HasSubstr("\"messageId\":\"m6\""));
  EXPECT_THAT(text, Not(HasSubstr("m7")));
  EXPECT_THAT(text, Not(HasSubstr("m8")));
  EXPECT_EQ(all->count("\"messageId\":\"m6\""), 1U) << "each event once";
}

TEST_F(LiveEventsTest, AClientGetsAtMostItsRateAndIsToldHowManyItMissed) {
  auto stream = std::make_shared<RecordingStream>();
  ASSERT_TRUE(live_->subscribe(stream, {}, 0).is_ok());
  constexpr size_t kEvents = 400;
  const auto started = std::chrono::steady_clock::now();
  for (size_t i = 0; i < kEvents; ++i) store("web", track("Tick", static_cast<int>(i)));
  // Every event is either sent or counted in a dropped frame (at most one a second).
  auto dropped_in = [](const std::string& text) {
    size_t dropped = 0;
    const std::string frame = "event: dropped\ndata: {\"count\":";
    for (auto at = text.find(frame); at != std::string::npos; at = text.find(frame, at + 1)) {
      dropped += std::stoul(text.substr(at + frame.size()));
    }
    return dropped;
  };
  std::string text;
  for (int i = 0; i < 100; ++i) {
    text = stream->text();
    if (RecordingStream::count_in(text, "event: event") + dropped_in(text) >= kEvents) break;
    std::this_thread::sleep_for(100ms);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const size_t sent = RecordingStream::count_in(text, "event: event");
  // The bucket: one second's worth at first, then kEventsPerSecond.
  EXPECT_LE(sent, static_cast<size_t>(LiveEvents::kEventsPerSecond * (1 + seconds)) + 1);
  EXPECT_GE(dropped_in(text), 1U);
  EXPECT_EQ(sent + dropped_in(text), kEvents) << text.substr(0, 300);
}

TEST_F(LiveEventsTest, RefusedItemsReachClientsThatAskForNoTypeOrName) {
  auto any = std::make_shared<RecordingStream>();
  auto tracks = std::make_shared<RecordingStream>();
  ASSERT_TRUE(live_->subscribe(any, {}, 0).is_ok());
  ASSERT_TRUE(live_->subscribe(tracks, {"", "track", ""}, 0).is_ok());
  live_->rejected("web", "missing_event", "track calls need \"event\"", "m9", 2, "");
  live_->rejected("", "invalid_json", "bad JSON at byte 3", "", -1, "{\"a\":\xff");
  const auto text = any->wait_for("event: rejected", 2);
  EXPECT_THAT(text, HasSubstr(R"("source":"web")"));
  EXPECT_THAT(text, HasSubstr(R"("code":"missing_event")"));
  EXPECT_THAT(text, HasSubstr(R"("messageId":"m9","index":2)"));
  EXPECT_THAT(text, HasSubstr("\"item\":\"{\\\"a\\\":\xEF\xBF\xBD\"")) << "valid UTF-8";
  EXPECT_EQ(tracks->count("event: rejected"), 0U);
}

TEST_F(LiveEventsTest, ClientsThatLeftAreForgotten) {
  auto stream = std::make_shared<RecordingStream>();
  ASSERT_TRUE(live_->subscribe(stream, {}, 0).is_ok());
  EXPECT_EQ(live_->subscribers(), 1U);
  stream->leave();
  store("web", track("Viewed", 1));
  for (int i = 0; i < 100 && live_->subscribers() > 0; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(live_->subscribers(), 0U);
  live_->stop();
}

TEST_F(LiveEventsTest, AStreamWhoseClientLeftFreesItsPlaceWithoutAWrite) {
  std::vector<std::shared_ptr<RecordingStream>> streams;
  for (size_t i = 0; i < LiveEvents::kMaxSubscribers; ++i) {
    streams.push_back(std::make_shared<RecordingStream>());
    ASSERT_TRUE(live_->subscribe(streams.back(), {"", "track", "Nothing"}, 0).is_ok());
  }
  EXPECT_FALSE(live_->has_room());
  EXPECT_EQ(live_->subscribe(std::make_shared<RecordingStream>(), {}, 0).code(),
            StatusCode::kResourceExhausted);
  streams.front()->leave();  // a quiet, filtered stream: nothing is written to find it out
  EXPECT_TRUE(live_->has_room());
  EXPECT_TRUE(live_->subscribe(std::make_shared<RecordingStream>(), {}, 0).is_ok());
}

TEST(SseFrameTest, EachLineOfTheDataIsADataField) {
  EXPECT_EQ(sse_frame("event", "{\"a\":1}", "7"), "id: 7\nevent: event\ndata: {\"a\":1}\n\n");
  EXPECT_EQ(sse_frame("x", "a\nb"), "event: x\ndata: a\ndata: b\n\n");
}

}  // namespace
}  // namespace cdp::server

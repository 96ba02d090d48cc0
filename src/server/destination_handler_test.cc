#include "server/destination_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

#include "storage/internal/temp_dir.h"

namespace cdp::server {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kAdmin = "admin-token";

// The handler over a real engine and database; requests are answered through its Responder,
// which the define, delete, test, sample and replay calls use from their own thread.
class DestinationHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::Database::Options options;
    options.path = dir_.sub("data");
    database_ = std::move(storage::Database::open(options)).value();
    activation::DeliveryEngine::Options engine_options;
    engine_options.allowed_networks.push_back(*activation::parse_network("127.0.0.0/8"));
    engine_options.files_root = dir_.sub("exports");
    engine_ = std::move(activation::DeliveryEngine::start(*database_, engine_options, {})).value();
    handler_ = std::make_unique<DestinationHandler>(kAdmin, *engine_);
  }
  void TearDown() override {
    handler_->stop();
    engine_->stop();
  }

  Response call(http::verb method, const std::string& target, const std::string& body = "",
                const std::string& token = kAdmin) {
    Request request{method, target, 11};
    request.set(http::field::authorization, "Bearer " + token);
    request.body() = body;
    request.prepare_payload();
    std::promise<Response> answered;
    handler_->handle(request, [&answered](Response response) { answered.set_value(response); });
    return answered.get_future().get();
  }

  storage::internal::TempDir dir_;
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<activation::DeliveryEngine> engine_;
  std::unique_ptr<DestinationHandler> handler_;
};

constexpr const char* kHook =
    R"({"type":"webhook","url":"http://127.0.0.1:1/hook","secret":"s3cret","events":{}})";

TEST_F(DestinationHandlerTest, DefinesListsShowsAndDeletes) {
  auto answer = call(http::verb::put, "/admin/v1/destinations/crm", kHook);
  ASSERT_EQ(answer.result(), http::status::ok) << answer.body();
  EXPECT_THAT(answer.body(), HasSubstr(R"("name":"crm")"));
  EXPECT_THAT(answer.body(), HasSubstr(R"("signed":true)"));
  EXPECT_THAT(answer.body(), Not(HasSubstr("s3cret"))) << "the secret is never answered";
  EXPECT_THAT(answer.body(), HasSubstr(R"("configured":false)"));
  EXPECT_THAT(answer.body(), HasSubstr(R"("status":{"state":)"));

  // What GET answers goes back as it is and keeps the secret.
  const auto shown = call(http::verb::get, "/admin/v1/destinations/crm");
  ASSERT_EQ(shown.result(), http::status::ok);
  answer = call(http::verb::put, "/admin/v1/destinations/crm", shown.body());
  ASSERT_EQ(answer.result(), http::status::ok) << answer.body();
  EXPECT_EQ(engine_->get("crm")->spec.secret, "s3cret");

  answer = call(http::verb::get, "/admin/v1/destinations");
  EXPECT_THAT(answer.body(), HasSubstr(R"({"destinations":[{"name":"crm")"));

  answer = call(http::verb::post, "/admin/v1/destinations/crm/test");
  EXPECT_THAT(answer.body(), HasSubstr(R"("ok":false)")) << "nothing listens on port 1";

  EXPECT_EQ(call(http::verb::delete_, "/admin/v1/destinations/crm").result(), http::status::ok);
  EXPECT_EQ(call(http::verb::get, "/admin/v1/destinations/crm").result(), http::status::not_found);
  EXPECT_EQ(call(http::verb::delete_, "/admin/v1/destinations/crm").result(),
            http::status::not_found);
}

TEST_F(DestinationHandlerTest, RefusesWhatItCannotDoAndSaysWhy) {
  auto answer = call(http::verb::get, "/admin/v1/destinations", "", "wrong");
  EXPECT_EQ(answer.result(), http::status::unauthorized);
  answer = call(http::verb::put, "/admin/v1/destinations/crm", R"({"type":"webhook"})");
  EXPECT_EQ(answer.result(), http::status::bad_request);
  EXPECT_THAT(answer.body(), HasSubstr("http:// or https://"));
  answer = call(http::verb::put, "/admin/v1/destinations/a%2Fb", kHook);
  EXPECT_EQ(answer.result(), http::status::bad_request);
  answer = call(http::verb::post, "/admin/v1/destinations");
  EXPECT_EQ(answer.result(), http::status::method_not_allowed);
  answer =
      call(http::verb::post, "/admin/v1/destinations/none/dead-letters/replay", R"({"ids":[]})");
  EXPECT_EQ(answer.result(), http::status::not_found);
  answer = call(http::verb::get, "/admin/v1/destinations/none/messages/m1");
  EXPECT_EQ(answer.result(), http::status::not_found);

  ASSERT_EQ(call(http::verb::put, "/admin/v1/destinations/crm", kHook).result(), http::status::ok);
  answer = call(http::verb::get, "/admin/v1/destinations/crm/messages/m1");
  EXPECT_EQ(answer.result(), http::status::not_found);
  EXPECT_THAT(answer.body(), HasSubstr("no record of message 'm1'"));
  answer = call(http::verb::get, "/admin/v1/destinations/crm/dead-letters?limit=0");
  EXPECT_EQ(answer.result(), http::status::bad_request);
  answer = call(http::verb::get, "/admin/v1/destinations/crm/dead-letters");
  EXPECT_EQ(answer.body(), R"({"dead_letters":[]})");
  answer = call(http::verb::post, "/admin/v1/destinations/crm/dead-letters/replay", "[1]");
  EXPECT_EQ(answer.result(), http::status::bad_request);
  answer = call(http::verb::get, "/admin/v1/destinations/crm/nothing");
  EXPECT_EQ(answer.result(), http::status::not_found);

  // Two files destinations cannot share a folder.
  ASSERT_EQ(call(http::verb::put, "/admin/v1/destinations/ads",
                 R"({"type":"files","path":"ads","audiences":{}})")
                .result(),
            http::status::ok);
  answer = call(http::verb::put, "/admin/v1/destinations/ads2",
                R"({"type":"files","path":"ads/google","audiences":{}})");
  EXPECT_EQ(answer.result(), http::status::bad_request);
  EXPECT_THAT(answer.body(), HasSubstr("overlaps destination 'ads'"));
  answer = call(http::verb::post, "/admin/v1/destinations/ads/dead-letters/replay");
  EXPECT_EQ(answer.result(), http::status::conflict);
}

// GET leaves credentials out and "signed": true sent back keeps them, but only for the same kind
// of destination on the same server: a password must never follow a new host, nor become a
// webhook's signing key.
TEST_F(DestinationHandlerTest, StoredCredentialsStayWithTheirServer) {
  constexpr const char* kWarehouse =
      R"({"type":"postgres","postgres":{"host":"127.0.0.1","port":1,"user":"u","dbname":"d",)"
      R"("password":"pw"},"events":{}})";
  ASSERT_EQ(call(http::verb::put, "/admin/v1/destinations/dw", kWarehouse).result(),
            http::status::ok);
  auto shown = call(http::verb::get, "/admin/v1/destinations/dw").body();
  EXPECT_THAT(shown, Not(HasSubstr("pw")));
  ASSERT_EQ(call(http::verb::put, "/admin/v1/destinations/dw", shown).result(), http::status::ok);
  EXPECT_EQ(engine_->get("dw")->spec.secret, "pw");

  auto moved = shown;
  const auto host = moved.find("127.0.0.1");
  ASSERT_NE(host, std::string::npos);
  moved.replace(host, 9, "127.0.0.2");
  ASSERT_EQ(call(http::verb::put, "/admin/v1/destinations/dw", moved).result(), http::status::ok);
  EXPECT_EQ(engine_->get("dw")->spec.secret, "") << "another host gets no password";

  ASSERT_EQ(call(http::verb::put, "/admin/v1/destinations/dw", kWarehouse).result(),
            http::status::ok);
  ASSERT_EQ(call(http::verb::put, "/admin/v1/destinations/dw",
                 R"({"type":"webhook","url":"http://127.0.0.1:1/hook","signed":true,"events":{}})")
                .result(),
            http::status::ok);
  EXPECT_EQ(engine_->get("dw")->spec.secret, "") << "a webhook never signs with a password";

  constexpr const char* kStream =
      R"({"type":"kafka","brokers":"127.0.0.1:1","topic":"t","events":{},)"
      R"("kafka":{"sasl.password":"kpw"}})";
  ASSERT_EQ(call(http::verb::put, "/admin/v1/destinations/k", kStream).result(), http::status::ok);
  shown = call(http::verb::get, "/admin/v1/destinations/k").body();
  EXPECT_THAT(shown, Not(HasSubstr("kpw")));
  ASSERT_EQ(call(http::verb::put, "/admin/v1/destinations/k", shown).result(), http::status::ok);
  EXPECT_EQ(engine_->get("k")->spec.kafka_config.at("sasl.password"), "kpw");
  moved = shown;
  moved.replace(moved.find("127.0.0.1:1"), 11, "127.0.0.1:2");
  ASSERT_EQ(call(http::verb::put, "/admin/v1/destinations/k", moved).result(), http::status::ok);
  EXPECT_FALSE(engine_->get("k")->spec.kafka_config.contains("sasl.password"));
}

}  // namespace
}  // namespace cdp::server

#include "activation/webhook_sender.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "activation/internal/test_receiver.h"

namespace cdp::activation {
namespace {

using ::testing::HasSubstr;
using testing::TestReceiver;

// Golden vector: printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test
TEST(WebhookSignatureTest, IsHmacSha256OfTimestampAndBody) {
  EXPECT_EQ(webhook_signature("whsec_test", 1700000000, R"({"a":1})"),
            "v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789");
}

TEST(RetryAfterTest, SecondsAndHttpDates) {
  const int64_t now = 1'700'000'000'000;  // 2023-11-14T22:13:20Z
  EXPECT_EQ(parse_retry_after("120", now), 120'000);
  EXPECT_EQ(parse_retry_after("0", now), 0);
  EXPECT_EQ(parse_retry_after("Tue, 14 Nov 2023 22:14:20 GMT", now), 60'000);
  EXPECT_EQ(parse_retry_after("Tue, 14 Nov 2023 22:00:00 GMT", now), 0) << "a past date";
  EXPECT_EQ(parse_retry_after("soon", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("99999999999", now), std::nullopt);
  EXPECT_EQ(parse_retry_after("2 Oct 701196056", now), std::nullopt) << "found by the fuzzer";
}

class WebhookSenderTest : public ::testing::Test {
 protected:
  DestinationSpec spec(const std::string& extra = "") {
    auto parsed = parse_destination_text("hook", R"({"type":"webhook","url":")" + receiver_.url() +
                                                     R"(","events":{})" + extra + "}");
    EXPECT_TRUE(parsed.has_value()) << parsed.status().message();
    return *parsed;
  }
  NetworkGuard loopback_allowed_{{*parse_network("127.0.0.0/8")}};
  FakeClock clock_{1'700'000'000'000};
  TestReceiver receiver_;
};

TEST_F(WebhookSenderTest, SendsOneSignedMessage) {
  WebhookSender sender(spec(R"(,"secret":"whsec_test")"), loopback_allowed_, clock_);
  const Message message{"m1", "u1", R"({"a":1})"};
  const Message* batch[] = {&message};
  const auto result = sender.send(batch, 1);
  EXPECT_EQ(result.outcome, SendResult::Outcome::kDelivered) << result.error;
  EXPECT_EQ(result.status, 200);
  ASSERT_EQ(receiver_.count(), 1u);
  const auto request = receiver_.requests()[0];
  EXPECT_EQ(request.body, R"({"a":1})");
  EXPECT_EQ(request.target, "/hook");
  EXPECT_EQ(request.headers.at("content-type"), "application/json");
  EXPECT_EQ(request.headers.at("x-cdp-destination"), "hook");
  EXPECT_EQ(request.headers.at("x-cdp-attempt"), "1");
  EXPECT_EQ(request.headers.at("x-cdp-timestamp"), "1700000000");
  EXPECT_EQ(request.headers.at("x-cdp-signature"),
            "v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789");
}

TEST_F(WebhookSenderTest, BatchesAreOneRequestOnOneConnection) {
  WebhookSender sender(spec(R"(,"batch_size":10)"), loopback_allowed_, clock_);
  const Message a{"m1", "u", R"({"n":1})"};
  const Message b{"m2", "u", R"({"n":2})"};
  const Message* batch[] = {&a, &b};
  EXPECT_EQ(sender.send(batch, 3).outcome, SendResult::Outcome::kDelivered);
  EXPECT_EQ(sender.send(batch, 1).outcome, SendResult::Outcome::kDelivered);
  ASSERT_EQ(receiver_.count(), 2u);
  EXPECT_EQ(receiver_.requests()[0].body, R"({"batch":[{"n":1},{"n":2}]})");
  EXPECT_EQ(receiver_.requests()[0].headers.at("x-cdp-attempt"), "3");
  EXPECT_EQ(receiver_.requests()[0].headers.count("x-cdp-signature"), 0u) << "no secret";
}

TEST_F(WebhookSenderTest, ClassifiesFailures) {
  WebhookSender sender(spec(R"(,"timeout_ms":300)"), loopback_allowed_, clock_);
  const Message message{"m1", "u1", "{}"};
  const Message* batch[] = {&message};
  receiver_.script([](const TestReceiver::Request&, size_t i) {
    switch (i) {
      case 0: return TestReceiver::Reply{503, {}, "down", 0, false};
      case 1: return TestReceiver::Reply{429, {{"Retry-After", "30"}}, "", 0, false};
      case 2: return TestReceiver::Reply{400, {}, "bad field", 0, false};
      case 3: return TestReceiver::Reply{200, {}, "", 1000, false};
      case 4: return TestReceiver::Reply{200, {}, "", 0, true};
      case 5:
        return TestReceiver::Reply{302, {{"Location", "http://169.254.169.254/"}}, "", 0, false};
      default: return TestReceiver::Reply{};
    }
  });
  auto r = sender.send(batch, 1);
  EXPECT_EQ(r.outcome, SendResult::Outcome::kRetry);
  EXPECT_EQ(r.error, "HTTP 503");
  EXPECT_EQ(r.body, "down");
  r = sender.send(batch, 1);
  EXPECT_EQ(r.outcome, SendResult::Outcome::kRetry);
  EXPECT_EQ(r.retry_after_ms, 30'000);
  r = sender.send(batch, 1);
  EXPECT_EQ(r.outcome, SendResult::Outcome::kRejected);
  EXPECT_EQ(r.status, 400);
  r = sender.send(batch, 1);
  EXPECT_EQ(r.outcome, SendResult::Outcome::kRetry);
  EXPECT_THAT(r.error, HasSubstr("timed out after 300 ms"));
  r = sender.send(batch, 1);
  EXPECT_EQ(r.outcome, SendResult::Outcome::kRetry) << "a reset connection";
  EXPECT_EQ(r.status, 0);
  r = sender.send(batch, 1);
  EXPECT_EQ(r.outcome, SendResult::Outcome::kRejected);
  EXPECT_THAT(r.error, HasSubstr("redirects are not followed"));
  EXPECT_EQ(sender.send(batch, 1).outcome, SendResult::Outcome::kDelivered)
      << "a new connection after the reset";
}

TEST_F(WebhookSenderTest, RefusesLoopbackWithoutTheAllowList) {
  const NetworkGuard strict;
  WebhookSender sender(spec(), strict, clock_);
  const Message message{"m1", "u1", "{}"};
  const Message* batch[] = {&message};
  const auto result = sender.send(batch, 1);
  EXPECT_EQ(result.outcome, SendResult::Outcome::kRetry);
  EXPECT_THAT(result.error, HasSubstr("127.0.0.1 is a loopback address"));
  EXPECT_EQ(receiver_.count(), 0u);
  const auto tested = sender.test_connection();
  EXPECT_EQ(tested.code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(tested.message(), HasSubstr("SSRF"));

  // localhost resolves to loopback too: the check is on the address connected to.
  auto by_name = spec();
  by_name.url = "http://localhost:" + std::to_string(receiver_.port()) + "/hook";
  WebhookSender named(by_name, strict, clock_);
  EXPECT_THAT(named.send(batch, 1).error, HasSubstr("loopback"));
  EXPECT_EQ(receiver_.count(), 0u);
}

TEST_F(WebhookSenderTest, TestConnectionReachesTheReceiver) {
  WebhookSender sender(spec(), loopback_allowed_, clock_);
  EXPECT_TRUE(sender.test_connection().is_ok());
  auto closed = spec();
  closed.url = "http://127.0.0.1:1/hook";
  EXPECT_EQ(WebhookSender(closed, loopback_allowed_, clock_).test_connection().code(),
            StatusCode::kUnavailable);
}

}  // namespace
}  // namespace cdp::activation

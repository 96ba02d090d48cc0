#include "activation/destination_worker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "activation/internal/test_receiver.h"
#include "activation/webhook_sender.h"
#include "storage/big_endian.h"
#include "storage/internal/temp_dir.h"

namespace cdp::activation {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::TestReceiver;

constexpr int64_t kMinute = 60'000;

// Polls `done` for up to ten seconds of real time.
template <typename F>
bool eventually(F done) {
  for (int i = 0; i < 2000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

class DestinationWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::Database::Options options;
    options.path = dir_.sub("data");
    options.clock = &clock_;
    auto opened = storage::Database::open(options);
    ASSERT_TRUE(opened.has_value()) << opened.status().message();
    database_ = std::move(opened).value();
    store_ = std::make_unique<ActivationStore>(*database_);
    // Answers 200 unless `fail` says otherwise, and keeps the messageIds it took, in order.
    receiver_.script([this](const TestReceiver::Request& request, size_t) {
      TestReceiver::Reply reply;
      if (fail_) reply = fail_(request);
      if (reply.status / 100 == 2 && !reply.reset) {
        ingest::JsonParser parser;
        auto root = parser.parse(request.body);
        std::lock_guard lock(delivered_mutex_);
        const auto take = [&](const ingest::JsonValue& message) {
          delivered_.push_back(std::string(message.find("messageId")->text));
        };
        if (const auto* batch = (*root)->find("batch")) {
          for (const auto* m : batch->elements) take(*m);
        } else {
          take(**root);
        }
      }
      return reply;
    });
  }

  uint64_t append(const std::string& event_json, const std::string& source = "web") {
    ++seq_;
    const storage::RawLogRecord record{seq_, source, clock_.now_ms(), event_json};
    EXPECT_TRUE(database_->db()
                    .Put(rocksdb::WriteOptions(), database_->raw_log(), storage::u64_be(seq_),
                         record.encode_value())
                    .ok());
    return seq_;
  }
  uint64_t track(const std::string& id, const std::string& user = "u1") {
    return append(R"({"type":"track","event":"Order Completed","messageId":")" + id +
                  R"(","userId":")" + user + R"(","properties":{"total":10}})");
  }

  std::unique_ptr<DestinationWorker> start(const std::string& extra = "") {
    auto spec = parse_destination_text(
        "hook", R"({"type":"webhook","url":")" + receiver_.url() +
                    R"(","events":{"types":["track"]},"start":"beginning")" + extra + "}");
    EXPECT_TRUE(spec.has_value()) << spec.status().message();
    auto sender = std::make_unique<WebhookSender>(*spec, guard_, clock_);
    auto worker =
        DestinationWorker::start({*database_, *store_, clock_, {}}, *spec, std::move(sender));
    EXPECT_TRUE(worker.has_value()) << worker.status().message();
    return std::move(*worker);
  }

  // The messageIds the receiver answered 2xx for, in order.
  std::vector<std::string> delivered() {
    std::lock_guard lock(delivered_mutex_);
    return delivered_;
  }
  // Moves the fake clock and lets the worker look at it.
  void advance(DestinationWorker& worker, int64_t ms) {
    clock_.advance_ms(ms);
    worker.notify();
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  static std::vector<std::string> ids(const std::string& prefix, int from, int to) {
    std::vector<std::string> out;
    for (int i = from; i <= to; ++i) out.push_back(prefix + std::to_string(i));
    return out;
  }

  storage::internal::TempDir dir_;
  FakeClock clock_{1'800'000'000'000};
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<ActivationStore> store_;
  NetworkGuard guard_{{*parse_network("127.0.0.0/8")}};
  TestReceiver receiver_;
  std::function<TestReceiver::Reply(const TestReceiver::Request&)> fail_;
  std::mutex delivered_mutex_;
  std::vector<std::string> delivered_;
  uint64_t seq_ = 0;
};

TEST_F(DestinationWorkerTest, DeliversEverySubscribedEventOnceInOrder) {
  for (int i = 1; i <= 95; ++i) {
    track("m" + std::to_string(i));
    if (i % 10 == 0)
      append(R"({"type":"identify","messageId":"i)" + std::to_string(i) + R"(","userId":"u1"})");
  }
  append(R"({"type":"unmerge","messageId":"admin1"})", "cdp:admin");
  auto worker = start(R"(,"batch_size":10)");
  ASSERT_TRUE(eventually([&] { return delivered().size() >= 95; }));
  EXPECT_EQ(delivered(), ids("m", 1, 95));
  ASSERT_TRUE(eventually([&] { return worker->stats().cursor.events == seq_ + 1; }))
      << "the cursor passes what the destination does not take";
  const auto stats = worker->stats();
  EXPECT_EQ(stats.delivered, 95u);
  EXPECT_EQ(stats.outbox, 0u);
  auto record = store_->history("hook", "m7");
  ASSERT_TRUE(record.has_value() && record->has_value());
  EXPECT_EQ((*record)->state, "delivered");
  ASSERT_EQ((*record)->attempts.size(), 1u);
  EXPECT_EQ((*record)->attempts[0].status, 200);
  EXPECT_FALSE(store_->history("hook", "i10")->has_value()) << "not subscribed, not recorded";

  // New events are picked up when notified.
  track("m96");
  worker->notify();
  ASSERT_TRUE(eventually([&] { return delivered().size() == 96; }));
}

TEST_F(DestinationWorkerTest, ANewDestinationStartsAtTheEndOfTheLog) {
  track("old");
  auto spec = parse_destination_text(
      "fresh", R"({"type":"webhook","url":")" + receiver_.url() + R"(","events":{}})");
  ASSERT_TRUE(spec.has_value());
  auto worker = DestinationWorker::start({*database_, *store_, clock_, {}}, *spec,
                                         std::make_unique<WebhookSender>(*spec, guard_, clock_));
  ASSERT_TRUE(worker.has_value());
  track("new");
  (*worker)->notify();
  ASSERT_TRUE(eventually([&] { return delivered().size() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_THAT(delivered(), ElementsAre("new"));
}

TEST_F(DestinationWorkerTest, AnHourLongOutageParksOneBatchAndLosesNothing) {
  std::atomic<bool> down{true};
  fail_ = [&](const TestReceiver::Request&) {
    return down ? TestReceiver::Reply{503, {}, "maintenance", 0, false} : TestReceiver::Reply{};
  };
  for (int i = 1; i <= 50; ++i) track("m" + std::to_string(i));
  auto worker = start(R"(,"batch_size":10)");
  ASSERT_TRUE(receiver_.wait_for(1));
  ASSERT_TRUE(eventually([&] { return worker->stats().outbox == 10; }));
  EXPECT_EQ(worker->stats().state, "backing_off");

  for (int minute = 0; minute < 60; ++minute) {
    advance(*worker, kMinute);
    track("late" + std::to_string(minute));  // ingestion goes on during the outage
  }
  const size_t attempts = receiver_.count();
  // Exponential backoff capped at 10 minutes: a handful of probes in an hour, not a flood.
  EXPECT_GE(attempts, 5u);
  EXPECT_LE(attempts, 25u);
  auto stats = worker->stats();
  // Probes take turns between the outbox and the log: a batch joins the outbox per two probes,
  // the rest waits in the log.
  EXPECT_LE(stats.outbox, 10 * (attempts / 2 + 1));
  EXPECT_EQ(stats.cursor.events, stats.outbox + 1) << "the cursor waits in the log";
  EXPECT_EQ(stats.delivered, 0u);

  down = false;
  advance(*worker, 11 * kMinute);
  ASSERT_TRUE(eventually([&] { return delivered().size() >= 110; })) << delivered().size();
  auto expected = ids("m", 1, 50);
  for (const auto& late : ids("late", 0, 59)) expected.push_back(late);
  auto got = delivered();
  std::sort(got.begin(), got.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(got, expected) << "every message once";
  stats = worker->stats();
  EXPECT_EQ(stats.outbox, 0u);
  EXPECT_EQ(stats.dead_letters, 0u);
  auto record = store_->history("hook", "m3");
  ASSERT_TRUE(record.has_value() && record->has_value());
  EXPECT_EQ((*record)->state, "delivered");
  EXPECT_GE((*record)->attempts.size(), 3u) << "the first batch was retried";
  EXPECT_EQ((*record)->attempts.front().status, 503);
  EXPECT_EQ((*record)->attempts.back().status, 200);
}

TEST_F(DestinationWorkerTest, RetryAfterIsHonoured) {
  std::atomic<int> calls{0};
  fail_ = [&](const TestReceiver::Request&) {
    return calls++ == 0 ? TestReceiver::Reply{429, {{"Retry-After", "120"}}, "", 0, false}
                        : TestReceiver::Reply{};
  };
  track("m1");
  auto worker = start();
  ASSERT_TRUE(receiver_.wait_for(1));
  ASSERT_TRUE(eventually([&] { return worker->stats().outbox == 1; }));
  EXPECT_EQ(worker->stats().paused_until_ms, clock_.now_ms() + 120'000);
  advance(*worker, 119'000);
  EXPECT_EQ(receiver_.count(), 1u) << "not before the Retry-After";
  advance(*worker, 1'000);
  ASSERT_TRUE(eventually([&] { return delivered().size() == 1; }));
  EXPECT_EQ(receiver_.requests()[1].headers.at("x-cdp-attempt"), "2");
}

TEST_F(DestinationWorkerTest, AfterTheRetryWindowMessagesAreDeadLettersThatReplay) {
  std::atomic<bool> down{true};
  fail_ = [&](const TestReceiver::Request&) {
    return down ? TestReceiver::Reply{500, {}, "", 0, false} : TestReceiver::Reply{};
  };
  for (int i = 1; i <= 3; ++i) track("m" + std::to_string(i));
  auto worker = start(R"(,"batch_size":3,"retry_window":"10 minutes")");
  ASSERT_TRUE(receiver_.wait_for(1));
  // Past the window each message dies at its next attempt; after three failures they are tried
  // one at a time.
  for (int minute = 0; minute < 40 && worker->stats().dead_letters < 3; ++minute) {
    advance(*worker, kMinute);
  }
  ASSERT_TRUE(eventually([&] { return worker->stats().dead_letters == 3; }));
  EXPECT_EQ(worker->stats().outbox, 0u);
  auto record = store_->history("hook", "m2");
  ASSERT_TRUE(record.has_value() && record->has_value());
  EXPECT_EQ((*record)->state, "dead");
  EXPECT_THAT((*record)->reason, HasSubstr("retry window of 10 minutes"));
  auto letters = store_->dead_letters("hook", 0, 10);
  ASSERT_TRUE(letters.has_value());
  ASSERT_EQ(letters->size(), 3u);
  EXPECT_EQ((*letters)[0].message_id, "m1");

  down = false;
  auto replayed = worker->replay_dead_letters({});
  ASSERT_TRUE(replayed.has_value());
  EXPECT_EQ(*replayed, 3u);
  ASSERT_TRUE(eventually([&] { return delivered().size() == 3; }));
  EXPECT_EQ(delivered(), ids("m", 1, 3));
  EXPECT_EQ(worker->stats().dead_letters, 0u);
  EXPECT_EQ((*store_->history("hook", "m2"))->state, "delivered");
  EXPECT_TRUE(store_->dead_letters("hook", 0, 10)->empty());
}

TEST_F(DestinationWorkerTest, RefusedMessagesBecomeDeadLettersAndTheRestGoesOn) {
  fail_ = [&](const TestReceiver::Request& request) {
    return request.body.find("\"m2\"") != std::string::npos
               ? TestReceiver::Reply{400, {}, "{\"error\":\"bad total\"}", 0, false}
               : TestReceiver::Reply{};
  };
  for (int i = 1; i <= 4; ++i) track("m" + std::to_string(i));
  auto worker = start();
  ASSERT_TRUE(eventually([&] { return delivered().size() == 3; }));
  EXPECT_THAT(delivered(), ElementsAre("m1", "m3", "m4"));
  ASSERT_TRUE(eventually([&] { return worker->stats().dead_letters == 1; }));
  auto letters = store_->dead_letters("hook", 0, 10);
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ((*letters)[0].message_id, "m2");
  EXPECT_THAT((*letters)[0].reason, HasSubstr("HTTP 400"));
  EXPECT_THAT((*letters)[0].reason, HasSubstr("bad total"));
}

TEST_F(DestinationWorkerTest, OrderedDeliveryKeepsEachUsersOrder) {
  // Alice's first message fails twice; the others never.
  std::atomic<int> a1_attempts{0};
  fail_ = [&](const TestReceiver::Request& request) {
    if (request.body.find("\"A1\"") != std::string::npos && a1_attempts++ < 2) {
      return TestReceiver::Reply{503, {}, "", 0, false};
    }
    return TestReceiver::Reply{};
  };
  track("A1", "alice");
  track("B1", "bob");
  track("A2", "alice");
  track("B2", "bob");
  track("A3", "alice");
  auto worker = start(R"(,"ordered":true)");
  for (int i = 0; i < 20 && delivered().size() < 5; ++i) advance(*worker, 1000);
  ASSERT_TRUE(eventually([&] { return delivered().size() == 5; }));
  const auto order = delivered();
  const auto at = [&](const std::string& id) {
    return std::find(order.begin(), order.end(), id) - order.begin();
  };
  EXPECT_LT(at("A1"), at("A2"));
  EXPECT_LT(at("A2"), at("A3"));
  EXPECT_LT(at("B1"), at("B2"));
  EXPECT_LT(at("B1"), at("A1")) << "bob did not wait for alice";
  EXPECT_EQ(a1_attempts, 3);
}

TEST_F(DestinationWorkerTest, ARestartResumesFromTheOutboxAndTheCursor) {
  std::atomic<bool> down{true};
  fail_ = [&](const TestReceiver::Request&) {
    return down ? TestReceiver::Reply{503, {}, "", 0, false} : TestReceiver::Reply{};
  };
  for (int i = 1; i <= 25; ++i) track("m" + std::to_string(i));
  auto worker = start(R"(,"batch_size":10)");
  ASSERT_TRUE(eventually([&] { return worker->stats().outbox == 10; }));
  worker->stop();
  worker.reset();

  down = false;
  auto again = start(R"(,"batch_size":10)");
  EXPECT_EQ(again->stats().outbox, 10u) << "the outbox is durable";
  advance(*again, 10 * kMinute);
  ASSERT_TRUE(eventually([&] { return delivered().size() == 25; }));
  auto got = delivered();
  std::sort(got.begin(), got.end());
  auto expected = ids("m", 1, 25);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(got, expected) << "every message once, the outbox's and the log's";
}

TEST_F(DestinationWorkerTest, RateLimitCapsMessagesPerSecond) {
  for (int i = 1; i <= 30; ++i) track("m" + std::to_string(i));
  auto worker = start(R"(,"max_per_second":10)");
  ASSERT_TRUE(eventually([&] { return delivered().size() == 10; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(delivered().size(), 10u) << "the clock has not moved";
  advance(*worker, 1000);
  ASSERT_TRUE(eventually([&] { return delivered().size() == 20; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(delivered().size(), 20u);
}

TEST_F(DestinationWorkerTest, AudienceChangesAreDelivered) {
  const std::string entry =
      R"({"profile":"p_4","time":"2027-01-15T08:00:00.000Z","cause":"event","seq":9,)"
      R"("changes":[{"audience":"vip","entered":true},{"audience":"trial","entered":false}]})";
  ASSERT_TRUE(
      database_->db()
          .Put(rocksdb::WriteOptions(), database_->changes(), profile::change_key(9, 0), entry)
          .ok());
  auto spec =
      parse_destination_text("aud", R"({"type":"webhook","url":")" + receiver_.url() +
                                        R"(","audiences":{},"start":"beginning","batch_size":5})");
  ASSERT_TRUE(spec.has_value());
  auto worker = DestinationWorker::start({*database_, *store_, clock_, {}}, *spec,
                                         std::make_unique<WebhookSender>(*spec, guard_, clock_));
  ASSERT_TRUE(worker.has_value());
  ASSERT_TRUE(eventually([&] { return delivered().size() == 2; }));
  EXPECT_THAT(delivered(), ElementsAre("audience-9.0", "audience-9.1"));
  EXPECT_THAT(receiver_.requests()[0].body,
              HasSubstr(R"("type":"audience_exited","audience":"trial")"));
  ASSERT_TRUE(eventually([&] {
    const auto cursor = (*worker)->stats().cursor.changes;
    return cursor && cursor->seq == 9 && cursor->index == 1;
  }));
}

// A new destination starts past the last change, not past its seq: a definition command applied
// in parts adds changes under the same seq after the destination was made.
TEST_F(DestinationWorkerTest, ANewAudienceDestinationGetsTheRestOfACommandAppliedInParts) {
  auto put = [&](uint32_t index, const std::string& profile, const std::string& changes) {
    ASSERT_TRUE(database_->db()
                    .Put(rocksdb::WriteOptions(), database_->changes(),
                         profile::change_key(9, index),
                         R"({"profile":")" + profile +
                             R"(","time":"2027-01-15T08:00:00.000Z","cause":"definition of vip",)"
                             R"("seq":9,"changes":[)" +
                             changes + "]}")
                    .ok());
  };
  const std::string entered = R"({"audience":"vip","entered":true})";
  put(0, "p_1", entered);
  put(1, "p_2", entered + "," + R"({"audience":"trial","entered":false})");
  auto end = end_of_logs(*database_);
  ASSERT_TRUE(end.has_value());
  ASSERT_TRUE(end->changes.has_value());
  EXPECT_EQ(end->changes->seq, 9u);
  EXPECT_EQ(end->changes->index, 2u);  // after p_2's second change
  auto spec = parse_destination_text(
      "aud", R"({"type":"webhook","url":")" + receiver_.url() + R"(","audiences":{}})");
  ASSERT_TRUE(spec.has_value());
  auto worker = DestinationWorker::start({*database_, *store_, clock_, {}}, *spec,
                                         std::make_unique<WebhookSender>(*spec, guard_, clock_));
  ASSERT_TRUE(worker.has_value());
  put(3, "p_3", entered);  // the command's next part
  (*worker)->notify();
  ASSERT_TRUE(eventually([&] { return delivered().size() == 1; }));
  EXPECT_THAT(delivered(), ElementsAre("audience-9.3"));
}

}  // namespace
}  // namespace cdp::activation

#include "activation/kafka_sender.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <map>
#include <thread>

#include "activation/destination_worker.h"
#include "storage/big_endian.h"
#include "storage/internal/temp_dir.h"

namespace cdp::activation {
namespace {

using ::testing::HasSubstr;

constexpr int16_t kProduceRequest = 0;  // the Kafka protocol's ProduceRequest api key

// librdkafka's built-in mock cluster (three brokers on loopback) and a consumer that reads back
// what was produced.
class KafkaSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char error[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", error, sizeof error);
    host_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    ASSERT_NE(host_, nullptr) << error;
    cluster_ = rd_kafka_mock_cluster_new(host_, 3);
    ASSERT_NE(cluster_, nullptr);
    brokers_ = rd_kafka_mock_cluster_bootstraps(cluster_);
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, "cdp-events", 3, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  void TearDown() override {
    if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
    if (host_ != nullptr) rd_kafka_destroy(host_);
  }

  DestinationSpec spec(const std::string& extra = "") {
    auto parsed = parse_destination_text(
        "stream", R"({"type":"kafka","brokers":")" + brokers_ +
                      R"(","topic":"cdp-events","events":{},"timeout_ms":3000)" + extra + "}");
    EXPECT_TRUE(parsed.has_value()) << parsed.status().message();
    return *parsed;
  }

  struct Consumed {
    std::string key;
    std::string value;
    std::string message_id;  // the header
  };
  // Reads `n` messages from the start of the topic (or what came within ten seconds).
  std::vector<Consumed> consume(size_t n) {
    char error[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers_.c_str(), error, sizeof error);
    rd_kafka_conf_set(conf, "group.id", "test", error, sizeof error);
    rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", error, sizeof error);
    rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
    rd_kafka_poll_set_consumer(consumer);
    rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, "cdp-events", RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    std::vector<Consumed> out;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer, 100);
      if (message == nullptr) continue;
      if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        Consumed c;
        c.key.assign(static_cast<const char*>(message->key), message->key_len);
        c.value.assign(static_cast<const char*>(message->payload), message->len);
        rd_kafka_headers_t* headers = nullptr;
        const void* value = nullptr;
        size_t size = 0;
        if (rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            rd_kafka_header_get_last(headers, "messageId", &value, &size) ==
                RD_KAFKA_RESP_ERR_NO_ERROR) {
          c.message_id.assign(static_cast<const char*>(value), size);
        }
        out.push_back(std::move(c));
      }
      rd_kafka_message_destroy(message);
    }
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    return out;
  }

  rd_kafka_t* host_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string brokers_;
  NetworkGuard loopback_allowed_{{*parse_network("127.0.0.0/8")}};
};

TEST_F(KafkaSenderTest, ProducesKeyedMessagesWithTheirIds) {
  KafkaSender sender(spec(), loopback_allowed_);
  EXPECT_TRUE(sender.test_connection().is_ok());
  std::vector<Message> messages;
  for (int i = 0; i < 100; ++i) {
    messages.push_back({"m" + std::to_string(i), "user-" + std::to_string(i % 5),
                        R"({"n":)" + std::to_string(i) + "}"});
  }
  std::vector<const Message*> batch;
  for (const auto& m : messages) batch.push_back(&m);
  const auto result = sender.send(batch, 1);
  ASSERT_EQ(result.outcome, SendResult::Outcome::kDelivered) << result.error;

  const auto consumed = consume(100);
  ASSERT_EQ(consumed.size(), 100u);
  std::map<std::string, std::string> key_of;
  for (const auto& c : consumed) {
    EXPECT_EQ(c.value, R"({"n":)" + c.message_id.substr(1) + "}");
    key_of[c.message_id] = c.key;
  }
  EXPECT_EQ(key_of.size(), 100u) << "every message once";
  EXPECT_EQ(key_of["m7"], "user-2");
}

TEST_F(KafkaSenderTest, ClassifiesFailures) {
  KafkaSender sender(spec(R"(,"timeout_ms":1500)"), loopback_allowed_);
  const Message message{"m1", "u1", "{}"};
  const Message* batch[] = {&message};
  ASSERT_EQ(sender.send(batch, 1).outcome, SendResult::Outcome::kDelivered);

  rd_kafka_mock_push_request_errors(cluster_, kProduceRequest, 1,
                                    RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  auto result = sender.send(batch, 1);
  EXPECT_EQ(result.outcome, SendResult::Outcome::kRejected) << result.error;
  // In a larger batch the others may be fine: it is retried (one at a time later), not refused.
  rd_kafka_mock_push_request_errors(cluster_, kProduceRequest, 1,
                                    RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  const Message* two[] = {&message, &message};
  result = sender.send(two, 1);
  EXPECT_EQ(result.outcome, SendResult::Outcome::kRetry) << result.error;

  // Every broker down: the message times out, to be retried later.
  rd_kafka_mock_broker_set_down(cluster_, -1);
  result = sender.send(batch, 1);
  EXPECT_EQ(result.outcome, SendResult::Outcome::kRetry);
  EXPECT_THAT(result.error, HasSubstr("kafka"));
  for (int id = 1; id <= 3; ++id) rd_kafka_mock_broker_set_up(cluster_, id);
  // The producer reconnects with its own backoff: a later attempt (as the worker makes them)
  // gets through.
  for (int attempt = 0; attempt < 10; ++attempt) {
    result = sender.send(batch, attempt + 2);
    if (result.outcome == SendResult::Outcome::kDelivered) break;
  }
  EXPECT_EQ(result.outcome, SendResult::Outcome::kDelivered) << result.error;
}

TEST_F(KafkaSenderTest, BrokersOnInternalAddressesAreRefusedUnlessAllowed) {
  const NetworkGuard strict;
  KafkaSender sender(spec(R"(,"timeout_ms":1000)"), strict);
  const auto tested = sender.test_connection();
  EXPECT_EQ(tested.code(), StatusCode::kPermissionDenied) << tested.message();
  EXPECT_THAT(tested.message(), HasSubstr("loopback"));
  // A new producer connects at once; the refusal of this attempt is the one reported.
  KafkaSender fresh(spec(R"(,"timeout_ms":1500)"), strict);
  const Message message{"m1", "u1", "{}"};
  const Message* batch[] = {&message};
  const auto result = fresh.send(batch, 1);
  EXPECT_EQ(result.outcome, SendResult::Outcome::kRetry);
  EXPECT_THAT(result.error, HasSubstr("SSRF"));
}

TEST_F(KafkaSenderTest, SettingsAreChecked) {
  auto bad = spec(R"(,"kafka":{"compression.type":"zip"})");
  KafkaSender sender(bad, loopback_allowed_);
  EXPECT_THAT(sender.test_connection().message(), HasSubstr("compression.type"));
  EXPECT_FALSE(
      parse_destination_text("k", R"({"type":"kafka","brokers":"b:9092","topic":"t","events":{},
                            "kafka":{"acks":"0"}})")
          .has_value())
      << "delivery semantics are cdp's";
  EXPECT_FALSE(
      parse_destination_text("k", R"({"type":"kafka","topic":"t","events":{}})").has_value());
}

TEST_F(KafkaSenderTest, AWorkerDeliversTheRawLogToATopic) {
  storage::internal::TempDir dir;
  storage::Database::Options options;
  options.path = dir.sub("data");
  auto database = std::move(storage::Database::open(options)).value();
  ActivationStore store(*database);
  for (uint64_t seq = 1; seq <= 1000; ++seq) {
    const storage::RawLogRecord record{seq, "web", 0,
                                       R"({"type":"track","event":"A","messageId":"e)" +
                                           std::to_string(seq) + R"(","userId":"user-)" +
                                           std::to_string(seq % 10) + R"("})"};
    ASSERT_TRUE(database->db()
                    .Put(rocksdb::WriteOptions(), database->raw_log(), storage::u64_be(seq),
                         record.encode_value())
                    .ok());
  }
  auto destination = spec(R"(,"start":"beginning")");
  EXPECT_EQ(destination.batch_size, 500u) << "kafka's default batch";
  auto worker =
      DestinationWorker::start({*database, store, SystemClock::instance(), {}}, destination,
                               std::make_unique<KafkaSender>(destination, loopback_allowed_));
  ASSERT_TRUE(worker.has_value());
  for (int i = 0; i < 1000 && (*worker)->stats().delivered < 1000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ((*worker)->stats().delivered, 1000u);
  const auto consumed = consume(1000);
  ASSERT_EQ(consumed.size(), 1000u);
  EXPECT_EQ(consumed[0].key.rfind("user-", 0), 0u);
}

}  // namespace
}  // namespace cdp::activation

#include "activation/kafka_sender.h"

#include <librdkafka/rdkafka.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <mutex>

#include "common/log.h"

namespace cdp::activation {
namespace {

// A message's delivery report, written by librdkafka's callback during poll/flush.
struct Report {
  rd_kafka_resp_err_t error = RD_KAFKA_RESP_ERR_NO_ERROR;
  bool done = false;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void*) {
  auto* report = static_cast<Report*>(message->_private);
  report->error = message->err;
  report->done = true;
}

// Errors no retry can fix: the message itself is refused.
bool refused(rd_kafka_resp_err_t error) {
  switch (error) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE: return true;
    default: return false;
  }
}

// librdkafka's log lines, as ours (it would print its own format on stderr).
void on_log(const rd_kafka_t* handle, int level, const char* facility, const char* text) {
  // syslog levels: 0-3 errors, 4 warnings, the rest is chatter.
  if (level > 4) return;
  log::write(level <= 3 ? log::Level::kError : log::Level::kWarn, "kafka",
             {{"client", rd_kafka_name(handle)}, {"facility", facility}, {"message", text}});
}

}  // namespace

struct KafkaSender::Producer {
  rd_kafka_t* handle = nullptr;
  const NetworkGuard* guard = nullptr;
  std::mutex mutex;     // connect callbacks run on librdkafka's broker threads
  std::string refused;  // the guard's last refusal

  ~Producer() {
    if (handle != nullptr) rd_kafka_destroy(handle);
  }

  std::string take_refusal() {
    std::lock_guard lock(mutex);
    return std::exchange(refused, {});
  }

  static int connect(int fd, const sockaddr* address, int length, const char*, void* opaque) {
    auto* self = static_cast<Producer*>(opaque);
    if (auto why = self->guard->refusal(address); !why.empty()) {
      std::lock_guard lock(self->mutex);
      self->refused = std::move(why);
      return ECONNREFUSED;
    }
    // librdkafka made the socket non-blocking; it waits for the connection itself.
    if (::connect(fd, address, static_cast<socklen_t>(length)) == -1 && errno != EINPROGRESS) {
      return errno;
    }
    return 0;
  }
};

KafkaSender::KafkaSender(DestinationSpec spec, const NetworkGuard& guard)
    : spec_(std::move(spec)), guard_(guard) {}

KafkaSender::~KafkaSender() = default;

Result<KafkaSender::Producer*> KafkaSender::producer() {
  if (producer_ != nullptr) return producer_.get();
  auto producer = std::make_unique<Producer>();
  producer->guard = &guard_;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  const auto set = [&](const std::string& key, const std::string& value) -> Status {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), error, sizeof error) !=
        RD_KAFKA_CONF_OK) {
      return Status::invalid_argument("kafka setting '" + key + "': " + error);
    }
    return Status::ok();
  };
  Status status = Status::ok();
  const std::pair<std::string, std::string> settings[] = {
      {"bootstrap.servers", spec_.brokers},
      {"client.id", "cdp-" + spec_.name},
      // Idempotent, all replicas: librdkafka's own retries add no duplicates, and a report
      // says "stored" only when it is.
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"message.timeout.ms", std::to_string(spec_.timeout_ms)},
      {"linger.ms", "5"},
  };
  for (const auto& [key, value] : settings) {
    if (status.is_ok()) status = set(key, value);
  }
  for (const auto& [key, value] : spec_.kafka_config) {
    if (status.is_ok()) status = set(key, value);
  }
  if (!status.is_ok()) {
    rd_kafka_conf_destroy(conf);
    return status;
  }
  rd_kafka_conf_set_dr_msg_cb(conf, &on_delivery);
  rd_kafka_conf_set_log_cb(conf, &on_log);
  rd_kafka_conf_set_connect_cb(conf, &Producer::connect);
  rd_kafka_conf_set_opaque(conf, producer.get());
  producer->handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (producer->handle == nullptr) {
    rd_kafka_conf_destroy(conf);  // not taken over on failure
    return Status::invalid_argument(std::string("cannot create a kafka producer: ") + error);
  }
  producer_ = std::move(producer);
  return producer_.get();
}

SendResult KafkaSender::send(std::span<const Message* const> batch, int /*attempt*/) {
  SendResult result;
  result.outcome = SendResult::Outcome::kRetry;
  if (cancelled_.load()) {
    result.error = "cancelled: the destination is stopping";
    return result;
  }
  auto made = producer();
  if (!made) {
    result.error = made.status().message();
    return result;
  }
  Producer& current = **made;
  (void)current.take_refusal();  // only this attempt's refusals count
  rd_kafka_t* handle = current.handle;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(spec_.timeout_ms + 5000);
  const auto running = [&] {
    return !cancelled_.load() && std::chrono::steady_clock::now() < deadline;
  };
  std::vector<Report> reports(batch.size());
  size_t produced = 0;
  rd_kafka_resp_err_t produce_error = RD_KAFKA_RESP_ERR_NO_ERROR;
  for (size_t i = 0; i < batch.size() && running(); ++i) {
    const Message& message = *batch[i];
    for (;;) {
      produce_error = rd_kafka_producev(
          handle, RD_KAFKA_V_TOPIC(spec_.topic.c_str()),
          RD_KAFKA_V_KEY(message.key.data(), message.key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(message.json.data()), message.json.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_HEADER("messageId", message.message_id.data(),
                            static_cast<ssize_t>(message.message_id.size())),
          RD_KAFKA_V_OPAQUE(&reports[i]), RD_KAFKA_V_END);
      // The local queue is full: it drains as the brokers take messages, unless time is up.
      if (produce_error != RD_KAFKA_RESP_ERR__QUEUE_FULL || !running()) break;
      rd_kafka_poll(handle, 100);
    }
    if (produce_error != RD_KAFKA_RESP_ERR_NO_ERROR) break;
    ++produced;
  }
  // Waits for every produced message's report (each times out after timeout_ms at the latest),
  // in short steps so that cancel() is noticed.
  const auto reported = [&] {
    return static_cast<size_t>(std::count_if(reports.begin(), reports.begin() + produced,
                                             [](const Report& r) { return r.done; }));
  };
  while (reported() < produced && running()) rd_kafka_flush(handle, 100);
  rd_kafka_poll(handle, 0);
  if (reported() < produced) {
    // Cancelled, or reports still missing at the deadline. Their callbacks point into
    // `reports`, which ends with this call: the producer goes now (destroying it serves or drops
    // what is left), and the batch is retried with a new one.
    producer_.reset();
    result.error = cancelled_.load() ? "cancelled: the destination is stopping"
                                     : "kafka: no delivery report within " +
                                           std::to_string(spec_.timeout_ms + 5000) + " ms";
    return result;
  }
  rd_kafka_resp_err_t first_error =
      produced < batch.size() && produce_error == RD_KAFKA_RESP_ERR_NO_ERROR
          ? RD_KAFKA_RESP_ERR__TIMED_OUT  // stopped producing: cancelled or out of time
          : produce_error;
  for (size_t i = 0; i < produced && first_error == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
    if (reports[i].error != RD_KAFKA_RESP_ERR_NO_ERROR) first_error = reports[i].error;
  }
  char fatal[256];
  if (rd_kafka_fatal_error(handle, fatal, sizeof fatal) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    // An idempotent producer cannot go on after a fatal error: the next attempt gets a new one.
    result.error = std::string("kafka producer failed: ") + fatal;
    producer_.reset();
    return result;
  }
  if (first_error == RD_KAFKA_RESP_ERR_NO_ERROR) {
    result.outcome = SendResult::Outcome::kDelivered;
    return result;
  }
  // Only a batch of one message is refused as a whole: in a larger batch the others may be
  // fine, so it is retried, and after three attempts its messages go one at a time.
  if (refused(first_error) && batch.size() == 1) result.outcome = SendResult::Outcome::kRejected;
  result.error = std::string("kafka: ") + rd_kafka_err2str(first_error);
  if (auto why = current.take_refusal(); !why.empty()) {
    result.error =
        "refused: " + why + " (SSRF protection; [activation] allowed_networks admits it)";
  }
  return result;
}

Status KafkaSender::test_connection() {
  auto made = producer();
  if (!made) return made.status();
  rd_kafka_t* handle = (*made)->handle;
  (void)(*made)->take_refusal();
  rd_kafka_topic_t* topic = rd_kafka_topic_new(handle, spec_.topic.c_str(), nullptr);
  if (topic == nullptr) {
    return Status::invalid_argument("kafka cannot use topic '" + spec_.topic + "'");
  }
  const rd_kafka_metadata_t* metadata = nullptr;
  const auto error = rd_kafka_metadata(
      handle, 0, topic, &metadata, static_cast<int>(std::min<int64_t>(spec_.timeout_ms, 10'000)));
  rd_kafka_topic_destroy(topic);
  if (error != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (auto why = (*made)->take_refusal(); !why.empty()) {
      return Status::permission_denied(
          "refused: " + why + " (SSRF protection; [activation] allowed_networks admits it)");
    }
    return Status::unavailable("cannot reach kafka brokers " + spec_.brokers + ": " +
                               rd_kafka_err2str(error));
  }
  Status status = Status::ok();
  if (metadata->topic_cnt == 1 && metadata->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    status = Status::unavailable("topic '" + spec_.topic +
                                 "': " + rd_kafka_err2str(metadata->topics[0].err));
  }
  rd_kafka_metadata_destroy(metadata);
  return status;
}

}  // namespace cdp::activation

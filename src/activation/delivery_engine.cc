#include "activation/delivery_engine.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "activation/file_export_worker.h"
#include "activation/kafka_sender.h"
#include "activation/postgres_sender.h"
#include "activation/webhook_sender.h"
#include "common/json_writer.h"
#include "common/log.h"
#include "common/time_format.h"
#include "common/uuid.h"
#include "storage/raw_log_reader.h"

namespace cdp::activation {
namespace {

// A sample for a destination's "send one sample" call, in the shape its subscription takes.
std::string sample_message(const DestinationSpec& spec, const std::string& id, int64_t now_ms) {
  const std::string time = format_iso8601_ms(now_ms);
  JsonWriter out;
  out.begin_object();
  out.key("messageId").string(id);
  if (!spec.events.enabled && !spec.audiences.enabled) {
    out.key("type").string("traits_changed");
    out.key("profile").string("p_0");
    out.key("user_id").string("cdp-sample-user");
    out.key("traits").begin_object();
    out.key(spec.traits.names.empty() ? "sample_trait" : *spec.traits.names.begin()).boolean(true);
    out.end_object();
    out.key("time").string(time);
    out.key("cause").string("sample");
  } else if (!spec.events.enabled) {
    out.key("type").string("audience_entered");
    out.key("audience")
        .string(spec.audiences.names.empty() ? "sample_audience" : *spec.audiences.names.begin());
    out.key("profile").string("p_0");
    out.key("time").string(time);
    out.key("cause").string("sample");
  } else {
    out.key("type").string("track");
    out.key("event").string(spec.events.names.empty() ? "cdp Sample Event"
                                                      : *spec.events.names.begin());
    out.key("userId").string("cdp-sample-user");
    out.key("properties").begin_object().key("sample").boolean(true).end_object();
    out.key("timestamp").string(time);
    out.key("receivedAt").string(time);
  }
  out.end_object();
  return out.take();
}

// Two files destinations must not write the same folders: their exports would diff against each
// other's snapshots.
Status check_files_path(const DestinationSpec& spec, const std::vector<DestinationSpec>& others) {
  if (spec.kind != DestinationKind::kFiles) return Status::ok();
  const auto within = [](const std::string& a, const std::string& b) {
    return a == b || a.starts_with(b + "/");
  };
  for (const auto& other : others) {
    if (other.name == spec.name || other.kind != DestinationKind::kFiles) continue;
    if (within(spec.files.path, other.files.path) || within(other.files.path, spec.files.path)) {
      return Status::invalid_argument("path '" + spec.files.path + "' overlaps destination '" +
                                      other.name + "' (path '" + other.files.path +
                                      "'): each files destination needs a folder of its own");
    }
  }
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<DeliveryEngine>> DeliveryEngine::start(
    storage::Database& database, Options options, std::vector<DestinationSpec> configured) {
  init_curl();
  std::unique_ptr<DeliveryEngine> engine(new DeliveryEngine(database, std::move(options)));
  std::vector<DestinationSpec> specs;
  for (auto& spec : configured) {
    engine->configured_.insert(spec.name);
    specs.push_back(std::move(spec));
  }
  auto stored = engine->store_.definitions();
  if (!stored) return stored.status();
  for (auto& [name, json] : *stored) {
    if (engine->configured_.contains(name)) continue;  // the file wins
    auto spec = parse_destination_text(name, json);
    if (!spec) {
      log::error("destination_unreadable",
                 {{"destination", name}, {"error", spec.status().message()}});
      continue;
    }
    specs.push_back(std::move(*spec));
  }
  // State of destinations no longer defined anywhere (removed from the config file) would hold
  // back raw log retention for good: it goes, and the log says so.
  std::set<std::string> defined = engine->configured_;
  for (const auto& [name, json] : *stored) defined.insert(name);
  auto cursors = engine->store_.cursors();
  if (!cursors) return cursors.status();
  for (const auto& [name, cursor] : *cursors) {
    if (defined.contains(name)) continue;
    log::warn("destination_state_dropped",
              {{"destination", name},
               {"why", "no longer defined in the config file or the data directory"}});
    CDP_RETURN_IF_ERROR(engine->store_.remove(name));
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    const std::vector<DestinationSpec> earlier(specs.begin(), specs.begin() + i);
    if (auto status = check_files_path(specs[i], earlier); !status.is_ok()) {
      log::error("destination_not_started",
                 {{"destination", specs[i].name}, {"error", status.message()}});
      specs[i].enabled = false;  // listed, so that it can be seen and fixed, but it writes nothing
    }
  }
  for (auto& spec : specs) {
    auto worker = engine->start_worker(std::move(spec));
    if (!worker) return worker.status();
    engine->workers_[(*worker)->spec().name] = std::move(*worker);
  }
  return engine;
}

DeliveryEngine::~DeliveryEngine() { stop(); }

std::unique_ptr<Sender> DeliveryEngine::make_sender(const DestinationSpec& spec) const {
  if (spec.kind == DestinationKind::kKafka) return std::make_unique<KafkaSender>(spec, guard_);
  if (spec.kind == DestinationKind::kPostgres) {
    return std::make_unique<PostgresSender>(spec, guard_);
  }
  return std::make_unique<WebhookSender>(spec, guard_, *options_.clock);
}

void DeliveryEngine::stop() {
  std::lock_guard define_lock(define_mutex_);
  std::map<std::string, std::shared_ptr<DestinationRunner>> workers;
  {
    std::lock_guard lock(mutex_);
    workers.swap(workers_);
  }
  // All at once: each cancels its request in flight, none waits for another's.
  for (auto& [name, worker] : workers) worker->request_stop();
  for (auto& [name, worker] : workers) worker->stop();
}

void DeliveryEngine::notify() {
  std::lock_guard lock(mutex_);
  for (auto& [name, worker] : workers_) worker->notify();
}

Result<std::shared_ptr<DestinationRunner>> DeliveryEngine::start_worker(DestinationSpec spec) {
  if (spec.kind == DestinationKind::kFiles) {
    if (options_.files_root.empty()) {
      return Status::failed_precondition("files destinations need [activation] files_dir");
    }
    return std::shared_ptr<DestinationRunner>(
        FileExportWorker::start(database_, *options_.clock, std::move(spec), options_.files_root));
  }
  DestinationWorker::Deps deps{database_, store_, *options_.clock, {}};
  if (options_.metrics != nullptr) {
    const std::string labels = "destination=\"" + prometheus_label_value(spec.name) + "\"";
    const auto counter = [&](const char* outcome) {
      return &options_.metrics->counter("cdp_delivery_messages_total",
                                        "Messages by destination and outcome (delivered; retried: "
                                        "an attempt failed and will be repeated; dead)",
                                        labels + ",outcome=\"" + outcome + "\"");
    };
    deps.metrics.delivered = counter("delivered");
    deps.metrics.retried = counter("retried");
    deps.metrics.dead = counter("dead");
    deps.metrics.latency = &options_.metrics->histogram(
        "cdp_delivery_latency_seconds",
        "Time from an event's append to the raw log to its delivery (first attempts)", labels);
    // Read through the engine by name: the worker may be replaced or deleted.
    options_.metrics->gauge(
        "cdp_delivery_outbox_messages", "Messages waiting for a retry, by destination",
        [this, name = spec.name] {
          auto worker = find(name);
          return worker == nullptr ? 0.0 : static_cast<double>(worker->stats().outbox);
        },
        labels);
    options_.metrics->gauge(
        "cdp_delivery_lag_events", "Raw log events a destination has not read yet",
        [this, name = spec.name] {
          auto worker = find(name);
          auto bounds = storage::RawLogReader(database_).bounds();
          if (worker == nullptr || !bounds || !worker->spec().events.enabled) return 0.0;
          const uint64_t cursor = worker->stats().cursor.events;
          return bounds->second + 1 > cursor ? static_cast<double>(bounds->second + 1 - cursor)
                                             : 0.0;
        },
        labels);
  }
  auto worker = DestinationWorker::start(std::move(deps), spec, make_sender(spec));
  if (!worker) return worker.status();
  return std::shared_ptr<DestinationRunner>(std::move(*worker));
}

std::shared_ptr<DestinationRunner> DeliveryEngine::find(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto it = workers_.find(name);
  return it == workers_.end() ? nullptr : it->second;
}

Status DeliveryEngine::define(DestinationSpec spec) {
  std::lock_guard define_lock(define_mutex_);
  if (configured_.contains(spec.name)) {
    return Status::failed_precondition("destination '" + spec.name +
                                       "' is defined in the config file; change it there");
  }
  {
    std::vector<DestinationSpec> others;
    for (const auto& info : list()) others.push_back(info.spec);
    CDP_RETURN_IF_ERROR(check_files_path(spec, others));
  }
  if (spec.keep_secret) {
    // What GET answered, sent back: the credentials it left out stay as stored.
    if (auto old = find(spec.name)) {
      const auto& before = old->spec();
      // Credentials stay only with the kind and the server they were given for: otherwise an
      // admin could point the destination at a server of theirs and read a password (a webhook
      // over a postgres destination would even sign with it). A webhook's signing key may follow
      // a new URL: signatures do not reveal it.
      bool same_server = before.kind == spec.kind;
      if (spec.kind == DestinationKind::kPostgres) {
        same_server = same_server && before.postgres.settings == spec.postgres.settings;
      } else if (spec.kind == DestinationKind::kKafka) {
        same_server = same_server && before.brokers == spec.brokers;
      }
      if (same_server) {
        if (spec.secret.empty()) spec.secret = before.secret;
        for (const auto& [key, value] : before.kafka_config) {
          if (is_kafka_credential(key)) spec.kafka_config.try_emplace(key, value);
        }
      }
    }
  }
  CDP_RETURN_IF_ERROR(store_.put_definition(spec.name, destination_json(spec, true)));
  // The old worker ends its attempt and stores its state before the new one reads it.
  if (auto old = find(spec.name)) {
    {
      std::lock_guard lock(mutex_);
      workers_.erase(spec.name);
    }
    old->stop();
    // A log the destination newly subscribes to is read from where `start` says, not from
    // where the destination stood when it was created.
    const auto& before = old->spec();
    const bool new_events = spec.events.enabled && !before.events.enabled;
    const bool new_changes = reads_change_log(spec) && !reads_change_log(before);
    if (new_events || new_changes) {
      auto cursor = store_.cursor(spec.name);
      auto end = end_of_logs(database_);
      if (!cursor) return cursor.status();
      if (!end) return end.status();
      DeliveryCursor moved = cursor->value_or(*end);
      if (new_events) moved.events = spec.from_beginning ? 0 : end->events;
      if (new_changes) {
        moved.changes = spec.from_beginning ? std::nullopt : end->changes;
      }
      rocksdb::WriteBatch write;
      store_.put_cursor(write, spec.name, moved);
      CDP_RETURN_IF_ERROR(store_.write(write));
    }
  }
  auto worker = start_worker(std::move(spec));
  if (!worker) return worker.status();
  std::lock_guard lock(mutex_);
  workers_[(*worker)->spec().name] = std::move(*worker);
  return Status::ok();
}

Status DeliveryEngine::remove(const std::string& name) {
  std::lock_guard define_lock(define_mutex_);
  if (configured_.contains(name)) {
    return Status::failed_precondition("destination '" + name +
                                       "' is defined in the config file; remove it there");
  }
  auto worker = find(name);
  if (worker == nullptr) {
    // A stored definition this build cannot read has no worker, and can still be deleted.
    auto stored = store_.definitions();
    if (!stored) return stored.status();
    const bool known = std::any_of(stored->begin(), stored->end(),
                                   [&](const auto& entry) { return entry.first == name; });
    if (!known) return Status::not_found("no destination named '" + name + "'");
    return store_.remove(name);
  }
  {
    std::lock_guard lock(mutex_);
    workers_.erase(name);
  }
  worker->stop();
  return store_.remove(name);
}

std::vector<DestinationInfo> DeliveryEngine::list() {
  std::vector<std::shared_ptr<DestinationRunner>> workers;
  {
    std::lock_guard lock(mutex_);
    for (auto& [name, worker] : workers_) workers.push_back(worker);
  }
  std::vector<DestinationInfo> out;
  for (auto& worker : workers) {
    out.push_back({worker->spec(), configured_.contains(worker->spec().name), worker->stats()});
  }
  return out;
}

Result<DestinationInfo> DeliveryEngine::get(const std::string& name) {
  auto worker = find(name);
  if (worker == nullptr) return Status::not_found("no destination named '" + name + "'");
  return DestinationInfo{worker->spec(), configured_.contains(name), worker->stats()};
}

Status DeliveryEngine::test_connection(const std::string& name) {
  auto worker = find(name);
  if (worker == nullptr) return Status::not_found("no destination named '" + name + "'");
  if (auto* files = dynamic_cast<FileExportWorker*>(worker.get())) {
    // Can the folder be created and written?
    namespace fs = std::filesystem;
    std::error_code error;
    const fs::path folder = files->directory();
    fs::create_directories(folder, error);
    const fs::path probe = folder / ".cdp-write-test";
    if (!error) {
      std::ofstream out(probe);
      out << "cdp\n";
      out.close();
      if (!out) error = std::make_error_code(std::errc::permission_denied);
      std::error_code ignored;
      fs::remove(probe, ignored);
    }
    if (error) {
      return Status::unavailable("cannot write in " + folder.string() + ": " + error.message());
    }
    return Status::ok();
  }
  return make_sender(worker->spec())->test_connection();
}

Result<SendResult> DeliveryEngine::send_sample(const std::string& name) {
  auto worker = find(name);
  if (worker == nullptr) return Status::not_found("no destination named '" + name + "'");
  if (auto* files = dynamic_cast<FileExportWorker*>(worker.get())) {
    auto written = files->export_now();
    if (!written) return written.status();
    JsonWriter out;
    out.begin_array();
    for (const auto& file : *written) {
      out.begin_object();
      out.key("audience").string(file.audience);
      out.key("directory").string(file.directory);
      out.key("members").number(static_cast<int64_t>(file.members));
      out.key("added").number(static_cast<int64_t>(file.added));
      out.key("removed").number(static_cast<int64_t>(file.removed));
      out.end_object();
    }
    out.end_array();
    SendResult result;
    result.outcome = SendResult::Outcome::kDelivered;
    result.body = out.take();
    return result;
  }
  const DestinationSpec& spec = worker->spec();
  Message message;
  message.message_id = "sample-" + new_uuid_v4();
  message.json = sample_message(spec, message.message_id, options_.clock->now_ms());
  if (!spec.mapping.empty()) {
    ingest::JsonParser parser;
    auto root = parser.parse(message.json);
    if (!root) return root.status();
    message.json = apply_mapping(spec, **root);
  }
  const Message* batch[] = {&message};
  return make_sender(spec)->send(batch, 1);
}

Result<std::optional<DeliveryRecord>> DeliveryEngine::message(const std::string& name,
                                                              const std::string& message_id) {
  if (find(name) == nullptr) return Status::not_found("no destination named '" + name + "'");
  return store_.history(name, message_id);
}

Result<std::vector<OutboxEntry>> DeliveryEngine::dead_letters(const std::string& name,
                                                              uint64_t after, size_t limit) {
  if (find(name) == nullptr) return Status::not_found("no destination named '" + name + "'");
  return store_.dead_letters(name, after, limit);
}

Result<uint64_t> DeliveryEngine::replay_dead_letters(const std::string& name,
                                                     const std::vector<uint64_t>& ids) {
  auto worker = find(name);
  if (worker == nullptr) return Status::not_found("no destination named '" + name + "'");
  return worker->replay_dead_letters(ids);
}

uint64_t DeliveryEngine::keep_from_seq() {
  // From the stored cursors, not the running workers: a destination being redefined, or whose
  // state cannot be read, still keeps what it has not read.
  auto cursors = store_.cursors();
  if (!cursors) return 0;  // unknown: keep everything
  uint64_t keep = UINT64_MAX;
  for (const auto& [name, cursor] : *cursors) {
    auto worker = find(name);
    if (worker != nullptr && !worker->spec().events.enabled) continue;
    keep = std::min(keep, cursor.events);
  }
  return keep;
}

}  // namespace cdp::activation

#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "activation/destination_runner.h"
#include "activation/destination_worker.h"
#include "activation/network_guard.h"
#include "common/clock.h"
#include "common/metrics.h"
#include "storage/database.h"

namespace cdp::activation {

struct DestinationInfo {
  DestinationSpec spec;
  bool configured = false;  // defined in the config file: read-only through the API
  DestinationStats stats;
};

// Every destination of the server, each with a thread of its own: a DestinationWorker (cursor,
// outbox) for webhooks and Kafka, a FileExportWorker for files.
// Destinations come from the config file (applied at each start, read-only) and from the admin
// API (stored in the `activation` column family). Thread-safe.
class DeliveryEngine {
 public:
  struct Options {
    const Clock* clock = &SystemClock::instance();
    // Networks a destination may reach although they are private (NetworkGuard).
    std::vector<Network> allowed_networks;
    MetricsRegistry* metrics = nullptr;
    // The folder files destinations write under (their `path` is relative to it).
    std::string files_root;
  };

  static Result<std::unique_ptr<DeliveryEngine>> start(storage::Database& database, Options options,
                                                       std::vector<DestinationSpec> configured);
  ~DeliveryEngine();
  // Stops every worker after its current attempt.
  void stop();
  // New entries in the raw log or the change log.
  void notify();

  // Creates or replaces a destination (its cursor, outbox and dead letters stay).
  // failed_precondition for a destination of the config file.
  Status define(DestinationSpec spec);
  // Deletes a destination and all it kept. not_found, failed_precondition (config file).
  Status remove(const std::string& name);
  std::vector<DestinationInfo> list();
  Result<DestinationInfo> get(const std::string& name);

  // Opens a connection to the destination without sending anything.
  Status test_connection(const std::string& name);
  // Sends one sample message (a track event, or an audience change when it takes only those)
  // through the destination's mapping, outside its outbox; answers what the destination said.
  // A files destination exports its audiences now instead (the body lists the files written).
  Result<SendResult> send_sample(const std::string& name);
  Result<std::optional<DeliveryRecord>> message(const std::string& name,
                                                const std::string& message_id);
  Result<std::vector<OutboxEntry>> dead_letters(const std::string& name, uint64_t after,
                                                size_t limit);
  Result<uint64_t> replay_dead_letters(const std::string& name, const std::vector<uint64_t>& ids);

  // The first raw log seq a destination has not read yet (UINT64_MAX without destinations), so
  // that retention keeps what is still to be delivered.
  uint64_t keep_from_seq();

 private:
  DeliveryEngine(storage::Database& database, Options options)
      : database_(database),
        options_(std::move(options)),
        store_(database),
        guard_(options_.allowed_networks) {}
  Result<std::shared_ptr<DestinationRunner>> start_worker(DestinationSpec spec);
  std::shared_ptr<DestinationRunner> find(const std::string& name);
  std::unique_ptr<Sender> make_sender(const DestinationSpec& spec) const;

  storage::Database& database_;
  Options options_;
  ActivationStore store_;
  NetworkGuard guard_;
  // Serialises define and remove, which stop a worker (waiting for its attempt in flight) while
  // mutex_ is free: notify() runs on the raw log's commit thread and must not wait for that.
  std::mutex define_mutex_;
  std::mutex mutex_;  // guards workers_ and configured_
  std::map<std::string, std::shared_ptr<DestinationRunner>> workers_;
  std::set<std::string> configured_;
};

}  // namespace cdp::activation

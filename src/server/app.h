#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "activation/delivery_engine.h"
#include "common/metrics.h"
#include "importer/importer.h"
#include "importer/watch_folder.h"
#include "ingest/source_registry.h"
#include "pipeline/audience_clock.h"
#include "pipeline/linking_service.h"
#include "pipeline/processor.h"
#include "server/admin_handler.h"
#include "server/audience_handler.h"
#include "server/config.h"
#include "server/console_handler.h"
#include "server/destination_handler.h"
#include "server/http_server.h"
#include "server/identity_handler.h"
#include "server/import_handler.h"
#include "server/live_events.h"
#include "server/matching_handler.h"
#include "server/profile_handler.h"
#include "server/tracking_handler.h"
#include "storage/database.h"
#include "storage/raw_log_writer.h"

namespace cdp::server {

// The composition root of `cdp serve`: opens the data directory, the sources, the raw log writer
// and the HTTP server, routes requests, exports metrics and applies retention.
//
// Lifecycle: start() returns a running server; stop() (or the destructor) stops accepting,
// finishes queued writes and closes the database. Thread-safe.
class App {
 public:
  static Result<std::unique_ptr<App>> start(Config config);
  ~App();

  void stop();
  unsigned short port() const { return http_->port(); }
  const std::string& admin_token() const { return admin_token_; }
  ingest::SourceRegistry& sources() { return *sources_; }
  LiveEvents& live() { return *live_; }

 private:
  explicit App(Config config) : config_(std::move(config)) {}
  void route(Request&& request, const RequestInfo& info, Responder respond);
  void register_gauges();
  void maintain();

  Config config_;
  std::string admin_token_;
  MetricsRegistry metrics_;
  std::map<std::string, Histogram*, std::less<>> request_seconds_;  // by route label
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<ingest::SourceRegistry> sources_;
  std::unique_ptr<pipeline::Processor> processor_;
  std::unique_ptr<activation::DeliveryEngine> delivery_;
  std::unique_ptr<LiveEvents> live_;
  std::unique_ptr<storage::RawLogWriter> writer_;
  std::unique_ptr<TrackingHandler> tracking_;
  std::unique_ptr<AdminHandler> admin_;
  std::unique_ptr<ProfileHandler> profiles_;
  std::unique_ptr<IdentityHandler> identity_;
  std::unique_ptr<AudienceHandler> audiences_;
  std::unique_ptr<pipeline::AudienceClock> audience_clock_;
  std::unique_ptr<importer::Importer> importer_;
  std::vector<std::unique_ptr<importer::WatchFolder>> watch_folders_;
  std::unique_ptr<ImportHandler> imports_;
  std::unique_ptr<pipeline::LinkingService> linking_;  // null without [matching]
  std::unique_ptr<MatchingHandler> matching_;
  std::unique_ptr<DestinationHandler> destinations_;
  std::unique_ptr<ConsoleHandler> console_;
  std::unique_ptr<HttpServer> http_;

  std::mutex maintenance_mutex_;
  std::condition_variable maintenance_wake_;
  bool stopping_ = false;
  std::thread maintenance_;
};

}  // namespace cdp::server

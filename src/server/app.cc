#include "server/app.h"

#include <malloc.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/log.h"
#include "common/thread_name.h"
#include "common/uuid.h"
#include "storage/raw_log_reader.h"

namespace cdp::server {
namespace {

constexpr const char* kAdminTokenKey = "admin_token";

std::string_view route_label(std::string_view target) {
  if (target.starts_with("/v1/projects/")) return "settings";
  if (TrackingHandler::handles(target)) return "tracking";
  if (target == "/admin/v1/live/events" || target == "/v1/console/whoami") return "console";
  if (AudienceHandler::handles(target)) return "audiences";
  if (DestinationHandler::handles(target)) return "destinations";
  if (AdminHandler::handles(target)) return "admin";
  if (IdentityHandler::handles(target)) return "identity";
  if (ProfileHandler::handles(target)) return "profiles";
  if (target == "/healthz") return "healthz";
  if (target == "/metrics") return "metrics";
  return "other";
}

// The web console's files: the configured folder when it holds a console; else, for an installed
// binary (<prefix>/bin/cdp), <prefix>/share/cdp/web.
std::string console_dir(const Config& config) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(fs::path(config.console_dir) / "index.html", ec)) return config.console_dir;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto installed = exe.parent_path().parent_path() / "share" / "cdp" / "web";
    if (fs::exists(installed / "index.html", ec)) return installed.string();
  }
  return config.console_dir;
}

// The admin token: from the config, else the one stored in the data directory, else a new one
// (stored, and written to <data>/admin-token readable by the owner only).
Result<std::string> resolve_admin_token(const Config& config, storage::Database& database) {
  if (!config.admin_token.empty()) return config.admin_token;
  auto stored = database.get_meta(kAdminTokenKey);
  if (!stored) return stored.status();
  std::string token = stored->value_or("");
  if (token.empty()) {
    token = random_token(40);
    CDP_RETURN_IF_ERROR(database.put_meta(kAdminTokenKey, token));
  }
  const auto path = std::filesystem::path(config.data_dir) / "admin-token";
  {
    std::ofstream file(path, std::ios::trunc);
    file << token << "\n";
  }
  ::chmod(path.c_str(), 0600);
  return token;
}

}  // namespace

Result<std::unique_ptr<App>> App::start(Config config) {
  if (!log::set_level(config.log_level)) {
    return Status::invalid_argument("log level \"" + config.log_level +
                                    "\" is not debug, info, warn or error");
  }
  auto listen = parse_listen_address(config.listen);
  if (!listen) return listen.status();

  std::unique_ptr<App> app(new App(std::move(config)));
  const Config& cfg = app->config_;

  storage::Database::Options db_options;
  db_options.path = cfg.data_dir;
  db_options.dedup_window_ms = cfg.dedup_window_hours * 3600 * 1000;
  db_options.background_write_bytes_per_s = cfg.background_write_mb_per_s << 20;
  db_options.delivery_history_ms = cfg.delivery_history_days * 86'400'000;
  auto database = storage::Database::open(db_options);
  if (!database) return database.status();
  app->database_ = std::move(*database);

  auto token = resolve_admin_token(cfg, *app->database_);
  if (!token) return token.status();
  app->admin_token_ = std::move(*token);

  auto sources = ingest::SourceRegistry::open(*app->database_, cfg.sources);
  if (!sources) return sources.status();
  app->sources_ = std::move(*sources);

  // Destinations read the logs on threads of their own; new events (the raw log's commits) and
  // new changes (the processor's batches) wake them.
  activation::DeliveryEngine::Options delivery_options;
  delivery_options.metrics = &app->metrics_;
  delivery_options.files_root = cfg.files_dir.empty()
                                    ? (std::filesystem::path(cfg.data_dir) / "exports").string()
                                    : cfg.files_dir;
  for (const auto& network : cfg.allowed_networks) {
    delivery_options.allowed_networks.push_back(*activation::parse_network(network));
  }
  auto delivery =
      activation::DeliveryEngine::start(*app->database_, delivery_options, cfg.destinations);
  if (!delivery) return delivery.status();
  app->delivery_ = std::move(*delivery);

  auto rules = identity::CompiledRules::compile(cfg.identity);
  if (!rules) return rules.status();
  pipeline::Processor::Options processor_options;
  processor_options.metrics = &app->metrics_;
  processor_options.min_free_bytes = (cfg.min_free_mb << 20) / 2;
  processor_options.on_applied = [engine = app->delivery_.get()](uint64_t) { engine->notify(); };
  auto processor = pipeline::Processor::open(*app->database_, *rules, processor_options);
  if (!processor) return processor.status();
  app->processor_ = std::move(*processor);
  app->processor_->start();

  storage::RawLogWriter::Options writer_options;
  writer_options.sync = cfg.sync;
  writer_options.min_free_bytes = cfg.min_free_mb << 20;
  writer_options.max_queue_bytes = cfg.max_queue_mb << 20;
  writer_options.metrics = &app->metrics_;
  pipeline::Processor* processor_ptr = app->processor_.get();
  activation::DeliveryEngine* delivery_ptr = app->delivery_.get();
  app->live_ = std::make_unique<LiveEvents>(*app->database_, SystemClock::instance());
  app->live_->start();
  LiveEvents* live_ptr = app->live_.get();
  writer_options.on_commit = [processor_ptr, delivery_ptr, live_ptr](uint64_t last_seq) {
    processor_ptr->notify();
    delivery_ptr->notify();
    live_ptr->notify(last_seq);
  };
  app->writer_ = std::make_unique<storage::RawLogWriter>(*app->database_, writer_options,
                                                         SystemClock::instance());
  CDP_RETURN_IF_ERROR(app->writer_->start());

  app->tracking_ = std::make_unique<TrackingHandler>(
      cfg, *app->sources_, *app->writer_, app->metrics_, SystemClock::instance(), live_ptr);
  app->console_ = std::make_unique<ConsoleHandler>(console_dir(cfg), app->admin_token_,
                                                   cfg.read_token, *app->live_);
  app->admin_ = std::make_unique<AdminHandler>(app->admin_token_, *app->sources_, *app->database_);
  app->profiles_ = std::make_unique<ProfileHandler>(
      app->admin_token_, cfg.read_token, *app->database_, cfg.identity.phone_default_region,
      [processor_ptr] { return processor_ptr->definitions(); });
  app->audiences_ = std::make_unique<AudienceHandler>(AudienceHandler::Deps{
      app->admin_token_, cfg.read_token, *app->database_, *app->writer_, *app->processor_,
      SystemClock::instance(), std::chrono::milliseconds(cfg.preview_budget_ms)});
  app->audience_clock_ = std::make_unique<pipeline::AudienceClock>(
      *app->database_, *app->writer_, *app->processor_, pipeline::AudienceClock::Options{});
  app->audience_clock_->start();
  app->identity_ = std::make_unique<IdentityHandler>(
      IdentityHandler::Deps{app->admin_token_, *app->database_, *app->writer_, *app->processor_,
                            cfg.identity.phone_default_region, SystemClock::instance()});
  if (!cfg.matching_spec.empty() || !cfg.matching_model.empty()) {
    pipeline::LinkingService::Options linking_options;
    linking_options.data_dir = cfg.data_dir;
    if (!cfg.matching_model.empty()) {
      auto saved = match::load_saved_model(cfg.matching_model);
      if (!saved) return saved.status();
      linking_options.config = saved->config;
      linking_options.model = std::move(*saved);
    } else {
      auto spec = match::load_match_config(cfg.matching_spec);
      if (!spec) return spec.status();
      linking_options.config = std::move(*spec);
    }
    auto linking = pipeline::LinkingService::start(*app->database_, *app->writer_, *app->processor_,
                                                   std::move(linking_options));
    if (!linking) return linking.status();
    app->linking_ = std::move(*linking);
  }
  app->matching_ = std::make_unique<MatchingHandler>(
      app->admin_token_, app->linking_.get(), *app->database_, cfg.identity.phone_default_region);
  app->destinations_ = std::make_unique<DestinationHandler>(app->admin_token_, *app->delivery_);

  importer::Importer::Options import_options;
  import_options.data_dir = cfg.data_dir;
  import_options.max_event_bytes = cfg.limits.max_event_bytes;
  import_options.phone_region = cfg.identity.phone_default_region;
  if (app->linking_ && cfg.matching_after_import) {
    pipeline::LinkingService* linking = app->linking_.get();
    import_options.on_done = [linking](const importer::ImportRecord& record) {
      if (record.rows_accepted > 0) (void)linking->request(false);
    };
  }
  auto importer = importer::Importer::open(*app->database_, *app->writer_, import_options);
  if (!importer) return importer.status();
  app->importer_ = std::move(*importer);
  app->imports_ = std::make_unique<ImportHandler>(
      app->admin_token_, *app->importer_, static_cast<uint64_t>(cfg.import_max_file_mb) << 20);
  for (const auto& watch : cfg.import_watch) {
    std::ifstream file(watch.mapping);
    if (!file) {
      return Status::invalid_argument("config [[import.watch]] mapping " + watch.mapping +
                                      " cannot be read");
    }
    std::stringstream text;
    text << file.rdbuf();
    auto mapping = importer::ImportMapping::parse_toml(text.str(), watch.mapping);
    if (!mapping) return mapping.status();
    mapping->name = std::filesystem::path(watch.mapping).stem().string();
    importer::WatchFolder::Options watch_options;
    watch_options.dir = watch.dir;
    watch_options.mapping = std::move(*mapping);
    watch_options.poll = std::chrono::milliseconds(static_cast<int64_t>(watch.poll_seconds * 1000));
    auto folder = importer::WatchFolder::start(*app->importer_, std::move(watch_options));
    if (!folder) return folder.status();
    app->watch_folders_.push_back(std::move(*folder));
  }
  app->register_gauges();

  HttpServer::Options http_options;
  http_options.host = listen->first;
  http_options.port = listen->second;
  http_options.threads = cfg.http_threads;
  // Compressed bodies are smaller than the limit on decompressed ones; the raw body may not exceed
  // it.
  http_options.max_body_bytes = cfg.limits.max_body_bytes;
  App* self = app.get();
  http_options.file_body = [self](const http::request_header<>& header) {
    return self->imports_->file_body(header);
  };
  app->http_ = std::make_unique<HttpServer>(
      http_options, [self](Request&& request, const RequestInfo& info, Responder respond) {
        self->route(std::move(request), info, std::move(respond));
      });
  CDP_RETURN_IF_ERROR(app->http_->start());
  app->maintenance_ = std::thread([self] { self->maintain(); });
  log::info("server_started", {{"listen", listen->first + ":" + std::to_string(app->http_->port())},
                               {"data", cfg.data_dir},
                               {"sync", cfg.sync ? "true" : "false"},
                               {"sources", std::to_string(app->sources_->list().size())}});
  return app;
}

App::~App() { stop(); }

void App::stop() {
  {
    std::lock_guard lock(maintenance_mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  maintenance_wake_.notify_all();
  if (maintenance_.joinable()) maintenance_.join();
  // Stop taking requests, then finish the queued writes (their answers go nowhere, but what was
  // queued is stored: a client that retries finds it deduplicated), then close storage.
  if (http_) http_->stop();
  if (live_) live_->stop();
  if (audiences_) audiences_->stop();
  if (destinations_) destinations_->stop();
  // Destinations stop after their attempt in flight; what they did not deliver stays in the
  // logs and their outboxes.
  if (delivery_) delivery_->stop();
  // Imports stop after their current batch, before the writer they append through.
  watch_folders_.clear();
  if (importer_) importer_->stop();
  if (linking_) linking_->stop();
  audience_clock_.reset();
  if (writer_) writer_->stop();
  if (processor_) processor_->stop();
  log::info("server_stopped");
}

void App::register_gauges() {
  // Time from reading a request to answering it, by route: where read latency under load shows
  // on the server's side. Looked up once here: route() runs for every request.
  for (const char* route : {"settings", "tracking", "admin", "identity", "audiences",
                            "destinations", "profiles", "healthz", "metrics", "console", "other"}) {
    request_seconds_[route] = &metrics_.histogram(
        "cdp_http_request_seconds", "Time from reading a request to answering it, by route",
        std::string("route=\"") + route + "\"");
  }
  metrics_.gauge("cdp_raw_log_last_seq", "Sequence number of the newest raw log record",
                 [this] { return static_cast<double>(writer_->stats().last_seq); });
  metrics_.gauge("cdp_write_queue_bytes", "Event bytes waiting for the raw log writer",
                 [this] { return static_cast<double>(writer_->stats().queued_bytes); });
  metrics_.gauge("cdp_write_queue_requests", "Requests waiting for the raw log writer",
                 [this] { return static_cast<double>(writer_->stats().queued_requests); });
  metrics_.gauge("cdp_write_groups_total", "Group commits (one fsync each) so far",
                 [this] { return static_cast<double>(writer_->stats().groups); });
  metrics_.gauge("cdp_storage_available",
                 "1 when storage takes writes, 0 when disk full or failing",
                 [this] { return writer_->stats().storage_available ? 1.0 : 0.0; });
  metrics_.gauge("cdp_processor_cursor", "Seq of the last raw log event applied to profiles",
                 [this] { return static_cast<double>(processor_->stats().cursor); });
  metrics_.gauge("cdp_processor_lag_events", "Raw log events not yet applied to profiles", [this] {
    const auto last = writer_->stats().last_seq;
    const auto cursor = processor_->stats().cursor;
    return static_cast<double>(last > cursor ? last - cursor : 0);
  });
  metrics_.gauge("cdp_processor_lag_seconds",
                 "Age of the oldest event not yet applied to profiles (0 when caught up)", [this] {
                   const auto stats = processor_->stats();
                   if (writer_->stats().last_seq <= stats.cursor) return 0.0;
                   // Measured from the last applied event: at most the oldest pending event's age.
                   return std::max(0.0, static_cast<double>(SystemClock::instance().now_ms() -
                                                            stats.last_received_at_ms) /
                                            1000.0);
                 });
  metrics_.gauge("cdp_profiles_assigned", "Profile ids assigned so far (merged ones included)",
                 [this] { return static_cast<double>(processor_->stats().profiles); });
  metrics_.gauge("cdp_storage_sst_bytes", "Bytes of RocksDB table files", [this] {
    return static_cast<double>(database_->int_property("rocksdb.total-sst-files-size"));
  });
  for (auto* family : database_->all_column_families()) {
    // Per column family: how much of the disk is the raw log and how much profile state.
    metrics_.gauge(
        "cdp_storage_cf_sst_bytes", "Bytes of RocksDB table files per column family",
        [this, family] {
          return static_cast<double>(
              database_->int_property("rocksdb.total-sst-files-size", family));
        },
        "cf=\"" + family->GetName() + "\"");
  }
  metrics_.gauge("cdp_storage_memtable_bytes", "Bytes of RocksDB memtables", [this] {
    return static_cast<double>(database_->int_property("rocksdb.cur-size-all-mem-tables"));
  });
  metrics_.gauge(
      "cdp_storage_estimated_keys", "Estimated RocksDB keys over all column families",
      [this] { return static_cast<double>(database_->int_property("rocksdb.estimate-num-keys")); });
  // Write stalls are RocksDB throttling us while compaction catches up: they show in ack latency.
  metrics_.gauge(
      "cdp_storage_write_stopped", "1 while RocksDB stops writes until compaction catches up",
      [this] { return static_cast<double>(database_->int_property("rocksdb.is-write-stopped")); });
  metrics_.gauge(
      "cdp_storage_delayed_write_rate_bytes",
      "Write rate RocksDB throttles to while stalled (0 when not throttling)", [this] {
        return static_cast<double>(database_->int_property("rocksdb.actual-delayed-write-rate"));
      });
  metrics_.gauge("cdp_storage_running_compactions", "RocksDB compactions running now", [this] {
    return static_cast<double>(database_->int_property("rocksdb.num-running-compactions"));
  });
  metrics_.gauge("cdp_storage_pending_compaction_bytes",
                 "Bytes RocksDB estimates compaction must rewrite", [this] {
                   return static_cast<double>(
                       database_->int_property("rocksdb.estimate-pending-compaction-bytes"));
                 });
}

void App::route(Request&& request, const RequestInfo& info, Responder respond) {
  const std::string target(request.target());
  const std::string_view path = std::string_view(target).substr(0, target.find('?'));
  const std::string label(route_label(path));
  Histogram* duration = request_seconds_.at(label);
  const auto started = std::chrono::steady_clock::now();
  Responder counted = [this, label, duration, started,
                       respond = std::move(respond)](Response response) {
    duration->observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    metrics_
        .counter("cdp_http_requests_total", "HTTP requests by route and status code",
                 "route=\"" + label + "\",code=\"" + std::to_string(response.result_int()) + "\"")
        .inc();
    respond(std::move(response));
  };
  if (TrackingHandler::handles(path))
    return tracking_->handle(std::move(request), info, std::move(counted));
  // Before the admin API, which takes every other /admin/ path.
  if (console_->handles(path)) return console_->handle(request, info, std::move(counted));
  if (ImportHandler::handles(path)) return counted(imports_->handle(request, info));
  if (MatchingHandler::handles(path)) return counted(matching_->handle(request));
  if (AudienceHandler::handles(path)) return audiences_->handle(request, std::move(counted));
  if (DestinationHandler::handles(path)) {
    return destinations_->handle(request, std::move(counted));
  }
  if (AdminHandler::handles(path)) return counted(admin_->handle(request));
  if (IdentityHandler::handles(path)) return identity_->handle(request, std::move(counted));
  if (ProfileHandler::handles(path)) return counted(profiles_->handle(request));
  if (path == "/healthz" && request.method() == http::verb::get) {
    const bool writable = writer_->stats().storage_available;
    return counted(json_response(http::status::ok, request.version(),
                                 std::string("{\"status\":\"ok\",\"storage\":\"") +
                                     (writable ? "writable" : "unavailable") + "\"}"));
  }
  if (path == "/metrics" && request.method() == http::verb::get) {
    Response response{http::status::ok, request.version()};
    response.set(http::field::content_type, "text/plain; version=0.0.4");
    response.body() = metrics_.render();
    response.prepare_payload();
    return counted(std::move(response));
  }
  counted(json_error(
      http::status::not_found, request.version(), "not_found",
      "no endpoint at " + std::string(path) + " (tracking API: POST /v1/track, /v1/batch, ...)"));
}

void App::maintain() {
  set_thread_name("cdp-maintain");
  std::unique_lock lock(maintenance_mutex_);
  auto next_retention = std::chrono::steady_clock::now();
  while (!stopping_) {
    if (config_.retention_days > 0 && std::chrono::steady_clock::now() >= next_retention) {
      next_retention = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      lock.unlock();
      const int64_t cutoff =
          SystemClock::instance().now_ms() - config_.retention_days * 86400LL * 1000;
      // Events the processor has not applied yet stay, however old: deleting them would lose
      // them from every profile.
      // Nor do events a destination has not read yet.
      const uint64_t keep_from =
          std::min(processor_->stats().cursor + 1, delivery_->keep_from_seq());
      auto deleted = storage::delete_raw_log_before(*database_, cutoff, keep_from);
      if (!deleted) {
        log::warn("retention_failed", {{"error", deleted.status().message()}});
      } else if (*deleted > 0) {
        log::info("retention_applied", {{"deleted", std::to_string(*deleted)}});
      }
      lock.lock();
    }
    // glibc keeps memory freed by other threads in its arenas; after a burst of large requests
    // that was ~90 MB of RSS (bench/RESULTS.md). Hand it back to the system.
    malloc_trim(0);
    maintenance_wake_.wait_for(lock, std::chrono::seconds(10), [this] { return stopping_; });
  }
}

}  // namespace cdp::server

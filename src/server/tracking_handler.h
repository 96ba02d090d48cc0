#pragma once

#include <memory>
#include <string>

#include "common/clock.h"
#include "common/metrics.h"
#include "ingest/source_registry.h"
#include "ingest/tracking_limits.h"
#include "server/config.h"
#include "server/http_types.h"
#include "server/internal/work_pool.h"
#include "storage/raw_log_writer.h"

namespace cdp::server {

// The Segment/RudderStack-compatible tracking API: POST /v1/{identify,track,page,screen,group,
// alias,batch,import,i,t,p,s,g,a,b}, the settings document analytics.js loads
// (GET /v1/projects/{writeKey}/settings) and CORS preflights.
//
// A request is answered 200 only after its events are fsynced in the raw log; the answer comes
// from the raw log's commit thread. Thread-safe.
//
// Bodies of kParseOffloadBytes or more (batches) are parsed on the handler's own parse threads,
// not on the I/O thread that read them. Rationale: parsing a 100-event batch takes about a
// millisecond; on the I/O threads every Profile API read or small event that arrived meanwhile
// waited for it (measured: Profile API p99 under ingest 3.3 ms with 100-event batches, 2.0 ms
// with 10-event ones). When the parse threads are behind (kMaxQueuedParses waiting), the I/O
// thread parses the body itself, which also stops it reading more: the old back-pressure.
class TrackingHandler {
 public:
  TrackingHandler(const Config& config, ingest::SourceRegistry& sources,
                  storage::RawLogWriter& writer, MetricsRegistry& metrics, const Clock& clock);

  // True when `target` is one of this handler's paths.
  static bool handles(std::string_view path);

  void handle(Request&& request, const RequestInfo& info, Responder respond);
  // Finishes the queued parses (their events go to the writer) and stops the parse threads.
  // REQUIRES: no more requests arrive (the HTTP server has stopped).
  void stop();

  static constexpr size_t kParseOffloadBytes = 16 * 1024;
  static constexpr size_t kMaxQueuedParses = 64;
  // CORS headers for a browser request from `origin`; empty origin: none.
  void add_cors(Response& response, std::string_view origin) const;

 private:
  void track(Request&& request, const RequestInfo& info, Responder respond);
  void settings(const Request& request, std::string_view write_key, Responder respond);
  Response reject_request(const Request& request, http::status status, std::string_view code,
                          std::string_view message, std::string_view metric_reason);

  const Config& config_;
  ingest::SourceRegistry& sources_;
  storage::RawLogWriter& writer_;
  MetricsRegistry& metrics_;
  const Clock& clock_;
  Counter& duplicates_;
  Counter& request_bytes_;
  Histogram& ack_latency_;
  Histogram& parse_latency_;
  std::unique_ptr<internal::WorkPool> parse_pool_;
};

// The write key from "Authorization: Basic base64(key:)"; empty when the header is absent or
// carries another scheme (Bearer tokens come with the key in the body).
std::string write_key_from_authorization(std::string_view header);

}  // namespace cdp::server

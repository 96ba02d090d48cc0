#pragma once

#include <string>

#include "common/clock.h"
#include "common/metrics.h"
#include "ingest/source_registry.h"
#include "ingest/tracking_limits.h"
#include "server/config.h"
#include "server/http_types.h"
#include "server/live_events.h"
#include "storage/raw_log_writer.h"

namespace cdp::server {

// The Segment/RudderStack-compatible tracking API: POST /v1/{identify,track,page,screen,group,
// alias,batch,import,i,t,p,s,g,a,b}, the settings document analytics.js loads
// (GET /v1/projects/{writeKey}/settings) and CORS preflights.
//
// A request is answered 200 only after its events are fsynced in the raw log; the answer comes
// from the raw log's commit thread. Thread-safe.
class TrackingHandler {
 public:
  // `live`: where refused requests and events are shown (the console's debugger); may be null.
  TrackingHandler(const Config& config, ingest::SourceRegistry& sources,
                  storage::RawLogWriter& writer, MetricsRegistry& metrics, const Clock& clock,
                  LiveEvents* live = nullptr);

  // True when `target` is one of this handler's paths.
  static bool handles(std::string_view path);

  void handle(Request&& request, const RequestInfo& info, Responder respond);
  // CORS headers for a browser request from `origin`; empty origin: none.
  void add_cors(Response& response, std::string_view origin) const;

 private:
  void track(Request&& request, const RequestInfo& info, Responder respond);
  void settings(const Request& request, std::string_view write_key, Responder respond);
  // `source`: the authenticated source, when known: the refusal (with `body`, the decompressed
  // request) is then shown in the live debugger.
  Response reject_request(const Request& request, http::status status, std::string_view code,
                          std::string_view message, std::string_view metric_reason,
                          std::string_view body = {}, std::string_view source = {});

  const Config& config_;
  ingest::SourceRegistry& sources_;
  storage::RawLogWriter& writer_;
  MetricsRegistry& metrics_;
  const Clock& clock_;
  LiveEvents* live_;
  Counter& duplicates_;
  Counter& request_bytes_;
  Histogram& ack_latency_;
  Histogram& parse_latency_;
};

// The write key from "Authorization: Basic base64(key:)"; empty when the header is absent or
// carries another scheme (Bearer tokens come with the key in the body).
std::string write_key_from_authorization(std::string_view header);

}  // namespace cdp::server

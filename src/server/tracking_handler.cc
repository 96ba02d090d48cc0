#include "server/tracking_handler.h"

#include <chrono>
#include <memory>

#include "common/base64.h"
#include "common/json_writer.h"
#include "common/log.h"
#include "ingest/gzip.h"
#include "ingest/tracking_request.h"

namespace cdp::server {
namespace {

// How much of a refused body the live debugger shows.
constexpr size_t kShownBodyBytes = 2048;

constexpr std::string_view kSettingsPrefix = "/v1/projects/";
constexpr std::string_view kSettingsSuffix = "/settings";

std::string_view path_of(std::string_view target) {
  const auto query = target.find('?');
  return query == std::string_view::npos ? target : target.substr(0, query);
}

bool iequals_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

// One parser per I/O thread: it owns reusable buffers, and requests on one thread never overlap.
ingest::TrackingRequestParser& thread_parser(const ingest::TrackingLimits& limits) {
  thread_local std::unique_ptr<ingest::TrackingRequestParser> parser;
  thread_local const ingest::TrackingLimits* owner = nullptr;
  if (!parser || owner != &limits) {
    parser = std::make_unique<ingest::TrackingRequestParser>(limits);
    owner = &limits;
  }
  return *parser;
}

void write_rejections(JsonWriter& out, const std::vector<ingest::Rejection>& rejections) {
  out.key("rejected").begin_array();
  for (const auto& rejection : rejections) {
    out.begin_object();
    out.key("index").number(static_cast<int64_t>(rejection.index));
    if (!rejection.message_id.empty()) out.key("messageId").string(rejection.message_id);
    out.key("code").string(rejection.code);
    out.key("reason").string(rejection.reason);
    out.end_object();
  }
  out.end_array();
}

}  // namespace

std::string write_key_from_authorization(std::string_view header) {
  if (!iequals_prefix(header, "basic ")) return {};
  auto decoded = base64_decode(header.substr(6));
  if (!decoded) return {};
  const auto colon = decoded->find(':');
  return colon == std::string::npos ? *decoded : decoded->substr(0, colon);
}

TrackingHandler::TrackingHandler(const Config& config, ingest::SourceRegistry& sources,
                                 storage::RawLogWriter& writer, MetricsRegistry& metrics,
                                 const Clock& clock, LiveEvents* live)
    : config_(config),
      sources_(sources),
      writer_(writer),
      metrics_(metrics),
      clock_(clock),
      live_(live),
      duplicates_(
          metrics.counter("cdp_events_duplicate_total",
                          "Events acknowledged but not stored again: their messageId was seen")),
      request_bytes_(metrics.counter("cdp_ingest_request_bytes_total",
                                     "Bytes of tracking request bodies, as received")),
      ack_latency_(
          metrics.histogram("cdp_ingest_ack_latency_seconds",
                            "Time from a tracking request's arrival to its acknowledgement")),
      parse_latency_(
          metrics.histogram("cdp_ingest_parse_seconds",
                            "Time to parse, validate and normalise one tracking request's body")) {}

bool TrackingHandler::handles(std::string_view target) {
  const auto path = path_of(target);
  return ingest::endpoint_for_path(path).has_value() ||
         (path.starts_with(kSettingsPrefix) && path.ends_with(kSettingsSuffix));
}

void TrackingHandler::add_cors(Response& response, std::string_view origin) const {
  if (origin.empty()) return;
  bool allowed = false;
  for (const auto& candidate : config_.cors_origins)
    allowed = allowed || candidate == "*" || candidate == origin;
  if (!allowed) return;
  // Echo the origin rather than "*": analytics.js may send credentials (Basic auth).
  response.set(http::field::access_control_allow_origin, origin);
  response.set(http::field::access_control_allow_credentials, "true");
  response.set(http::field::vary, "Origin");
}

Response TrackingHandler::reject_request(const Request& request, http::status status,
                                         std::string_view code, std::string_view message,
                                         std::string_view metric_reason, std::string_view body,
                                         std::string_view source) {
  metrics_
      .counter("cdp_requests_rejected_total", "Tracking requests refused as a whole, by reason",
               "reason=\"" + std::string(metric_reason) + "\"")
      .inc();
  // Only what came with a valid write key: anyone can send the rest, and it would crowd the
  // admin's debugger.
  if (live_ != nullptr && !source.empty()) {
    live_->rejected(source, code, message, {}, -1, utf8_prefix(body, kShownBodyBytes));
  }
  auto response = json_error(status, request.version(), code, message);
  add_cors(response, request[http::field::origin]);
  return response;
}

void TrackingHandler::handle(Request&& request, const RequestInfo& info, Responder respond) {
  const std::string_view path = path_of(request.target());
  if (request.method() == http::verb::options) {
    Response response{http::status::no_content, request.version()};
    add_cors(response, request[http::field::origin]);
    response.set(http::field::access_control_allow_methods, "GET, POST, OPTIONS");
    response.set(http::field::access_control_allow_headers,
                 "Content-Type, Content-Encoding, Authorization, X-Retry-Count, AnonymousId");
    response.set(http::field::access_control_max_age, "86400");
    return respond(std::move(response));
  }
  if (path.starts_with(kSettingsPrefix)) {
    if (request.method() != http::verb::get) {
      return respond(reject_request(request, http::status::method_not_allowed, "method_not_allowed",
                                    "use GET for the settings document", "method_not_allowed"));
    }
    const auto write_key = path.substr(
        kSettingsPrefix.size(), path.size() - kSettingsPrefix.size() - kSettingsSuffix.size());
    return settings(request, write_key, std::move(respond));
  }
  if (request.method() != http::verb::post) {
    return respond(reject_request(request, http::status::method_not_allowed, "method_not_allowed",
                                  "the tracking API takes POST requests", "method_not_allowed"));
  }
  track(std::move(request), info, std::move(respond));
}

void TrackingHandler::track(Request&& request, const RequestInfo& info, Responder respond) {
  const auto started = std::chrono::steady_clock::now();
  const int64_t received_at = clock_.now_ms();
  const auto endpoint = *ingest::endpoint_for_path(path_of(request.target()));
  const auto& limits = config_.limits;
  request_bytes_.inc(request.body().size());

  // The source a write key in the Authorization header names: the live debugger shows the
  // refusals of requests that carry a valid key, and these come before the body (which may hold
  // the key instead) is read.
  auto header_source = [&]() -> std::string {
    const auto key = write_key_from_authorization(request[http::field::authorization]);
    if (key.empty()) return {};
    auto source = sources_.authenticate(key);
    return source ? source->name : std::string();
  };
  std::string decompressed;
  std::string_view body = request.body();
  const auto encoding = request[http::field::content_encoding];
  if (encoding == "gzip" || encoding == "x-gzip") {
    auto inflated = ingest::gunzip(body, limits.max_body_bytes);
    if (!inflated) {
      const bool too_big = inflated.status().code() == StatusCode::kResourceExhausted;
      return respond(reject_request(
          request, too_big ? http::status::payload_too_large : http::status::bad_request,
          too_big ? "body_too_large" : "bad_gzip", inflated.status().message(),
          too_big ? "body_too_large" : "bad_gzip", {}, header_source()));
    }
    decompressed = std::move(*inflated);
    body = decompressed;
  } else if (!encoding.empty() && encoding != "identity") {
    return respond(reject_request(request, http::status::unsupported_media_type,
                                  "unsupported_encoding",
                                  "Content-Encoding \"" + std::string(encoding) +
                                      "\" is not supported; send gzip or no encoding",
                                  "unsupported_encoding", {}, header_source()));
  }
  if (body.size() > limits.max_body_bytes) {
    return respond(reject_request(request, http::status::payload_too_large, "body_too_large",
                                  "the request body is " + std::to_string(body.size()) +
                                      " bytes, over the limit of " +
                                      std::to_string(limits.max_body_bytes),
                                  "body_too_large", {}, header_source()));
  }

  std::string client_ip = info.client_ip;
  if (config_.trust_forwarded_for) {
    const auto forwarded = request["X-Forwarded-For"];
    if (!forwarded.empty()) {
      auto first = forwarded.substr(0, forwarded.find(','));
      while (!first.empty() && first.front() == ' ') first.remove_prefix(1);
      while (!first.empty() && first.back() == ' ') first.remove_suffix(1);
      if (!first.empty()) client_ip = std::string(first);
    }
  }
  const auto parse_started = std::chrono::steady_clock::now();
  auto parsed = thread_parser(limits).parse(body, {endpoint, client_ip, received_at});
  parse_latency_.observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - parse_started).count());
  if (!parsed) {
    return respond(reject_request(request, http::status::bad_request, "invalid_json",
                                  parsed.status().message(), "invalid_json", body,
                                  header_source()));
  }

  std::string write_key = write_key_from_authorization(request[http::field::authorization]);
  if (write_key.empty() && parsed->body_write_key) write_key = *parsed->body_write_key;
  auto source = sources_.authenticate(write_key);
  if (!source) {
    return respond(reject_request(request, http::status::unauthorized, "invalid_write_key",
                                  source.status().message(), "invalid_write_key"));
  }

  for (const auto& rejection : parsed->rejections) {
    metrics_
        .counter("cdp_events_rejected_total", "Events refused one by one, by reason",
                 "reason=\"" + rejection.code + "\"")
        .inc();
  }
  if (endpoint != ingest::Endpoint::kBatch && !parsed->rejections.empty()) {
    const auto& rejection = parsed->rejections.front();
    return respond(reject_request(request, http::status::bad_request, rejection.code,
                                  rejection.reason, "invalid_event", body, source->name));
  }
  if (live_ != nullptr) {
    for (const auto& rejection : parsed->rejections) {
      live_->rejected(source->name, rejection.code, rejection.reason, rejection.message_id,
                      static_cast<int64_t>(rejection.index), {});
    }
  }

  const unsigned version = request.version();
  const std::string origin(request[http::field::origin]);
  auto rejections = std::make_shared<std::vector<ingest::Rejection>>(std::move(parsed->rejections));
  auto finish = [this, version, origin, rejections, respond, started,
                 source_name = source->name](const storage::AppendOutcome& outcome) {
    if (!outcome.status.is_ok()) {
      const bool overloaded = outcome.status.code() == StatusCode::kResourceExhausted;
      auto response = json_error(
          overloaded ? http::status::too_many_requests : http::status::service_unavailable, version,
          overloaded ? "overloaded" : "storage_unavailable",
          outcome.status.message() + "; nothing was stored, retry later");
      response.set(http::field::retry_after, overloaded ? "1" : "5");
      add_cors(response, origin);
      metrics_
          .counter("cdp_requests_rejected_total", "Tracking requests refused as a whole, by reason",
                   overloaded ? "reason=\"overloaded\"" : "reason=\"storage_unavailable\"")
          .inc();
      return respond(std::move(response));
    }
    metrics_
        .counter("cdp_events_accepted_total", "Events stored in the raw log, by source",
                 "source=\"" + prometheus_label_value(source_name) + "\"")
        .inc(outcome.stored);
    duplicates_.inc(outcome.duplicates);
    JsonWriter out;
    out.begin_object();
    out.key("success").boolean(true);
    out.key("accepted").number(static_cast<int64_t>(outcome.stored + outcome.duplicates));
    out.key("duplicates").number(static_cast<int64_t>(outcome.duplicates));
    write_rejections(out, *rejections);
    out.end_object();
    auto response = json_response(http::status::ok, version, out.take());
    add_cors(response, origin);
    ack_latency_.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    respond(std::move(response));
  };

  if (parsed->events.empty()) return finish(storage::AppendOutcome{});

  storage::AppendRequest append{source->name, received_at, std::move(parsed->events)};
  auto status = writer_.submit(std::move(append), finish);
  if (!status.is_ok()) finish(storage::AppendOutcome{status, {}, 0, 0});
}

void TrackingHandler::settings(const Request& request, std::string_view write_key,
                               Responder respond) {
  auto source = sources_.authenticate(write_key);
  if (!source) {
    auto response = json_error(http::status::not_found, request.version(), "invalid_write_key",
                               source.status().message());
    add_cors(response, request[http::field::origin]);
    return respond(std::move(response));
  }
  // analytics.js sends to `${protocol}://${apiHost}`: point it back at this server.
  std::string protocol = "http";
  std::string host(request[http::field::host]);
  if (!config_.public_url.empty()) {
    std::string_view url = config_.public_url;
    if (const auto scheme = url.find("://"); scheme != std::string_view::npos) {
      protocol = std::string(url.substr(0, scheme));
      url.remove_prefix(scheme + 3);
    }
    while (!url.empty() && url.back() == '/') url.remove_suffix(1);
    host = std::string(url);
  }
  if (host.empty()) host = config_.listen;
  JsonWriter out;
  out.begin_object();
  out.key("integrations").begin_object();
  out.key("Segment.io").begin_object();
  out.key("apiKey").string(write_key);
  out.key("apiHost").string(host + "/v1");
  out.key("protocol").string(protocol);
  out.key("unbundledIntegrations").begin_array().end_array();
  out.key("addBundledMetadata").boolean(true);
  out.key("maybeBundledConfigIds").begin_object().end_object();
  out.end_object();
  out.end_object();
  out.key("plan").begin_object();
  for (const char* kind : {"track", "identify", "group"}) {
    out.key(kind).begin_object().key("__default").begin_object().key("enabled").boolean(true);
    out.key("integrations").begin_object().end_object().end_object().end_object();
  }
  out.end_object();
  out.key("edgeFunction").begin_object().end_object();
  out.key("analyticsNextEnabled").boolean(true);
  out.key("middlewareSettings").begin_object().end_object();
  out.key("enabledMiddleware").begin_object().end_object();
  out.key("metrics").begin_object().key("sampleRate").number(int64_t{0}).end_object();
  out.key("legacyVideoPluginsEnabled").boolean(false);
  out.key("remotePlugins").begin_array().end_array();
  out.key("consentSettings")
      .begin_object()
      .key("allCategories")
      .begin_array()
      .end_array()
      .end_object();
  out.end_object();
  auto response = json_response(http::status::ok, request.version(), out.take());
  response.set(http::field::cache_control, "public, max-age=60");
  add_cors(response, request[http::field::origin]);
  respond(std::move(response));
}

}  // namespace cdp::server

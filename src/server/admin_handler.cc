#include "server/admin_handler.h"

#include <charconv>

#include "common/json_writer.h"
#include "ingest/json_tree.h"
#include "storage/raw_log_reader.h"

namespace cdp::server {
namespace {

constexpr std::string_view kSourcesPath = "/admin/v1/sources";
constexpr std::string_view kEventsPath = "/admin/v1/events";
constexpr std::string_view kStoragePath = "/admin/v1/storage/stats";
constexpr size_t kMaxEventsPerRead = 10000;

void write_source(JsonWriter& out, const ingest::Source& source) {
  out.begin_object();
  out.key("name").string(source.name);
  out.key("writeKey").string(source.write_key);
  out.key("enabled").boolean(source.enabled);
  out.key("managedBy").string(source.from_config ? "config" : "api");
  out.end_object();
}

Response source_response(http::status status, unsigned version, const ingest::Source& source) {
  JsonWriter out;
  write_source(out, source);
  return json_response(status, version, out.take());
}

}  // namespace

std::string_view query_parameter(std::string_view target, std::string_view name) {
  const auto query_start = target.find('?');
  if (query_start == std::string_view::npos) return {};
  std::string_view query = target.substr(query_start + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

Response AdminHandler::handle(const Request& request) {
  if (!has_bearer_token(request, {admin_token_})) {
    return json_error(
        http::status::unauthorized, request.version(), "invalid_admin_token",
        "the admin API needs \"Authorization: Bearer <admin token>\" (see the server's "
        "admin_token setting; write keys cannot use it)");
  }
  std::string_view path = request.target();
  path = path.substr(0, path.find('?'));
  if (path == kStoragePath && request.method() == http::verb::get) {
    Response response{http::status::ok, request.version()};
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    response.body() = database_.stats_report();
    response.prepare_payload();
    return response;
  }
  if (path == kEventsPath) {
    if (request.method() != http::verb::get) {
      return json_error(http::status::method_not_allowed, request.version(), "method_not_allowed",
                        "use GET on /admin/v1/events");
    }
    return events(request);
  }
  if (path == kSourcesPath) return sources(request, "");
  if (path.starts_with(kSourcesPath) && path.size() > kSourcesPath.size() + 1 &&
      path[kSourcesPath.size()] == '/') {
    return sources(request, path.substr(kSourcesPath.size() + 1));
  }
  return json_error(http::status::not_found, request.version(), "not_found",
                    "no admin endpoint at " + std::string(path));
}

Response AdminHandler::sources(const Request& request, std::string_view name) {
  const unsigned version = request.version();
  if (name.empty() && request.method() == http::verb::get) {
    JsonWriter out;
    out.begin_object().key("sources").begin_array();
    for (const auto& source : sources_.list()) write_source(out, source);
    out.end_array().end_object();
    return json_response(http::status::ok, version, out.take());
  }
  ingest::JsonParser parser;
  const ingest::JsonValue* body = nullptr;
  if (request.method() == http::verb::post || request.method() == http::verb::patch) {
    auto parsed = parser.parse(request.body());
    if (!parsed) return status_error(parsed.status(), version);
    if (!(*parsed)->is_object()) {
      return json_error(http::status::bad_request, version, "invalid_argument",
                        "send a JSON object");
    }
    body = *parsed;
  }
  auto boolean = [&](std::string_view key) -> std::optional<bool> {
    const ingest::JsonValue* value = body != nullptr ? body->find(key) : nullptr;
    if (value == nullptr || value->kind != ingest::JsonKind::kBool) return std::nullopt;
    return value->boolean;
  };
  if (name.empty() && request.method() == http::verb::post) {
    const ingest::JsonValue* source_name = body->find("name");
    const ingest::JsonValue* write_key = body->find("writeKey");
    if (source_name == nullptr || !source_name->is_string()) {
      return json_error(http::status::bad_request, version, "invalid_argument",
                        "a new source needs a \"name\" string");
    }
    auto created = sources_.create(
        std::string(source_name->text),
        write_key != nullptr && write_key->is_string() ? std::string(write_key->text) : "",
        boolean("enabled").value_or(true));
    if (!created) return status_error(created.status(), version);
    return source_response(http::status::created, version, *created);
  }
  if (name.empty()) {
    return json_error(http::status::method_not_allowed, version, "method_not_allowed",
                      "use GET or POST on /admin/v1/sources");
  }
  switch (request.method()) {
    case http::verb::get: {
      auto source = sources_.find(name);
      if (!source)
        return status_error(Status::not_found("no source named \"" + std::string(name) + "\""),
                            version);
      return source_response(http::status::ok, version, *source);
    }
    case http::verb::patch: {
      auto updated =
          sources_.update(name, boolean("enabled"), boolean("rotateWriteKey").value_or(false));
      if (!updated) return status_error(updated.status(), version);
      return source_response(http::status::ok, version, *updated);
    }
    case http::verb::delete_: {
      auto status = sources_.remove(name);
      if (!status.is_ok()) return status_error(status, version);
      return json_response(http::status::ok, version, "{\"deleted\":true}");
    }
    default:
      return json_error(http::status::method_not_allowed, version, "method_not_allowed",
                        "use GET, PATCH or DELETE on a source");
  }
}

Response AdminHandler::events(const Request& request) {
  const unsigned version = request.version();
  const auto from = number_parameter(request.target(), "from", 1);
  const auto limit = number_parameter(request.target(), "limit", 1000);
  if (!from || !limit || *limit == 0) {
    return json_error(http::status::bad_request, version, "invalid_argument",
                      "from and limit must be positive integers, e.g. ?from=1&limit=1000");
  }
  std::string body;
  storage::RawLogReader reader(database_);
  auto next = reader.scan(*from, std::min<uint64_t>(*limit, kMaxEventsPerRead),
                          [&](const storage::RawLogRecord& record) {
                            body += record.to_json_line();
                            body.push_back('\n');
                            return true;
                          });
  if (!next) return status_error(next.status(), version);
  Response response{http::status::ok, version};
  response.set(http::field::content_type, "application/x-ndjson");
  response.set("X-Next-Seq", std::to_string(*next));
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

}  // namespace cdp::server

#include "server/destination_handler.h"

#include "common/json_writer.h"
#include "common/time_format.h"
#include "ingest/json_tree.h"
#include "server/admin_handler.h"
#include "server/profile_handler.h"

namespace cdp::server {
namespace {

constexpr const char* kBusy =
    "too many destination calls are waiting, or the server is "
    "stopping; try again shortly";

constexpr std::string_view kBase = "/admin/v1/destinations";

void write_stats(JsonWriter& out, const activation::DestinationStats& s, bool files) {
  out.key("status").begin_object();
  out.key("state").string(s.state);
  out.key("delivered").number(static_cast<int64_t>(s.delivered));
  out.key("failed_attempts").number(static_cast<int64_t>(s.failed_attempts));
  out.key("dead").number(static_cast<int64_t>(s.dead));
  out.key("outbox").number(static_cast<int64_t>(s.outbox));
  out.key("outbox_bytes").number(static_cast<int64_t>(s.outbox_bytes));
  out.key("dead_letters").number(static_cast<int64_t>(s.dead_letters));
  out.key("events_cursor").number(static_cast<int64_t>(s.cursor.events));
  if (s.cursor.changes) {
    out.key("changes_cursor")
        .string(std::to_string(s.cursor.changes->seq) + "." +
                std::to_string(s.cursor.changes->index));
  }
  // Backing off: the next attempt. Files: the next look at the schedule (exports that are due).
  if (s.state == "backing_off" || (files && s.paused_until_ms > 0)) {
    out.key("next_attempt").string(format_iso8601_ms(s.paused_until_ms));
  }
  if (!s.last_error.empty()) {
    out.key("last_error").string(s.last_error);
    out.key("last_error_at").string(format_iso8601_ms(s.last_error_ms));
  }
  if (s.last_delivery_ms > 0) {
    out.key("last_delivery_at").string(format_iso8601_ms(s.last_delivery_ms));
  }
  out.end_object();
}

std::string info_json(const activation::DestinationInfo& info) {
  std::string spec = activation::destination_json(info.spec, false);
  spec.pop_back();
  JsonWriter out;
  out.begin_object();
  out.key("configured").boolean(info.configured);
  write_stats(out, info.stats, info.spec.kind == activation::DestinationKind::kFiles);
  out.end_object();
  return spec + "," + out.str().substr(1);
}

Response method_not_allowed(unsigned version, std::string_view allowed) {
  return json_error(http::status::method_not_allowed, version, "method_not_allowed",
                    "use " + std::string(allowed));
}

}  // namespace

bool DestinationHandler::handles(std::string_view path) {
  return path == kBase || path.starts_with(std::string(kBase) + "/");
}

void DestinationHandler::handle(const Request& request, Responder respond) {
  const unsigned version = request.version();
  if (!has_bearer_token(request, {admin_token_})) {
    return respond(json_error(http::status::unauthorized, version, "invalid_admin_token",
                              "destinations need \"Authorization: Bearer <admin token>\""));
  }
  std::string_view path = request.target();
  path = path.substr(0, path.find('?'));
  const auto method = request.method();
  if (path == kBase) {
    if (method != http::verb::get) {
      return respond(method_not_allowed(
          version, "GET to list, PUT " + std::string(kBase) + "/{name} to define"));
    }
    return respond(list(request));
  }
  // {name}[/rest]
  auto rest = path.substr(kBase.size() + 1);
  const auto slash = rest.find('/');
  const auto name = percent_decode(rest.substr(0, slash));
  const std::string_view sub = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (!name || name->empty()) {
    return respond(json_error(http::status::bad_request, version, "invalid_argument",
                              "the destination name is missing or has a bad %-escape"));
  }
  if (sub.empty()) {
    switch (method) {
      case http::verb::get: return respond(show(request, *name));
      case http::verb::put:
        return slow_.answer(
            request, std::move(respond),
            [this, name = *name](const Request& r) { return define(r, name); }, kBusy);
      case http::verb::delete_:
        return slow_.answer(
            request, std::move(respond),
            [this, name = *name](const Request& r) { return remove(r, name); }, kBusy);
      default: return respond(method_not_allowed(version, "GET, PUT or DELETE"));
    }
  }
  if (sub == "/test" || sub == "/sample") {
    if (method != http::verb::post) return respond(method_not_allowed(version, "POST"));
    const bool is_test = sub == "/test";
    return slow_.answer(
        request, std::move(respond),
        [this, name = *name, is_test](const Request& r) {
          return is_test ? test(r, name) : sample(r, name);
        },
        kBusy);
  }
  if (sub.starts_with("/messages/")) {
    if (method != http::verb::get) return respond(method_not_allowed(version, "GET"));
    const auto id = percent_decode(sub.substr(std::string_view("/messages/").size()));
    if (!id || id->empty()) {
      return respond(json_error(http::status::bad_request, version, "invalid_argument",
                                "the messageId is missing or has a bad %-escape"));
    }
    return respond(message(request, *name, *id));
  }
  if (sub == "/dead-letters") {
    if (method != http::verb::get) return respond(method_not_allowed(version, "GET"));
    return respond(dead_letters(request, *name));
  }
  if (sub == "/dead-letters/replay") {
    if (method != http::verb::post) return respond(method_not_allowed(version, "POST"));
    return slow_.answer(
        request, std::move(respond),
        [this, name = *name](const Request& r) { return replay(r, name); }, kBusy);
  }
  respond(json_error(http::status::not_found, version, "not_found",
                     "no endpoint at " + std::string(path) +
                         " (test, sample, messages/{id}, dead-letters, dead-letters/replay)"));
}

Response DestinationHandler::list(const Request& request) {
  std::string body = "{\"destinations\":[";
  bool first = true;
  for (const auto& info : engine_.list()) {
    if (!first) body += ',';
    first = false;
    body += info_json(info);
  }
  body += "]}";
  return json_response(http::status::ok, request.version(), std::move(body));
}

Response DestinationHandler::show(const Request& request, const std::string& name) {
  auto info = engine_.get(name);
  if (!info) return status_error(info.status(), request.version());
  return json_response(http::status::ok, request.version(), info_json(*info));
}

Response DestinationHandler::define(const Request& request, const std::string& name) {
  auto spec = activation::parse_destination_text(name, request.body());
  if (!spec) return status_error(spec.status(), request.version());
  if (auto status = engine_.define(std::move(*spec)); !status.is_ok()) {
    return status_error(status, request.version());
  }
  return show(request, name);
}

Response DestinationHandler::remove(const Request& request, const std::string& name) {
  if (auto status = engine_.remove(name); !status.is_ok()) {
    return status_error(status, request.version());
  }
  return json_response(http::status::ok, request.version(), "{\"deleted\":true}");
}

Response DestinationHandler::message(const Request& request, const std::string& name,
                                     const std::string& id) {
  auto record = engine_.message(name, id);
  if (!record) return status_error(record.status(), request.version());
  if (!record->has_value()) {
    return json_error(http::status::not_found, request.version(), "not_found",
                      "destination '" + name + "' has no record of message '" + id +
                          "' (never selected for it, not attempted yet, or older than "
                          "[activation] delivery_history_days)");
  }
  return json_response(http::status::ok, request.version(),
                       activation::delivery_record_json(**record));
}

Response DestinationHandler::dead_letters(const Request& request, const std::string& name) {
  const auto after = number_parameter(request.target(), "after", 0);
  const auto limit = number_parameter(request.target(), "limit", 100);
  if (!after || !limit || *limit == 0 || *limit > 1000) {
    return json_error(http::status::bad_request, request.version(), "invalid_argument",
                      "after must be a dead letter id and limit 1 to 1000");
  }
  auto letters = engine_.dead_letters(name, *after, static_cast<size_t>(*limit));
  if (!letters) return status_error(letters.status(), request.version());
  std::string body = "{\"dead_letters\":[";
  for (size_t i = 0; i < letters->size(); ++i) {
    if (i > 0) body += ',';
    body += activation::outbox_entry_json((*letters)[i]);
  }
  body += "]";
  if (letters->size() == *limit) body += ",\"next\":" + std::to_string(letters->back().id);
  body += "}";
  return json_response(http::status::ok, request.version(), std::move(body));
}

Response DestinationHandler::replay(const Request& request, const std::string& name) {
  if (auto info = engine_.get(name); !info) return status_error(info.status(), request.version());
  std::vector<uint64_t> ids;
  if (!request.body().empty()) {
    ingest::JsonParser parser;
    auto body = parser.parse(request.body());
    const ingest::JsonValue* list = body && (*body)->is_object() ? (*body)->find("ids") : nullptr;
    if (list == nullptr || list->kind != ingest::JsonKind::kArray) {
      return json_error(http::status::bad_request, request.version(), "invalid_json",
                        "expected {\"ids\": [1, 2]} or no body (every dead letter)");
    }
    for (const auto* id : list->elements) {
      const auto n =
          id->kind == ingest::JsonKind::kNumber ? parse_number<uint64_t>(id->text) : std::nullopt;
      if (!n) {
        return json_error(http::status::bad_request, request.version(), "invalid_json",
                          "ids must be dead letter ids (whole numbers)");
      }
      ids.push_back(*n);
    }
    if (ids.empty()) {
      return json_response(http::status::ok, request.version(), "{\"replayed\":0}");
    }
  }
  auto replayed = engine_.replay_dead_letters(name, ids);
  if (!replayed) return status_error(replayed.status(), request.version());
  return json_response(http::status::ok, request.version(),
                       "{\"replayed\":" + std::to_string(*replayed) + "}");
}

Response DestinationHandler::test(const Request& request, const std::string& name) {
  const auto status = engine_.test_connection(name);
  if (status.code() == StatusCode::kNotFound) return status_error(status, request.version());
  JsonWriter out;
  out.begin_object();
  out.key("ok").boolean(status.is_ok());
  if (!status.is_ok()) out.key("error").string(status.message());
  out.end_object();
  return json_response(http::status::ok, request.version(), out.take());
}

Response DestinationHandler::sample(const Request& request, const std::string& name) {
  auto result = engine_.send_sample(name);
  if (!result) return status_error(result.status(), request.version());
  JsonWriter out;
  out.begin_object();
  out.key("delivered").boolean(result->outcome == activation::SendResult::Outcome::kDelivered);
  if (result->status != 0) out.key("status").number(static_cast<int64_t>(result->status));
  if (!result->error.empty()) out.key("error").string(result->error);
  out.key("body").string(to_valid_utf8(result->body));
  out.end_object();
  return json_response(http::status::ok, request.version(), out.take());
}

}  // namespace cdp::server

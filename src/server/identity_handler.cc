#include "server/identity_handler.h"

#include <algorithm>

#include "common/json_writer.h"
#include "common/time_format.h"
#include "common/uuid.h"
#include "ingest/json_tree.h"
#include "profile/profile_builder.h"
#include "profile/profile_store.h"
#include "server/admin_handler.h"
#include "server/profile_handler.h"

namespace cdp::server {
namespace {

constexpr std::string_view kProfilesPrefix = "/v1/profiles/";
constexpr std::string_view kUnmergeSuffix = "/unmerge";
constexpr std::string_view kUnmergesPath = "/v1/identity/unmerges";
// How long an unmerge request waits for the processor before answering 202.
constexpr auto kWaitForProcessor = std::chrono::seconds(10);

std::string status_of(const profile::UnmergeRecord& record) {
  if (!record.applied) return "refused";
  return record.active ? "active" : "reallowed";
}

}  // namespace

std::string unmerge_json(const profile::UnmergeRecord& record) {
  JsonWriter out;
  out.begin_object();
  out.key("id").number(static_cast<int64_t>(record.block.id));
  out.key("status").string(status_of(record));
  out.key("profile").string(profile::profile_id_text(record.profile));
  if (record.merged != 0) {
    out.key("merged").string(profile::profile_id_text(record.merged));
  } else {
    out.key("identifier").string(record.identifier);
  }
  out.key("requested_at").string(format_iso8601_ms(record.time_ms));
  if (!record.message.empty()) out.key("message").string(record.message);
  out.key("sides").begin_array();
  for (const auto& side : record.block.sides) {
    out.begin_array();
    for (const auto& identifier : side) out.string(identifier.display());
    out.end_array();
  }
  out.end_array();
  out.key("profiles").begin_array();
  for (const auto id : record.profiles) out.string(profile::profile_id_text(id));
  out.end_array();
  if (record.reallowed_seq != 0) {
    out.key("reallowed_by").number(static_cast<int64_t>(record.reallowed_seq));
  }
  out.end_object();
  return out.take();
}

bool IdentityHandler::handles(std::string_view path) {
  return (path.starts_with(kProfilesPrefix) && path.ends_with(kUnmergeSuffix)) ||
         path == kUnmergesPath ||
         (path.starts_with(kUnmergesPath) && path.substr(kUnmergesPath.size()).starts_with("/"));
}

void IdentityHandler::handle(const Request& request, Responder respond) {
  const unsigned version = request.version();
  if (!has_bearer_token(request, {deps_.admin_token})) {
    return respond(json_error(http::status::unauthorized, version, "invalid_admin_token",
                              "identity corrections need \"Authorization: Bearer <admin token>\""));
  }
  std::string_view path = request.target();
  path = path.substr(0, path.find('?'));
  if (path.starts_with(kProfilesPrefix)) {
    if (request.method() != http::verb::post) {
      return respond(json_error(http::status::method_not_allowed, version, "method_not_allowed",
                                "unmerge takes POST"));
    }
    const auto ref = path.substr(kProfilesPrefix.size(),
                                 path.size() - kProfilesPrefix.size() - kUnmergeSuffix.size());
    return unmerge(request, ref, std::move(respond));
  }
  if (path == kUnmergesPath) {
    if (request.method() != http::verb::get) {
      return respond(json_error(http::status::method_not_allowed, version, "method_not_allowed",
                                "list unmerges with GET"));
    }
    return respond(list(request));
  }
  const auto id = parse_number<uint64_t>(path.substr(kUnmergesPath.size() + 1));
  if (!id || *id == 0) {
    return respond(json_error(http::status::not_found, version, "unmerge_not_found",
                              "unmerge ids are numbers, as POST .../unmerge returned"));
  }
  if (request.method() == http::verb::get) return respond(show(request, *id));
  if (request.method() == http::verb::delete_) return reallow(request, *id, std::move(respond));
  respond(json_error(http::status::method_not_allowed, version, "method_not_allowed",
                     "GET an unmerge, or DELETE it to re-allow what it split"));
}

void IdentityHandler::unmerge(const Request& request, std::string_view ref_text,
                              Responder respond) {
  const unsigned version = request.version();
  auto refuse = [&](http::status status, std::string_view code, std::string message) {
    respond(json_error(status, version, code, message));
  };
  ingest::JsonParser parser;
  auto body = parser.parse(request.body());
  if (!body || !(*body)->is_object()) {
    return refuse(http::status::bad_request, "invalid_json",
                  "the body must be a JSON object: {\"identifier\":\"email:...\"} or "
                  "{\"merged\":\"p_7\"}" +
                      (body ? std::string() : " (" + body.status().message() + ")"));
  }
  const auto* identifier_value = (*body)->find("identifier");
  const auto* merged_value = (*body)->find("merged");
  if ((identifier_value == nullptr) == (merged_value == nullptr) ||
      (identifier_value != nullptr && !identifier_value->is_string()) ||
      (merged_value != nullptr && !merged_value->is_string())) {
    return refuse(http::status::bad_request, "invalid_argument",
                  "give exactly one of \"identifier\" (type:value, to remove it from the profile) "
                  "or \"merged\" (a profile id from the profile's merges, to split it off)");
  }

  rocksdb::ManagedSnapshot snapshot(&deps_.database.db());
  profile::ProfileStore store(deps_.database, snapshot.snapshot());
  auto resolved = lookup_profile(store, normalizer_, ref_text, version);
  if (auto* answer = std::get_if<Response>(&resolved)) return respond(std::move(*answer));
  auto& lookup = std::get<ProfileLookup>(resolved);
  if (!lookup.profile) {
    return refuse(http::status::not_found, "profile_not_found", "no profile has " + lookup.ref);
  }
  auto& profile = *lookup.profile;
  const auto id_text = profile::profile_id_text(profile.id);
  if (profile.event_count > profile::kMaxUnmergeEvents) {
    return refuse(http::status::conflict, "too_large",
                  id_text + " has " + std::to_string(profile.event_count) +
                      " events; an unmerge re-applies at most " +
                      std::to_string(profile::kMaxUnmergeEvents));
  }

  JsonWriter command;
  command.begin_object();
  command.key("type").string("unmerge");
  command.key("messageId").string(new_uuid_v4());
  command.key("profile").string(id_text);
  if (identifier_value != nullptr) {
    auto identifier = identity::parse_identifier(identifier_value->text);
    if (!identifier) {
      return refuse(http::status::bad_request, "invalid_argument", identifier.status().message());
    }
    auto value = normalizer_.normalize(identifier->type, identifier->value);
    if (!value) {
      return refuse(http::status::bad_request, "invalid_argument",
                    "\"" + identifier->value + "\" is not a usable " + identifier->type + " value");
    }
    identifier->value = std::move(*value);
    if (profile.find_identifier(*identifier) == nullptr) {
      return refuse(http::status::conflict, "not_on_profile",
                    id_text + " does not hold " + identifier->display() + " (GET /v1/profiles/" +
                        id_text + "/identifiers lists what it holds)");
    }
    if (profile.identifiers.size() < 2) {
      return refuse(http::status::conflict, "nothing_to_split",
                    identifier->display() + " is the only identifier of " + id_text);
    }
    command.key("identifier").string(identifier->display());
  } else {
    const auto merged = profile::parse_profile_id(merged_value->text);
    if (!merged || std::find(profile.merged_from.begin(), profile.merged_from.end(), *merged) ==
                       profile.merged_from.end()) {
      return refuse(http::status::conflict, "not_merged",
                    std::string(merged_value->text) + " was not merged into " + id_text +
                        " (GET /v1/profiles/" + id_text + "/merges lists its merges)");
    }
    // Anchors: an identifier of the profile and one the merged profile brought. The processor
    // finds the profile by the first and checks the merge by the second, so a replay under other
    // rules (other profile ids) splits the same people or refuses.
    auto edges = store.edges(profile);
    if (!edges) return respond(storage_error(version, edges.status()));
    std::string merged_anchor;
    for (const auto& edge : *edges) {
      if (edge.kind == profile::EdgeKind::kLink && edge.profile == *merged &&
          !edge.identifiers.empty()) {
        merged_anchor = edge.identifiers.front();
        break;
      }
    }
    command.key("merged").string(profile::profile_id_text(*merged));
    if (!merged_anchor.empty()) command.key("merged_anchor").string(merged_anchor);
    if (!profile.identifiers.empty()) {
      command.key("anchor").string(profile.identifiers.front().identifier.display());
    }
  }
  command.end_object();
  submit(version, command.take(), 0, std::move(respond));
}

void IdentityHandler::reallow(const Request& request, uint64_t id, Responder respond) {
  const unsigned version = request.version();
  auto stored = deps_.database.get_meta(profile::unmerge_key(id));
  if (!stored) return respond(storage_error(version, stored.status()));
  if (!stored->has_value()) {
    return respond(json_error(http::status::not_found, version, "unmerge_not_found",
                              "no unmerge " + std::to_string(id)));
  }
  auto record = profile::decode_unmerge(**stored);
  if (!record) return respond(storage_error(version, record.status()));
  if (!record->active) {
    return respond(json_error(
        http::status::conflict, version, "not_active",
        "unmerge " + std::to_string(id) + " is " + status_of(*record) + ": it blocks nothing"));
  }
  JsonWriter command;
  command.begin_object();
  command.key("type").string("reallow");
  command.key("messageId").string(new_uuid_v4());
  command.key("unmerge").number(static_cast<int64_t>(id));
  command.end_object();
  submit(version, command.take(), id, std::move(respond));
}

void IdentityHandler::submit(unsigned version, std::string command, uint64_t id,
                             Responder respond) {
  storage::AppendRequest append{std::string(storage::kAdminSource), deps_.clock.now_ms(), {}};
  append.events.push_back({new_uuid_v4(), std::move(command)});
  auto& database = deps_.database;
  auto& processor = deps_.processor;
  auto status = deps_.writer.submit(std::move(append), [&database, &processor, version, id,
                                                        respond](storage::AppendOutcome done) {
    if (!done.status.is_ok() || done.seqs.empty()) {
      const auto why =
          done.status.is_ok() ? std::string("the command was not stored") : done.status.message();
      return respond(json_error(http::status::service_unavailable, version, "storage_error",
                                why + "; retry later"));
    }
    const uint64_t seq = done.seqs.front();
    const uint64_t shown = id != 0 ? id : seq;
    processor.when_applied(
        seq, std::chrono::steady_clock::now() + kWaitForProcessor,
        [&database, version, shown, respond](bool applied) {
          if (!applied) {
            return respond(
                json_response(http::status::accepted, version,
                              "{\"id\":" + std::to_string(shown) + ",\"status\":\"pending\"}"));
          }
          auto stored = database.get_meta(profile::unmerge_key(shown));
          if (!stored || !stored->has_value()) {
            return respond(json_error(http::status::internal_server_error, version, "corrupt_state",
                                      "the unmerge was applied but left no "
                                      "record; the server log has details"));
          }
          auto record = profile::decode_unmerge(**stored);
          if (!record) return respond(storage_error(version, record.status()));
          if (!record->applied) {
            return respond(
                json_error(http::status::conflict, version, "unmerge_refused", record->message));
          }
          respond(json_response(http::status::ok, version, unmerge_json(*record)));
        });
  });
  if (!status.is_ok()) {
    respond(json_error(http::status::service_unavailable, version, "storage_error",
                       status.message() + "; retry later"));
  }
}

Response IdentityHandler::list(const Request& request) {
  auto stored = deps_.database.scan_meta(std::string(profile::kUnmergePrefix));
  if (!stored) return storage_error(request.version(), stored.status());
  std::string body = "{\"unmerges\":[";
  bool first = true;
  for (auto it = stored->rbegin(); it != stored->rend(); ++it) {
    auto record = profile::decode_unmerge(it->second);
    if (!record) return storage_error(request.version(), record.status());
    if (!first) body.push_back(',');
    first = false;
    body += unmerge_json(*record);
  }
  body += "]}";
  return json_response(http::status::ok, request.version(), std::move(body));
}

Response IdentityHandler::show(const Request& request, uint64_t id) {
  auto stored = deps_.database.get_meta(profile::unmerge_key(id));
  if (!stored) return storage_error(request.version(), stored.status());
  if (!stored->has_value()) {
    return json_error(http::status::not_found, request.version(), "unmerge_not_found",
                      "no unmerge " + std::to_string(id) +
                          " (a pending one appears once the processor applies it)");
  }
  auto record = profile::decode_unmerge(**stored);
  if (!record) return storage_error(request.version(), record.status());
  return json_response(http::status::ok, request.version(), unmerge_json(*record));
}

}  // namespace cdp::server

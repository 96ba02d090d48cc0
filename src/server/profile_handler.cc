#include "server/profile_handler.h"

#include <charconv>

#include "audience/engine.h"
#include "common/clock.h"
#include "common/json_writer.h"
#include "common/time_format.h"
#include "server/admin_handler.h"
#include "storage/big_endian.h"
#include "storage/raw_log_record.h"

namespace cdp::server {
namespace {

constexpr std::string_view kProfilesPrefix = "/v1/profiles/";
constexpr std::string_view kAccountsPrefix = "/v1/accounts/";
constexpr std::string_view kQuarantinePath = "/v1/identity/quarantine";
constexpr size_t kMaxEventsPerPage = 200;

void write_trait_values(JsonWriter& out,
                        const std::map<std::string, profile::Trait, std::less<>>& traits) {
  out.begin_object();
  for (const auto& [name, trait] : traits) out.key(name).raw(trait.json);
  out.end_object();
}

void write_identifiers(JsonWriter& out, const profile::Profile& profile, bool detailed) {
  out.begin_array();
  for (const auto& held : profile.identifiers) {
    out.begin_object();
    out.key("type").string(held.identifier.type);
    out.key("value").string(held.identifier.value);
    out.key("first_seen").string(format_iso8601_ms(held.first_seen_ms));
    out.key("last_seen").string(format_iso8601_ms(held.last_seen_ms));
    if (detailed) out.key("message_id").string(held.message_id);
    out.end_object();
  }
  out.end_array();
}

}  // namespace

Response storage_error(unsigned version, const Status& status) {
  if (status.code() == StatusCode::kCorruption) {
    return json_error(http::status::internal_server_error, version, "corrupt_state",
                      status.message() + "; the server log has details");
  }
  return json_error(http::status::service_unavailable, version, "storage_error",
                    status.message() + "; retry later");
}

std::variant<ProfileLookup, Response> lookup_profile(
    profile::ProfileStore& store, const identity::IdentifierNormalizer& normalizer,
    std::string_view ref_text, unsigned version) {
  auto ref = percent_decode(ref_text);
  if (!ref || ref->empty()) {
    return json_error(http::status::bad_request, version, "invalid_profile_ref",
                      "the profile reference is not valid percent-encoding");
  }
  ProfileLookup lookup;
  lookup.ref = std::move(*ref);
  std::string_view id_text = lookup.ref;
  const bool explicit_id = id_text.starts_with("profile_id:");
  if (explicit_id) id_text.remove_prefix(11);
  lookup.requested = profile::parse_profile_id(id_text);
  if (explicit_id && !lookup.requested) {
    return json_error(http::status::bad_request, version, "invalid_profile_ref",
                      "\"" + std::string(id_text) + "\" is not a profile id such as p_42");
  }
  if (lookup.requested) {
    auto live = store.live(*lookup.requested);
    if (!live) return storage_error(version, live.status());
    lookup.profile = std::move(*live);
    return lookup;
  }
  auto identifier = identity::parse_identifier(lookup.ref);
  if (!identifier) {
    return json_error(http::status::bad_request, version, "invalid_profile_ref",
                      identifier.status().message() + ", or a profile id such as p_42");
  }
  auto normalized = normalizer.normalize(identifier->type, identifier->value);
  if (!normalized) {
    return json_error(
        http::status::bad_request, version, "invalid_profile_ref",
        "\"" + identifier->value + "\" is not a usable " + identifier->type + " value");
  }
  identifier->value = std::move(*normalized);
  auto holder = store.find(*identifier);
  if (!holder) return storage_error(version, holder.status());
  lookup.profile = std::move(*holder);
  return lookup;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
    if (ec != std::errc() || end != text.data() + i + 3) return std::nullopt;
    out.push_back(static_cast<char>(value));
    i += 2;
  }
  return out;
}

bool ProfileHandler::handles(std::string_view path) {
  return path.starts_with(kProfilesPrefix) || path.starts_with(kAccountsPrefix) ||
         path == kQuarantinePath;
}

Response ProfileHandler::handle(const Request& request) {
  const unsigned version = request.version();
  if (!has_bearer_token(request, {admin_token_, read_token_})) {
    return json_error(http::status::unauthorized, version, "invalid_token",
                      "the Profile API needs \"Authorization: Bearer <read or admin token>\" "
                      "(see [server] read_token; write keys cannot read profiles)");
  }
  if (request.method() != http::verb::get) {
    return json_error(http::status::method_not_allowed, version, "method_not_allowed",
                      "the Profile API is read-only: use GET");
  }
  std::string_view path = request.target();
  path = path.substr(0, path.find('?'));
  rocksdb::ManagedSnapshot snapshot(&database_.db());
  profile::ProfileStore store(database_, snapshot.snapshot());
  if (path == kQuarantinePath) return quarantine(request, store);
  if (path.starts_with(kAccountsPrefix))
    return account(request, store, path.substr(kAccountsPrefix.size()));
  auto rest = path.substr(kProfilesPrefix.size());
  std::string_view sub;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    sub = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  return profile(request, store, rest, sub);
}

Response ProfileHandler::profile(const Request& request, profile::ProfileStore& store,
                                 std::string_view ref_text, std::string_view sub) {
  const unsigned version = request.version();
  if (!sub.empty() && sub != "traits" && sub != "identifiers" && sub != "events" &&
      sub != "merges") {
    return json_error(http::status::not_found, version, "not_found",
                      "unknown profile resource \"" + std::string(sub) +
                          "\"; use traits, identifiers, events or merges");
  }
  auto resolved = lookup_profile(store, normalizer_, ref_text, version);
  if (auto* answer = std::get_if<Response>(&resolved)) return std::move(*answer);
  auto& lookup = std::get<ProfileLookup>(resolved);
  if (lookup.requested && lookup.profile && lookup.profile->id != *lookup.requested) {
    // A merged-away id: send clients to the survivor, keeping the sub-resource and query.
    const auto survivor = profile::profile_id_text(lookup.profile->id);
    std::string location = std::string(kProfilesPrefix) + survivor;
    if (!sub.empty()) location += "/" + std::string(sub);
    const std::string_view target = request.target();
    if (const auto query = target.find('?'); query != std::string_view::npos) {
      location += std::string(target.substr(query));
    }
    auto response = json_error(
        http::status::permanent_redirect, version, "merged",
        "profile " + profile::profile_id_text(*lookup.requested) + " was merged into " + survivor);
    response.set(http::field::location, location);
    return response;
  }
  if (!lookup.profile) {
    return json_error(http::status::not_found, version, "profile_not_found",
                      "no profile has " + lookup.ref +
                          " (events are applied within moments of "
                          "arriving; check the identifier's type and spelling)");
  }
  const auto& profile = *lookup.profile;
  if (sub == "events") return events(request, store, profile);

  JsonWriter out;
  out.begin_object();
  out.key("id").string(profile::profile_id_text(profile.id));
  if (sub.empty()) {
    out.key("traits");
    write_trait_values(out, profile.traits);
    out.key("identifiers");
    write_identifiers(out, profile, false);
    out.key("first_seen").string(format_iso8601_ms(profile.first_seen_ms));
    out.key("last_seen").string(format_iso8601_ms(profile.last_seen_ms));
    out.key("event_count").number(static_cast<int64_t>(profile.event_count));
    out.key("merged_from").begin_array();
    for (auto merged : profile.merged_from) out.string(profile::profile_id_text(merged));
    out.end_array();
    out.key("groups").begin_array();
    for (const auto& group : profile.groups) out.string(group);
    out.end_array();
    // Computed traits as of now (windows keep moving between events); memberships as the
    // processor last evaluated them.
    out.key("computed_traits").begin_object();
    if (definitions_) {
      const audience::Engine engine(definitions_());
      for (const auto& [name, value] :
           engine.computed_values(profile.audience, SystemClock::instance().now_ms())) {
        out.key(name);
        value.write(out);
      }
    }
    out.end_object();
    out.key("audiences").begin_array();
    for (const auto& [name, since] : profile.audience.audiences) {
      out.begin_object().key("name").string(name);
      out.key("entered_at").string(format_iso8601_ms(since)).end_object();
    }
    out.end_array();
  } else if (sub == "traits") {
    out.key("traits").begin_object();
    for (const auto& [name, trait] : profile.traits) {
      out.key(name).begin_object();
      out.key("value").raw(trait.json);
      out.key("source").string(trait.source);
      out.key("timestamp").string(format_iso8601_ms(trait.timestamp_ms));
      out.key("message_id").string(trait.message_id);
      out.end_object();
    }
    out.end_object();
  } else if (sub == "identifiers") {
    out.key("identifiers");
    write_identifiers(out, profile, true);
  } else {  // merges
    auto edges = store.edges(profile);
    if (!edges) return storage_error(version, edges.status());
    out.key("edges").begin_array();
    for (const auto& edge : *edges) {
      out.begin_object();
      out.key("kind").string(profile::edge_kind_name(edge.kind));
      out.key("rule").string(edge.rule);
      out.key("profile").string(profile::profile_id_text(edge.profile));
      if (edge.other_profile != 0) {
        out.key("other_profile").string(profile::profile_id_text(edge.other_profile));
      }
      out.key("identifiers").begin_array();
      for (const auto& id_text_item : edge.identifiers) out.string(id_text_item);
      out.end_array();
      out.key("message_id").string(edge.message_id);
      out.key("seq").number(static_cast<int64_t>(edge.seq));
      out.key("time").string(format_iso8601_ms(edge.time_ms));
      if (edge.kind == profile::EdgeKind::kProbabilistic) {
        out.key("score").number(edge.score);
        if (!edge.explanation.empty()) out.key("explanation").raw(edge.explanation);
      }
      out.end_object();
    }
    out.end_array();
  }
  out.end_object();
  return json_response(http::status::ok, version, out.take());
}

Response ProfileHandler::events(const Request& request, profile::ProfileStore& store,
                                const profile::Profile& profile) {
  const unsigned version = request.version();
  const auto target = request.target();
  profile::ProfileStore::TimelineQuery query;
  auto bad = [&](std::string message) {
    return json_error(http::status::bad_request, version, "invalid_argument", std::move(message));
  };
  if (const auto limit = query_parameter(target, "limit"); !limit.empty()) {
    const auto value = parse_number<int64_t>(limit);
    if (!value || *value < 1 || *value > static_cast<int64_t>(kMaxEventsPerPage)) {
      return bad("limit must be between 1 and " + std::to_string(kMaxEventsPerPage));
    }
    query.limit = static_cast<size_t>(*value);
  }
  if (const auto cursor = query_parameter(target, "cursor"); !cursor.empty()) {
    const auto dot = cursor.find('.');
    const auto time =
        dot == std::string_view::npos ? std::nullopt : parse_number<int64_t>(cursor.substr(0, dot));
    const auto seq = dot == std::string_view::npos ? std::nullopt
                                                   : parse_number<int64_t>(cursor.substr(dot + 1));
    if (!time || !seq || *seq < 0) return bad("cursor is not one this API returned (next_cursor)");
    query.before = {{*time, static_cast<uint64_t>(*seq)}};
  }
  for (auto [name, bound] : {std::pair{"from", &query.from_ms}, std::pair{"to", &query.to_ms}}) {
    if (const auto text = query_parameter(target, name); !text.empty()) {
      const auto decoded = percent_decode(text);
      const auto parsed = decoded ? parse_iso8601_ms(*decoded) : std::nullopt;
      if (!parsed)
        return bad(std::string(name) + " must be an ISO-8601 time such as 2024-05-01T00:00:00Z");
      *bound = *parsed;
    }
  }
  if (const auto event = query_parameter(target, "event"); !event.empty()) {
    auto decoded = percent_decode(event);
    if (!decoded) return bad("event is not valid percent-encoding");
    query.event = std::move(*decoded);
  }
  if (const auto type = query_parameter(target, "type"); !type.empty())
    query.type = std::string(type);

  auto entries = store.timeline(profile, query);
  if (!entries) return storage_error(version, entries.status());
  JsonWriter out;
  out.begin_object();
  out.key("id").string(profile::profile_id_text(profile.id));
  out.key("events").begin_array();
  for (const auto& entry : *entries) {
    out.begin_object();
    out.key("seq").number(static_cast<int64_t>(entry.seq));
    out.key("timestamp").string(format_iso8601_ms(entry.timestamp_ms));
    out.key("type").string(entry.type);
    if (!entry.event.empty()) out.key("event").string(entry.event);
    std::string value;
    auto status = database_.db().Get(rocksdb::ReadOptions(), database_.raw_log(),
                                     storage::u64_be(entry.seq), &value);
    if (status.ok()) {
      if (auto record = storage::RawLogRecord::decode(entry.seq, value)) {
        out.key("source").string(record->source);
        out.key("data").raw(record->event_json);
      }
    }  // else: removed by retention; the timeline entry remains
    out.end_object();
  }
  out.end_array();
  out.key("next_cursor");
  if (entries->size() == query.limit) {
    const auto& last = entries->back();
    out.string(std::to_string(last.timestamp_ms) + "." + std::to_string(last.seq));
  } else {
    out.null();
  }
  out.end_object();
  return json_response(http::status::ok, version, out.take());
}

Response ProfileHandler::account(const Request& request, profile::ProfileStore& store,
                                 std::string_view group_id_text) {
  const unsigned version = request.version();
  auto group_id = percent_decode(group_id_text);
  if (!group_id || group_id->empty()) {
    return json_error(http::status::bad_request, version, "invalid_group_id",
                      "the group id is empty or not valid percent-encoding");
  }
  auto account = store.account(*group_id);
  if (!account) return storage_error(version, account.status());
  if (!account->has_value()) {
    return json_error(http::status::not_found, version, "account_not_found",
                      "no group call has had groupId \"" + *group_id + "\"");
  }
  JsonWriter out;
  out.begin_object();
  out.key("group_id").string((*account)->group_id);
  out.key("traits");
  write_trait_values(out, (*account)->traits);
  out.key("first_seen").string(format_iso8601_ms((*account)->first_seen_ms));
  out.key("last_seen").string(format_iso8601_ms((*account)->last_seen_ms));
  out.end_object();
  return json_response(http::status::ok, version, out.take());
}

Response ProfileHandler::quarantine(const Request& request, profile::ProfileStore& store) {
  auto entries = store.quarantined(1000);
  if (!entries) return storage_error(request.version(), entries.status());
  JsonWriter out;
  out.begin_object();
  out.key("identifiers").begin_array();
  for (const auto& entry : *entries) {
    out.begin_object();
    out.key("type").string(entry.identifier.type);
    out.key("value").string(entry.identifier.value);
    // The profile it was on then may have been merged since.
    std::string profile_text = entry.profile;
    if (auto id = profile::parse_profile_id(entry.profile)) {
      if (auto live = store.live(*id); live && live->has_value()) {
        profile_text = profile::profile_id_text((*live)->id);
      }
    }
    out.key("profile").string(profile_text);
    out.end_object();
  }
  out.end_array();
  out.end_object();
  return json_response(http::status::ok, request.version(), out.take());
}

}  // namespace cdp::server

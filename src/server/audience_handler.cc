#include "server/audience_handler.h"

#include <limits>
#include <set>

#include "audience/condition_text.h"
#include "audience/definitions.h"
#include "audience/engine.h"
#include "common/json_writer.h"
#include "common/log.h"
#include "common/time_format.h"
#include "common/uuid.h"
#include "profile/audience_history.h"
#include "profile/audience_preview.h"
#include "profile/audience_records.h"
#include "profile/profile.h"
#include "server/admin_handler.h"
#include "server/profile_handler.h"
#include "storage/big_endian.h"

namespace cdp::server {
namespace {

constexpr const char* kBusy =
    "too many previews and history queries are waiting, or the "
    "server is stopping; try again shortly";

constexpr std::string_view kAudiences = "/admin/v1/audiences";
constexpr std::string_view kTraits = "/admin/v1/computed-traits";
constexpr std::string_view kChanges = "/admin/v1/changes";
constexpr std::string_view kMembers = "/v1/audiences/";
// A definition brings every profile up to date before it is answered; past this, 202.
constexpr auto kWaitForProcessor = std::chrono::seconds(20);

// Closes a page's array and object with its "next" cursor (null on the last page) and answers it.
Response page_response(JsonWriter& out, unsigned version, const std::optional<std::string>& next) {
  out.end_array().key("next");
  if (next) {
    out.string(*next);
  } else {
    out.null();
  }
  out.end_object();
  return json_response(http::status::ok, version, out.take());
}

// The `limit` query parameter of a page: 1 to 10,000, 100 when absent; nullopt when invalid.
std::optional<size_t> page_limit(std::string_view target) {
  const auto limit = number_parameter(target, "limit", 100);
  if (!limit || *limit == 0 || *limit > 10'000) return std::nullopt;
  return static_cast<size_t>(*limit);
}

size_t count_members(storage::Database& database, const std::string& name) {
  size_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      database.db().NewIterator(rocksdb::ReadOptions(), database.audiences()));
  const auto prefix = profile::member_prefix(name);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++n;
  return n;
}

// With its size when `database` is given (a scan of its members: not on the processor thread).
std::string audience_json(storage::Database* database, const audience::AudienceDefinition& a) {
  JsonWriter out;
  audience::write_audience(out, a, true);
  std::string json = out.take();
  if (database == nullptr) return json;
  json.pop_back();
  return json + ",\"size\":" + std::to_string(count_members(*database, a.name)) + "}";
}

std::string trait_json(const audience::ComputedTraitDefinition& t) {
  JsonWriter out;
  audience::write_computed_trait(out, t);
  return out.take();
}

}  // namespace

bool AudienceHandler::handles(std::string_view path) {
  return path == kAudiences || path.starts_with(std::string(kAudiences) + "/") || path == kTraits ||
         path.starts_with(std::string(kTraits) + "/") || path == kChanges ||
         path.starts_with(kMembers);
}

void AudienceHandler::handle(const Request& request, Responder respond) {
  const unsigned version = request.version();
  std::string_view path = request.target();
  path = path.substr(0, path.find('?'));
  if (path.starts_with(kMembers)) {
    if (!has_bearer_token(request, {deps_.admin_token, deps_.read_token})) {
      return respond(json_error(http::status::unauthorized, version, "invalid_token",
                                "audience members need \"Authorization: Bearer <read token>\""));
    }
    auto rest = path.substr(kMembers.size());
    const auto slash = rest.find('/');
    const auto what = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    if (what != "/members" && what != "/sizes" && what != "/changes") {
      return respond(json_error(http::status::not_found, version, "not_found",
                                "use GET /v1/audiences/{name}/members, .../sizes or .../changes"));
    }
    const auto name = percent_decode(rest.substr(0, slash));
    if (!name) {
      return respond(json_error(http::status::bad_request, version, "invalid_argument",
                                "the audience name has a bad %-escape"));
    }
    if (request.method() != http::verb::get) {
      return respond(
          json_error(http::status::method_not_allowed, version, "method_not_allowed", "use GET"));
    }
    if (deps_.processor.definitions()->audience(*name) == nullptr) {
      return respond(json_error(http::status::not_found, version, "not_found",
                                "no audience named '" + *name + "'"));
    }
    if (what == "/sizes") {
      return slow_.answer(
          request, std::move(respond),
          [this, name = *name](const Request& r) { return sizes(r, name); }, kBusy);
    }
    if (what == "/changes") return respond(history(request, *name));
    if (const auto at = query_parameter(request.target(), "at"); !at.empty()) {
      const auto at_ms = parse_iso8601_ms(percent_decode(at).value_or(""));
      if (!at_ms) {
        return respond(json_error(http::status::bad_request, version, "invalid_argument",
                                  "at must be an ISO 8601 time, e.g. 2024-05-01T12:00:00Z"));
      }
      return slow_.answer(
          request, std::move(respond),
          [this, name = *name, at = *at_ms](const Request& r) { return members_at(r, name, at); },
          kBusy);
    }
    return respond(members(request, *name));
  }
  if (!has_bearer_token(request, {deps_.admin_token})) {
    return respond(json_error(http::status::unauthorized, version, "invalid_admin_token",
                              "audiences and computed traits need \"Authorization: Bearer "
                              "<admin token>\""));
  }
  if (path == kChanges) {
    if (request.method() != http::verb::get) {
      return respond(
          json_error(http::status::method_not_allowed, version, "method_not_allowed", "use GET"));
    }
    return respond(changes(request));
  }
  if (path == std::string(kAudiences) + "/preview" && request.method() == http::verb::post) {
    return slow_.answer(
        request, std::move(respond), [this](const Request& r) { return preview(r); }, kBusy);
  }
  const bool trait = path.starts_with(kTraits);
  const auto base = trait ? kTraits : kAudiences;
  if (path == base) {
    if (request.method() != http::verb::get) {
      return respond(json_error(http::status::method_not_allowed, version, "method_not_allowed",
                                "use GET to list, PUT " + std::string(base) + "/{name} to define"));
    }
    return respond(list(request, trait));
  }
  const auto name = percent_decode(path.substr(base.size() + 1));
  if (!name || name->empty() || name->find('/') != std::string::npos) {
    return respond(json_error(http::status::bad_request, version, "invalid_argument",
                              "expected " + std::string(base) + "/{name} (%-encoded)"));
  }
  switch (request.method()) {
    case http::verb::get: return respond(show(request, trait, *name));
    case http::verb::put: return define(request, trait, *name, std::move(respond));
    case http::verb::delete_: return remove(request, trait, *name, std::move(respond));
    default:
      return respond(json_error(http::status::method_not_allowed, version, "method_not_allowed",
                                "use GET, PUT or DELETE"));
  }
}

void AudienceHandler::define(const Request& request, bool trait, const std::string& name,
                             Responder respond) {
  const unsigned version = request.version();
  ingest::JsonParser parser;
  auto body = parser.parse(request.body());
  if (!body || !(*body)->is_object()) {
    return respond(json_error(http::status::bad_request, version, "invalid_json",
                              "the body must be a JSON object: " +
                                  (body ? std::string("not an object") : body.status().message())));
  }
  const auto current = deps_.processor.definitions();
  auto traits = current->computed_traits();
  std::vector<audience::AudienceDefinition> audiences;
  for (const auto& compiled : current->audiences()) audiences.push_back(compiled.definition);
  JsonWriter stored;
  if (trait) {
    auto definition = audience::parse_computed_trait(name, **body);
    if (!definition) {
      return respond(json_error(http::status::bad_request, version, "invalid_definition",
                                definition.status().message()));
    }
    std::erase_if(traits, [&](const auto& t) { return t.name == name; });
    audience::write_computed_trait(stored, *definition);
    traits.push_back(std::move(*definition));
  } else {
    auto definition = audience::parse_audience(name, **body);
    if (!definition) {
      return respond(json_error(http::status::bad_request, version, "invalid_definition",
                                definition.status().message()));
    }
    std::erase_if(audiences, [&](const auto& a) { return a.name == name; });
    audience::write_audience(stored, *definition, false);
    audiences.push_back(std::move(*definition));
  }
  auto compiled = audience::Definitions::compile(std::move(traits), std::move(audiences));
  if (!compiled) {
    return respond(json_error(http::status::bad_request, version, "invalid_definition",
                              compiled.status().message()));
  }
  JsonWriter command;
  command.begin_object();
  command.key("type").string(trait ? "define_trait" : "define_audience");
  command.key("messageId").string(new_uuid_v4());
  command.key("name").string(name);
  command.key("definition").raw(stored.str());
  command.end_object();
  submit(request, command.take(), trait, name, false, std::move(respond));
}

void AudienceHandler::remove(const Request& request, bool trait, const std::string& name,
                             Responder respond) {
  const unsigned version = request.version();
  const auto current = deps_.processor.definitions();
  if (trait ? current->computed_trait(name) == nullptr : current->audience(name) == nullptr) {
    return respond(json_error(
        http::status::not_found, version, "not_found",
        std::string(trait ? "no computed trait" : "no audience") + " named '" + name + "'"));
  }
  auto traits = current->computed_traits();
  std::vector<audience::AudienceDefinition> audiences;
  for (const auto& compiled : current->audiences()) audiences.push_back(compiled.definition);
  std::erase_if(traits, [&](const auto& t) { return trait && t.name == name; });
  std::erase_if(audiences, [&](const auto& a) { return !trait && a.name == name; });
  auto compiled = audience::Definitions::compile(std::move(traits), std::move(audiences));
  if (!compiled) {
    return respond(json_error(http::status::conflict, version, "in_use",
                              "'" + name + "' is still used: " + compiled.status().message()));
  }
  JsonWriter command;
  command.begin_object();
  command.key("type").string(trait ? "delete_trait" : "delete_audience");
  command.key("messageId").string(new_uuid_v4());
  command.key("name").string(name);
  command.end_object();
  submit(request, command.take(), trait, name, true, std::move(respond));
}

void AudienceHandler::submit(const Request& request, std::string command, bool trait,
                             const std::string& name, bool deleting, Responder respond) {
  const unsigned version = request.version();
  storage::AppendRequest append{std::string(storage::kAdminSource), deps_.clock.now_ms(), {}};
  append.events.push_back({new_uuid_v4(), std::move(command)});
  auto status = deps_.writer.submit(std::move(append), [this, version, trait, name, deleting,
                                                        respond](storage::AppendOutcome done) {
    if (!done.status.is_ok() || done.seqs.empty() || done.seqs.front() == 0) {
      return respond(json_error(http::status::service_unavailable, version, "storage_error",
                                (done.status.is_ok() ? std::string("the definition was not stored")
                                                     : done.status.message()) +
                                    "; retry later"));
    }
    deps_.processor.when_applied(
        done.seqs.front(), std::chrono::steady_clock::now() + kWaitForProcessor,
        [this, version, trait, name, deleting, respond](bool applied) {
          if (!applied) {
            return respond(json_response(
                http::status::accepted, version, R"({"status":"pending","name":)" + [&] {
                  std::string quoted;
                  append_json_string(quoted, name);
                  return quoted;
                }() + "}"));
          }
          if (deleting) return respond(Response{http::status::no_content, version});
          const auto definitions = deps_.processor.definitions();
          if (trait) {
            if (const auto* t = definitions->computed_trait(name)) {
              return respond(json_response(http::status::ok, version, trait_json(*t)));
            }
          } else if (const auto* a = definitions->audience(name)) {
            // This runs on the processor thread: no member count here (GET has it).
            return respond(json_response(http::status::ok, version, audience_json(nullptr, *a)));
          }
          respond(json_error(http::status::conflict, version, "not_applied",
                             "another change came first and this definition no longer fits "
                             "(the server log says why); check the definitions and retry"));
        });
  });
  if (!status.is_ok()) {
    respond(json_error(http::status::service_unavailable, version, "storage_error",
                       status.message() + "; retry later"));
  }
}

Response AudienceHandler::show(const Request& request, bool trait, const std::string& name) {
  // A definition being applied answers with its progress until it is done.
  if (const auto progress = deps_.processor.definition_progress();
      progress.name == (trait ? "trait " : "audience ") + name) {
    JsonWriter out;
    out.begin_object().key("name").string(name).key("status").string("applying");
    out.key("profiles_done").number(static_cast<int64_t>(progress.done));
    out.key("profiles_total").number(static_cast<int64_t>(progress.total)).end_object();
    return json_response(http::status::accepted, request.version(), out.take());
  }
  const auto definitions = deps_.processor.definitions();
  if (trait) {
    if (const auto* t = definitions->computed_trait(name)) {
      return json_response(http::status::ok, request.version(), trait_json(*t));
    }
  } else if (const auto* a = definitions->audience(name)) {
    return json_response(http::status::ok, request.version(), audience_json(&deps_.database, *a));
  }
  return json_error(
      http::status::not_found, request.version(), "not_found",
      std::string(trait ? "no computed trait" : "no audience") + " named '" + name + "'");
}

Response AudienceHandler::list(const Request& request, bool trait) {
  const auto definitions = deps_.processor.definitions();
  std::string body = trait ? "{\"computed_traits\":[" : "{\"audiences\":[";
  bool first = true;
  if (trait) {
    std::vector<const audience::ComputedTraitDefinition*> sorted;
    for (const auto& t : definitions->computed_traits()) sorted.push_back(&t);
    std::sort(sorted.begin(), sorted.end(), [](auto* x, auto* y) { return x->name < y->name; });
    for (const auto* t : sorted) {
      body += (first ? "" : ",") + trait_json(*t);
      first = false;
    }
  } else {
    // Alphabetical, not the dependency order the processor keeps.
    std::vector<const audience::AudienceDefinition*> sorted;
    for (const auto& a : definitions->audiences()) sorted.push_back(&a.definition);
    std::sort(sorted.begin(), sorted.end(), [](auto* x, auto* y) { return x->name < y->name; });
    for (const auto* a : sorted) {
      body += (first ? "" : ",") + audience_json(&deps_.database, *a);
      first = false;
    }
  }
  return json_response(http::status::ok, request.version(), body + "]}");
}

Response AudienceHandler::members(const Request& request, const std::string& name) {
  const unsigned version = request.version();
  const auto limit = page_limit(request.target());
  if (!limit) {
    return json_error(http::status::bad_request, version, "invalid_argument",
                      "limit must be 1 to 10000");
  }
  const auto prefix = profile::member_prefix(name);
  std::string start = prefix;
  if (const auto after = query_parameter(request.target(), "after"); !after.empty()) {
    const auto id = profile::parse_profile_id(after);
    if (!id) {
      return json_error(http::status::bad_request, version, "invalid_argument",
                        "after must be a profile id (p_42) from a previous page's \"next\"");
    }
    start = profile::member_key(name, *id + 1);
  }
  std::unique_ptr<rocksdb::Iterator> it(
      deps_.database.db().NewIterator(rocksdb::ReadOptions(), deps_.database.audiences()));
  JsonWriter out;
  out.begin_object().key("audience").string(name).key("members").begin_array();
  size_t n = 0;
  std::string last;
  bool more = false;
  for (it->Seek(start); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (n == *limit) {
      more = true;
      break;
    }
    const auto id = storage::read_u64_be(it->key().ToStringView().substr(prefix.size()));
    last = profile::profile_id_text(id);
    const auto entered = static_cast<int64_t>(storage::read_u64_be(it->value().ToStringView()));
    out.begin_object().key("profile").string(last);
    out.key("entered_at").string(format_iso8601_ms(entered)).end_object();
    ++n;
  }
  if (!it->status().ok())
    return storage_error(version, storage::from_rocksdb(it->status(), "members"));
  return page_response(out, version, more ? std::optional(last) : std::nullopt);
}

Response AudienceHandler::history(const Request& request, const std::string& name) {
  const unsigned version = request.version();
  const auto limit = page_limit(request.target());
  if (!limit) {
    return json_error(http::status::bad_request, version, "invalid_argument",
                      "limit must be 1 to 10000");
  }
  // Newest first: from just before the cursor (TIME_MS.PROFILE of the last one shown), or from
  // the end of the audience's history.
  const auto prefix = profile::history_prefix(name);
  std::string start = profile::history_key(name, std::numeric_limits<int64_t>::max(),
                                           std::numeric_limits<uint64_t>::max());
  bool exclusive = false;
  if (const auto before = query_parameter(request.target(), "before"); !before.empty()) {
    const auto dot = before.find('.');
    const auto time = parse_number<int64_t>(before.substr(0, dot));
    const auto id = dot == std::string_view::npos
                        ? std::nullopt
                        : profile::parse_profile_id(before.substr(dot + 1));
    if (!time || !id) {
      return json_error(http::status::bad_request, version, "invalid_argument",
                        "before must be a previous page's \"next\"");
    }
    start = profile::history_key(name, *time, *id);
    exclusive = true;
  }
  std::unique_ptr<rocksdb::Iterator> it(
      deps_.database.db().NewIterator(rocksdb::ReadOptions(), deps_.database.audiences()));
  it->SeekForPrev(start);
  if (exclusive && it->Valid() && it->key() == start) it->Prev();
  JsonWriter out;
  out.begin_object().key("audience").string(name).key("changes").begin_array();
  size_t n = 0;
  std::string next;
  bool more = false;
  for (; it->Valid() && it->key().starts_with(prefix); it->Prev()) {
    if (n == *limit) {
      more = true;
      break;
    }
    const auto [time, id] =
        profile::decode_history_suffix(it->key().ToStringView().substr(prefix.size()));
    const bool entered = profile::history_entered(it->value().ToStringView());
    out.begin_object().key("profile").string(profile::profile_id_text(id));
    out.key("type").string(entered ? "entered" : "exited");
    out.key("time").string(format_iso8601_ms(time)).end_object();
    next = std::to_string(time) + "." + profile::profile_id_text(id);
    ++n;
  }
  if (!it->status().ok()) {
    return storage_error(version, storage::from_rocksdb(it->status(), "audience history"));
  }
  return page_response(out, version, more ? std::optional(next) : std::nullopt);
}

Response AudienceHandler::changes(const Request& request) {
  const unsigned version = request.version();
  const auto limit = page_limit(request.target());
  if (!limit) {
    return json_error(http::status::bad_request, version, "invalid_argument",
                      "limit must be 1 to 10000");
  }
  std::optional<profile::ChangeCursor> from;
  if (const auto after = query_parameter(request.target(), "after"); !after.empty()) {
    const auto dot = after.find('.');
    const auto seq = parse_number<uint64_t>(after.substr(0, dot));
    const auto index = dot == std::string_view::npos
                           ? std::optional<uint32_t>()
                           : parse_number<uint32_t>(after.substr(dot + 1));
    if (!seq || !index) {
      return json_error(http::status::bad_request, version, "invalid_argument",
                        "after must be a cursor (SEQ.INDEX) from a previous page's \"next\"");
    }
    from = profile::ChangeCursor{*seq, *index};
  }
  std::string body = "{\"changes\":[";
  size_t n = 0;
  std::string cursor;
  auto read =
      profile::read_change_log(deps_.database, from, [&](const profile::ChangeLogItem& item) {
        cursor = std::to_string(item.seq) + "." + std::to_string(item.index);
        body += n > 0 ? "," : "";
        body.append(item.json, 0, item.json.size() - 1);
        body += ",\"cursor\":\"" + cursor + "\"}";
        return ++n < *limit;
      });
  if (!read.is_ok()) {
    log::error("change_log_unreadable", {{"message", read.message()}});
    return storage_error(version, read);
  }
  // Where to ask from next: after the last entry, or where this page started when it was empty
  // (a reader polls with it until there is more).
  if (cursor.empty()) cursor = std::string(query_parameter(request.target(), "after"));
  body += "],\"next\":";
  body += cursor.empty() ? "null" : "\"" + cursor + "\"";
  return json_response(http::status::ok, version, body + "}");
}

// Replays the audience's history up to `at_ms`: who had entered and not exited.
Response AudienceHandler::members_at(const Request& request, const std::string& name,
                                     int64_t at_ms) {
  const unsigned version = request.version();
  std::set<profile::ProfileId> in;
  const auto prefix = profile::history_prefix(name);
  std::unique_ptr<rocksdb::Iterator> it(
      deps_.database.db().NewIterator(rocksdb::ReadOptions(), deps_.database.audiences()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const auto [time, id] =
        profile::decode_history_suffix(it->key().ToStringView().substr(prefix.size()));
    if (time > at_ms) break;
    if (profile::history_entered(it->value().ToStringView())) {
      in.insert(id);
    } else {
      in.erase(id);
    }
  }
  if (!it->status().ok()) {
    return storage_error(version, storage::from_rocksdb(it->status(), "history"));
  }
  const auto limit = page_limit(request.target());
  if (!limit) {
    return json_error(http::status::bad_request, version, "invalid_argument",
                      "limit must be 1 to 10000");
  }
  auto from = in.begin();
  if (const auto after = query_parameter(request.target(), "after"); !after.empty()) {
    const auto id = profile::parse_profile_id(after);
    if (!id) {
      return json_error(http::status::bad_request, version, "invalid_argument",
                        "after must be a profile id (p_42) from a previous page's \"next\"");
    }
    from = in.upper_bound(*id);
  }
  JsonWriter out;
  out.begin_object().key("audience").string(name);
  out.key("at").string(format_iso8601_ms(at_ms));
  out.key("size").number(static_cast<int64_t>(in.size()));
  out.key("members").begin_array();
  size_t n = 0;
  for (auto i = from; i != in.end() && n < *limit; ++i, ++n) {
    out.begin_object().key("profile").string(profile::profile_id_text(*i)).end_object();
  }
  const auto last = std::next(from, static_cast<std::ptrdiff_t>(n));
  return page_response(out, version,
                       last != in.end() && n > 0
                           ? std::optional(profile::profile_id_text(*std::prev(last)))
                           : std::nullopt);
}

// Size at each step from `from` to `to`, replaying the history once.
Response AudienceHandler::sizes(const Request& request, const std::string& name) {
  const unsigned version = request.version();
  const int64_t now = deps_.clock.now_ms();
  auto time_parameter = [&](std::string_view key, int64_t fallback) -> std::optional<int64_t> {
    const auto text = query_parameter(request.target(), key);
    if (text.empty()) return fallback;
    return parse_iso8601_ms(percent_decode(text).value_or(""));
  };
  const auto to = time_parameter("to", now);
  const auto from = time_parameter("from", now - 7 * 86'400'000LL);
  int64_t step = 86'400'000;
  if (const auto text = query_parameter(request.target(), "step"); !text.empty()) {
    auto parsed = audience::parse_duration(percent_decode(text).value_or(""));
    if (!parsed) {
      return json_error(http::status::bad_request, version, "invalid_argument",
                        "step: " + parsed.status().message());
    }
    step = *parsed;
  }
  if (!from || !to || *from > *to) {
    return json_error(http::status::bad_request, version, "invalid_argument",
                      "from and to must be ISO 8601 times, from before to");
  }
  if ((*to - *from) / step >= 1000) {
    return json_error(http::status::bad_request, version, "invalid_argument",
                      "at most 1000 points: make the step longer or the range shorter");
  }
  std::set<profile::ProfileId> in;
  const auto prefix = profile::history_prefix(name);
  std::unique_ptr<rocksdb::Iterator> it(
      deps_.database.db().NewIterator(rocksdb::ReadOptions(), deps_.database.audiences()));
  it->Seek(prefix);
  JsonWriter out;
  out.begin_object().key("audience").string(name).key("points").begin_array();
  for (int64_t point = *from; point <= *to; point += step) {
    for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
      const auto [time, id] =
          profile::decode_history_suffix(it->key().ToStringView().substr(prefix.size()));
      if (time > point) break;
      if (profile::history_entered(it->value().ToStringView())) {
        in.insert(id);
      } else {
        in.erase(id);
      }
    }
    out.begin_object().key("time").string(format_iso8601_ms(point));
    out.key("size").number(static_cast<int64_t>(in.size())).end_object();
  }
  if (!it->status().ok()) {
    return storage_error(version, storage::from_rocksdb(it->status(), "history"));
  }
  out.end_array().end_object();
  return json_response(http::status::ok, version, out.take());
}

// Evaluates an unsaved condition over the candidates the index leaves, with the history its new
// counters need: all of them when they can be read within the preview's budget (or the body asks
// for "exact"), otherwise a random sample of them, and the size is estimated with an interval.
Response AudienceHandler::preview(const Request& request) {
  const unsigned version = request.version();
  const auto started = std::chrono::steady_clock::now();
  ingest::JsonParser parser;
  auto body = parser.parse(request.body());
  if (!body || !(*body)->is_object() || (*body)->find("condition") == nullptr) {
    return json_error(http::status::bad_request, version, "invalid_json",
                      "expected {\"condition\": \"...\"} (text or JSON form)");
  }
  size_t sample = 10;
  if (const auto text = query_parameter(request.target(), "sample"); !text.empty()) {
    const auto parsed = parse_number<size_t>(text);
    if (!parsed || *parsed > 1000) {
      return json_error(http::status::bad_request, version, "invalid_argument",
                        "sample must be 0 to 1000");
    }
    sample = *parsed;
  }
  profile::PreviewOptions options;
  options.sample = sample;
  const auto* exact = (*body)->find("exact");
  if (exact != nullptr && exact->kind != ingest::JsonKind::kBool) {
    return json_error(http::status::bad_request, version, "invalid_argument",
                      "exact must be true (read every candidate) or false (estimate the size "
                      "when they cannot all be read within the preview's time)");
  }
  if (exact == nullptr || !exact->boolean) options.budget = deps_.preview_budget;
  // The candidate under a name no saved audience can have (names are never empty).
  JsonWriter condition_only;
  condition_only.begin_object().key("condition");
  std::string condition_json;
  ingest::write_json(condition_json, *(*body)->find("condition"));
  condition_only.raw(condition_json).end_object();
  auto condition_root = parser.parse(condition_only.str());
  auto candidate = audience::parse_audience("preview", **condition_root);
  if (!candidate) {
    return json_error(http::status::bad_request, version, "invalid_definition",
                      candidate.status().message());
  }
  candidate->name.clear();
  auto preview =
      profile::preview_audience(deps_.database, *deps_.processor.definitions(), *candidate,
                                deps_.processor.candidate_index(), options, deps_.clock.now_ms());
  if (!preview) {
    if (preview.status().code() == StatusCode::kInvalidArgument) {
      return json_error(http::status::bad_request, version, "invalid_definition",
                        preview.status().message());
    }
    return storage_error(version, preview.status());
  }
  JsonWriter out;
  out.begin_object();
  out.key("condition").string(audience::to_text(candidate->condition));
  out.key("size").number(static_cast<int64_t>(preview->size));
  out.key("exact").boolean(preview->exact);
  out.key("size_low").number(static_cast<int64_t>(preview->size_low));
  out.key("size_high").number(static_cast<int64_t>(preview->size_high));
  out.key("candidates").number(static_cast<int64_t>(preview->candidates));
  out.key("read").number(static_cast<int64_t>(preview->read));
  out.key("profiles").number(static_cast<int64_t>(preview->evaluated));
  out.key("sample").begin_array();
  for (const auto id : preview->sample) out.string(profile::profile_id_text(id));
  out.end_array();
  out.key("elapsed_ms")
      .number(static_cast<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now() - started)
                                       .count()));
  out.end_object();
  return json_response(http::status::ok, version, out.take());
}

}  // namespace cdp::server

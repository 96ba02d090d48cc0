#include "activation/destination.h"

#include <algorithm>
#include <cmath>

#include "audience/condition_text.h"
#include "common/json_writer.h"

namespace cdp::activation {
namespace {

constexpr std::string_view kKeys[] = {
    "type",       "url",        "secret",       "brokers",        "topic",
    "kafka",      "events",     "audiences",    "mapping",        "consent_categories",
    "batch_size", "timeout_ms", "retry_window", "max_per_second", "ordered",
    "enabled",    "start",      "path",         "format",         "identifiers",
    "hashing",    "every",      "postgres",     "traits"};

constexpr std::string_view kTypes = R"(must be "webhook", "kafka", "files" or "postgres")";

// The librdkafka producer settings a destination may set. An allow list: others would change
// the delivery semantics cdp relies on (acks, idempotence, timeouts, the partitioner that keeps a
// user's messages in one partition, a queue too small for one message) or reach the server
// itself (plugin.library.paths loads code, sasl.kerberos.kinit.cmd runs a command, *.location
// reads files).
constexpr std::string_view kKafkaSettings[] = {"compression.type",
                                               "compression.level",
                                               "batch.size",
                                               "batch.num.messages",
                                               "queue.buffering.max.messages",
                                               "message.max.bytes",
                                               "retry.backoff.ms",
                                               "topic.metadata.refresh.interval.ms",
                                               "security.protocol",
                                               "sasl.mechanisms",
                                               "sasl.mechanism",
                                               "sasl.username",
                                               "sasl.password",
                                               "ssl.ca.pem",
                                               "ssl.certificate.pem",
                                               "ssl.key.pem",
                                               "ssl.key.password",
                                               "ssl.endpoint.identification.algorithm",
                                               "enable.ssl.certificate.verification",
                                               "client.rack"};

Status field_error(std::string_view field, std::string_view what) {
  return Status::invalid_argument("destination field '" + std::string(field) + "' " +
                                  std::string(what));
}

Result<std::set<std::string, std::less<>>> string_set(const ingest::JsonValue& value,
                                                      std::string_view field) {
  if (value.kind != ingest::JsonKind::kArray) {
    return field_error(field, "must be an array of strings");
  }
  std::set<std::string, std::less<>> out;
  for (const auto* element : value.elements) {
    if (!element->is_string() || element->text.empty()) {
      return field_error(field, "must be an array of non-empty strings");
    }
    out.emplace(element->text);
  }
  return out;
}

Result<int64_t> integer(const ingest::JsonValue& value, std::string_view field, int64_t min,
                        int64_t max) {
  if (value.kind != ingest::JsonKind::kNumber) return field_error(field, "must be a number");
  int64_t n = 0;
  try {
    size_t used = 0;
    n = std::stoll(std::string(value.text), &used);
    if (used != value.text.size()) throw std::invalid_argument("");
  } catch (const std::exception&) {
    return field_error(field, "must be a whole number");
  }
  if (n < min || n > max) {
    return field_error(field,
                       "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  return n;
}

Result<bool> boolean(const ingest::JsonValue& value, std::string_view field) {
  if (value.kind != ingest::JsonKind::kBool) return field_error(field, "must be true or false");
  return value.boolean;
}

Status parse_events(const ingest::JsonValue& value, EventSubscription& out) {
  if (!value.is_object()) {
    return field_error("events",
                       "must be an object: {\"types\": [...], \"names\": [...], "
                       "\"where\": \"property.x > 1\"}");
  }
  out.enabled = true;
  for (const auto& member : value.members) {
    if (member.key == "types") {
      auto types = string_set(*member.value, "events.types");
      if (!types) return types.status();
      for (const auto& type : *types) {
        if (type != "track" && type != "identify" && type != "page" && type != "screen" &&
            type != "group" && type != "alias") {
          return field_error("events.types", "has '" + type +
                                                 "': use track, identify, page, screen, group "
                                                 "or alias");
        }
      }
      out.types = std::move(*types);
    } else if (member.key == "names") {
      auto names = string_set(*member.value, "events.names");
      if (!names) return names.status();
      out.names = std::move(*names);
    } else if (member.key == "where") {
      if (!member.value->is_string()) return field_error("events.where", "must be a string");
      audience::ConditionParser parser;
      auto filter = parser.parse_filter(member.value->text);
      if (!filter)
        return field_error("events.where", "is not a filter: " + filter.status().message());
      out.where = std::string(member.value->text);
      out.filter = std::move(*filter);
    } else {
      return field_error("events." + std::string(member.key), "is unknown (types, names, where)");
    }
  }
  return Status::ok();
}

Status parse_audiences(const ingest::JsonValue& value, AudienceSubscription& out) {
  if (!value.is_object()) {
    return field_error("audiences",
                       "must be an object: {\"names\": [...], \"changes\": [\"entered\", "
                       "\"exited\"]}");
  }
  out.enabled = true;
  for (const auto& member : value.members) {
    if (member.key == "names") {
      auto names = string_set(*member.value, "audiences.names");
      if (!names) return names.status();
      out.names = std::move(*names);
    } else if (member.key == "changes") {
      auto changes = string_set(*member.value, "audiences.changes");
      if (!changes) return changes.status();
      out.entered = changes->contains("entered");
      out.exited = changes->contains("exited");
      if (changes->size() != static_cast<size_t>(out.entered) + out.exited || changes->empty()) {
        return field_error("audiences.changes", "must list \"entered\", \"exited\" or both");
      }
    } else {
      return field_error("audiences." + std::string(member.key), "is unknown (names, changes)");
    }
  }
  return Status::ok();
}

Status parse_traits(const ingest::JsonValue& value, TraitSubscription& out) {
  if (!value.is_object()) {
    return field_error("traits",
                       "must be an object: {\"names\": [\"plan\", ...]} or {} for every trait");
  }
  out.enabled = true;
  for (const auto& member : value.members) {
    if (member.key != "names") {
      return field_error("traits." + std::string(member.key), "is unknown (names)");
    }
    auto names = string_set(*member.value, "traits.names");
    if (!names) return names.status();
    out.names = std::move(*names);
  }
  return Status::ok();
}

Status parse_mapping(const ingest::JsonValue& value, std::vector<FieldMapping>& out) {
  if (!value.is_object()) {
    return field_error("mapping",
                       "must be an object of output field to message path, e.g. "
                       "{\"user\": \"userId\", \"total\": \"properties.total\"}");
  }
  const auto last = ingest::last_occurrences(value);
  for (size_t i = 0; i < value.members.size(); ++i) {
    if (!last[i]) continue;
    const auto& member = value.members[i];
    if (member.key.empty()) return field_error("mapping", "has an empty output field name");
    if (!member.value->is_string() || member.value->text.empty()) {
      return field_error("mapping." + std::string(member.key), "must be a path such as \"userId\"");
    }
    FieldMapping field{std::string(member.key), std::string(member.value->text), {}};
    std::string_view rest = field.from;
    while (true) {
      const auto dot = rest.find('.');
      const auto part = rest.substr(0, dot);
      if (part.empty()) {
        return field_error("mapping." + field.to, "has an empty step in path '" + field.from + "'");
      }
      field.path.emplace_back(part);
      if (dot == std::string_view::npos) break;
      rest.remove_prefix(dot + 1);
    }
    out.push_back(std::move(field));
  }
  return Status::ok();
}

constexpr std::string_view kSslModes[] = {"disable", "allow",     "prefer",
                                          "require", "verify-ca", "verify-full"};

// {"host": ..., "port": 5432, "dbname": ..., "user": ..., "password": ..., "sslmode": ...,
// "schema": "cdp"}: the password goes to spec.secret, like a webhook's signing key.
Status parse_postgres(const ingest::JsonValue& value, DestinationSpec& spec) {
  if (!value.is_object()) {
    return field_error("postgres",
                       "must be an object such as {\"host\": \"db.internal\", \"dbname\": "
                       "\"analytics\", \"user\": \"cdp\", \"password\": \"...\"}");
  }
  spec.postgres = PostgresSpec();
  for (const auto& member : value.members) {
    const std::string field = "postgres." + std::string(member.key);
    const auto& setting = *member.value;
    if (member.key == "port") {
      auto n = integer(setting, field, 1, 65535);
      if (!n) return n.status();
      spec.postgres.settings["port"] = std::to_string(*n);
      continue;
    }
    if (!setting.is_string() || setting.text.find('\0') != std::string_view::npos) {
      return field_error(field, "must be a string");
    }
    const std::string text(setting.text);
    if (member.key == "host") {
      if (text.empty() || text.find_first_of(",/ ") != std::string::npos) {
        return field_error(field, "must be one host name or address (no sockets or lists)");
      }
      spec.postgres.settings["host"] = text;
    } else if (member.key == "dbname" || member.key == "user") {
      spec.postgres.settings[std::string(member.key)] = text;
    } else if (member.key == "password") {
      spec.secret = text;
    } else if (member.key == "sslmode") {
      if (std::find(std::begin(kSslModes), std::end(kSslModes), text) == std::end(kSslModes)) {
        return field_error(field,
                           "must be disable, allow, prefer, require, verify-ca or verify-full");
      }
      spec.postgres.settings["sslmode"] = text;
    } else if (member.key == "schema") {
      if (text.empty() || text.size() > 63 ||
          text.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos ||
          (text[0] >= '0' && text[0] <= '9') || text.starts_with("pg_")) {
        return field_error(field,
                           "must be a schema name of lower-case letters, digits and '_' (not "
                           "starting with a digit or pg_), e.g. \"cdp\"");
      }
      spec.postgres.schema = text;
    } else {
      return field_error(field,
                         "is unknown; the settings are host, port, dbname, user, password, "
                         "sslmode and schema");
    }
  }
  if (!spec.postgres.settings.contains("host")) {
    return field_error("postgres.host", "is missing: the PostgreSQL server's host name or address");
  }
  return Status::ok();
}

}  // namespace

bool is_kafka_credential(std::string_view key) {
  return key.find("password") != std::string_view::npos ||
         key.find("secret") != std::string_view::npos || key.find(".pem") != std::string_view::npos;
}

Status check_destination_name(std::string_view name) {
  if (name.empty() || name.size() > 64) {
    return Status::invalid_argument("a destination name must have 1 to 64 characters");
  }
  for (const char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') {
      return Status::invalid_argument("destination name '" + std::string(name) +
                                      "' may only use letters, digits, '_', '-' and '.'");
    }
  }
  return Status::ok();
}

Result<DestinationSpec> parse_destination(std::string name, const ingest::JsonValue& json) {
  CDP_RETURN_IF_ERROR(check_destination_name(name));
  if (!json.is_object()) return Status::invalid_argument("a destination must be a JSON object");
  DestinationSpec spec;
  spec.name = std::move(name);
  bool has_type = false;
  bool has_batch_size = false;
  std::string files_field;  // a field only files destinations have, when given
  bool postgres_field = false;
  bool secret_field = false;  // a webhook's secret; a postgres password is postgres.password
  for (const auto& member : json.members) {
    const auto& value = *member.value;
    const std::string_view key = member.key;
    if (key == "name") {
      // What GET answers can be sent back as it is; the name itself is the URL's.
      if (!value.is_string() || value.text != spec.name) {
        return field_error(key, "must be the destination's name, '" + spec.name + "', if given");
      }
    } else if (key == "signed") {
      if (value.kind != ingest::JsonKind::kBool) return field_error(key, "must be true or false");
      spec.keep_secret = value.boolean;
    } else if (key == "configured" || key == "status") {
      continue;  // read-only parts of what GET answers
    } else if (key == "type") {
      if (!value.is_string() || (value.text != "webhook" && value.text != "kafka" &&
                                 value.text != "files" && value.text != "postgres")) {
        return field_error(key, kTypes);
      }
      spec.kind = value.text == "kafka"      ? DestinationKind::kKafka
                  : value.text == "files"    ? DestinationKind::kFiles
                  : value.text == "postgres" ? DestinationKind::kPostgres
                                             : DestinationKind::kWebhook;
      has_type = true;
    } else if (key == "path") {
      files_field = key;
      if (!value.is_string()) return field_error(key, "must be a string");
      const std::string_view path = value.text;
      bool bad = path.empty() || path.front() == '/' || path.find('\0') != std::string_view::npos;
      for (size_t start = 0; !bad && start <= path.size();) {
        const auto end = std::min(path.find('/', start), path.size());
        const auto part = path.substr(start, end - start);
        bad = part.empty() || part == "." || part == "..";
        start = end + 1;
      }
      if (bad) {
        return field_error(key,
                           "must be a relative folder such as \"ads/google\" (under "
                           "[activation] files_dir; no empty, '.' or '..' parts)");
      }
      spec.files.path = std::string(path);
    } else if (key == "format") {
      files_field = key;
      if (!value.is_string() || (value.text != "csv" && value.text != "jsonl")) {
        return field_error(key, "must be \"csv\" or \"jsonl\"");
      }
      spec.files.format = value.text == "csv" ? FileFormat::kCsv : FileFormat::kJsonl;
    } else if (key == "identifiers") {
      files_field = key;
      if (value.kind != ingest::JsonKind::kArray || value.elements.empty()) {
        return field_error(key, "must be a list of identifier types, e.g. [\"email\", \"phone\"]");
      }
      spec.files.identifiers.clear();
      for (const auto* element : value.elements) {
        if (!element->is_string() || element->text.empty() || element->text == "profile") {
          return field_error(key,
                             "must be a list of identifier types (email, phone, user_id, ...)");
        }
        if (std::find(spec.files.identifiers.begin(), spec.files.identifiers.end(),
                      element->text) == spec.files.identifiers.end()) {
          spec.files.identifiers.emplace_back(element->text);
        }
      }
    } else if (key == "hashing") {
      files_field = key;
      auto rule = value.is_string() ? parse_hash_rule(value.text) : std::nullopt;
      if (!rule) {
        return field_error(key, "must be \"sha256\", \"google\", \"meta\" or \"none\"");
      }
      spec.files.hashing = *rule;
    } else if (key == "every") {
      files_field = key;
      if (!value.is_string()) return field_error(key, "must be a duration such as \"1 day\"");
      auto ms = audience::parse_duration(value.text);
      if (!ms) return field_error(key, ms.status().message());
      if (*ms < 60'000) return field_error(key, "must be at least 1 minute");
      spec.files.every_ms = *ms;
    } else if (key == "brokers" || key == "topic") {
      if (!value.is_string() || value.text.empty()) return field_error(key, "must be a string");
      const bool topic_ok =
          value.text.size() <= 249 && value.text != "." && value.text != ".." &&
          std::all_of(value.text.begin(), value.text.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
          });
      if (key == "topic" && !topic_ok) {
        return field_error(key, "must be a Kafka topic name: 1 to 249 of [A-Za-z0-9._-]");
      }
      (key == "brokers" ? spec.brokers : spec.topic) = std::string(value.text);
    } else if (key == "kafka") {
      if (!value.is_object()) {
        return field_error(key,
                           "must be an object of librdkafka producer settings, e.g. "
                           "{\"compression.type\": \"lz4\"}");
      }
      spec.kafka_config.clear();
      for (const auto& setting : value.members) {
        if (!setting.value->is_string()) {
          return field_error("kafka." + std::string(setting.key), "must be a string");
        }
        if (std::find(std::begin(kKafkaSettings), std::end(kKafkaSettings), setting.key) ==
            std::end(kKafkaSettings)) {
          std::string allowed;
          for (const auto k : kKafkaSettings)
            allowed += (allowed.empty() ? "" : ", ") + std::string(k);
          return field_error("kafka." + std::string(setting.key),
                             "is not a setting destinations may change (cdp sets delivery "
                             "semantics itself); allowed: " +
                                 allowed);
        }
        spec.kafka_config[std::string(setting.key)] = std::string(setting.value->text);
      }
    } else if (key == "postgres") {
      postgres_field = true;
      CDP_RETURN_IF_ERROR(parse_postgres(value, spec));
    } else if (key == "url") {
      if (!value.is_string()) return field_error(key, "must be a string");
      spec.url = std::string(value.text);
    } else if (key == "secret") {
      if (!value.is_string()) return field_error(key, "must be a string");
      spec.secret = std::string(value.text);
      secret_field = true;
    } else if (key == "events") {
      CDP_RETURN_IF_ERROR(parse_events(value, spec.events));
    } else if (key == "audiences") {
      CDP_RETURN_IF_ERROR(parse_audiences(value, spec.audiences));
    } else if (key == "traits") {
      CDP_RETURN_IF_ERROR(parse_traits(value, spec.traits));
    } else if (key == "mapping") {
      spec.mapping.clear();
      CDP_RETURN_IF_ERROR(parse_mapping(value, spec.mapping));
    } else if (key == "consent_categories") {
      auto categories = string_set(value, key);
      if (!categories) return categories.status();
      spec.consent_categories.assign(categories->begin(), categories->end());
    } else if (key == "batch_size") {
      auto n = integer(value, key, 1, kMaxBatchSize);
      if (!n) return n.status();
      spec.batch_size = static_cast<size_t>(*n);
      has_batch_size = true;
    } else if (key == "timeout_ms") {
      auto n = integer(value, key, 100, 300'000);
      if (!n) return n.status();
      spec.timeout_ms = *n;
    } else if (key == "retry_window") {
      if (!value.is_string()) return field_error(key, "must be a duration such as \"4 hours\"");
      auto ms = audience::parse_duration(value.text);
      if (!ms) return field_error(key, ms.status().message());
      spec.retry_window_ms = *ms;
    } else if (key == "max_per_second") {
      if (value.kind != ingest::JsonKind::kNumber) return field_error(key, "must be a number");
      const double n = std::strtod(std::string(value.text).c_str(), nullptr);
      if (!std::isfinite(n) || n < 0 || (n > 0 && n < 0.01)) {
        return field_error(key, "must be 0 (no limit) or at least 0.01");
      }
      spec.max_per_second = n;
    } else if (key == "ordered") {
      auto b = boolean(value, key);
      if (!b) return b.status();
      spec.ordered = *b;
    } else if (key == "enabled") {
      auto b = boolean(value, key);
      if (!b) return b.status();
      spec.enabled = *b;
    } else if (key == "start") {
      if (!value.is_string() || (value.text != "now" && value.text != "beginning")) {
        return field_error(key, "must be \"now\" (new data only) or \"beginning\" (the whole log)");
      }
      spec.from_beginning = value.text == "beginning";
    } else {
      std::string known;
      for (const auto k : kKeys) known += (known.empty() ? "" : ", ") + std::string(k);
      return field_error(key, "is unknown; the fields are " + known);
    }
  }
  if (!has_type) {
    return field_error("type", "is missing: it " + std::string(kTypes));
  }
  if (spec.kind != DestinationKind::kFiles && !files_field.empty()) {
    return Status::invalid_argument("'" + files_field + "' is a field of files destinations");
  }
  if ((spec.kind == DestinationKind::kPostgres) != postgres_field) {
    return spec.kind == DestinationKind::kPostgres
               ? field_error("postgres",
                             "is missing: where the warehouse is, e.g. "
                             "{\"host\": \"db.internal\", \"dbname\": \"analytics\"}")
               : Status::invalid_argument("'postgres' is a field of postgres destinations");
  }
  if (spec.kind == DestinationKind::kPostgres) {
    if (!spec.url.empty() || secret_field || !spec.brokers.empty() || !spec.topic.empty() ||
        !spec.kafka_config.empty()) {
      return Status::invalid_argument(
          "url, secret, brokers, topic and kafka are not fields of postgres destinations (the "
          "password is postgres.password)");
    }
    if (!spec.mapping.empty()) {
      return Status::invalid_argument(
          "a postgres destination takes no mapping: its tables follow the events' own fields");
    }
    if (!has_batch_size) spec.batch_size = 1000;
  } else if (spec.kind == DestinationKind::kFiles) {
    if (spec.files.path.empty()) {
      return Status::invalid_argument(
          "a files destination needs path (a folder under "
          "[activation] files_dir, e.g. \"ads/google\")");
    }
    if (spec.events.enabled || spec.traits.enabled || !spec.audiences.enabled) {
      return Status::invalid_argument(
          "a files destination exports audiences: give \"audiences\" ({} for every audience) "
          "and no \"events\" or \"traits\"");
    }
    if (!spec.url.empty() || !spec.secret.empty() || !spec.brokers.empty() || !spec.topic.empty() ||
        !spec.kafka_config.empty()) {
      return Status::invalid_argument(
          "url, secret, brokers, topic and kafka are not fields of files destinations");
    }
  } else if (spec.kind == DestinationKind::kWebhook) {
    if (!spec.url.starts_with("http://") && !spec.url.starts_with("https://")) {
      return field_error("url", "must be an http:// or https:// URL");
    }
    if (!spec.brokers.empty() || !spec.topic.empty() || !spec.kafka_config.empty()) {
      return Status::invalid_argument(
          "brokers, topic and kafka are fields of kafka destinations, not webhooks");
    }
  } else {
    if (spec.brokers.empty() || spec.topic.empty()) {
      return Status::invalid_argument(
          "a kafka destination needs brokers (\"host:9092,host2:9092\") and topic");
    }
    if (!spec.url.empty() || !spec.secret.empty()) {
      return Status::invalid_argument("url and secret are fields of webhooks, not kafka");
    }
    if (!has_batch_size) spec.batch_size = 500;
  }
  if (!spec.events.enabled && !spec.audiences.enabled && !spec.traits.enabled) {
    return Status::invalid_argument(
        "a destination subscribes to nothing: give \"events\" ({} for every event), "
        "\"audiences\" ({} for every audience change) and/or \"traits\" ({} for every trait "
        "change)");
  }
  return spec;
}

Result<DestinationSpec> parse_destination_text(std::string name, std::string_view json) {
  ingest::JsonParser parser;
  auto root = parser.parse(json);
  if (!root)
    return Status::invalid_argument("the destination is not valid JSON: " +
                                    root.status().message());
  return parse_destination(std::move(name), **root);
}

std::string destination_json(const DestinationSpec& spec, bool with_secret) {
  JsonWriter out;
  out.begin_object();
  out.key("name").string(spec.name);
  if (spec.kind == DestinationKind::kFiles) {
    out.key("type").string("files");
    out.key("path").string(spec.files.path);
    out.key("format").string(spec.files.format == FileFormat::kCsv ? "csv" : "jsonl");
    out.key("identifiers").begin_array();
    for (const auto& type : spec.files.identifiers) out.string(type);
    out.end_array();
    out.key("hashing").string(hash_rule_name(spec.files.hashing));
    out.key("every").string(audience::duration_text(spec.files.every_ms));
  } else if (spec.kind == DestinationKind::kPostgres) {
    out.key("type").string("postgres");
    out.key("postgres").begin_object();
    for (const auto& [key, value] : spec.postgres.settings) {
      if (key == "port") {
        out.key(key).number(static_cast<int64_t>(std::stoi(value)));
      } else {
        out.key(key).string(value);
      }
    }
    if (with_secret && !spec.secret.empty()) out.key("password").string(spec.secret);
    out.key("schema").string(spec.postgres.schema);
    out.end_object();
    // As for a webhook's secret: sending this back keeps the stored password.
    if (!with_secret && !spec.secret.empty()) out.key("signed").boolean(true);
  } else if (spec.kind == DestinationKind::kKafka) {
    out.key("type").string("kafka");
    out.key("brokers").string(spec.brokers);
    out.key("topic").string(spec.topic);
    bool hidden = false;
    if (!spec.kafka_config.empty()) {
      out.key("kafka").begin_object();
      for (const auto& [key, value] : spec.kafka_config) {
        // Like a webhook's secret, credentials are stored but never answered.
        const bool credential = is_kafka_credential(key);
        if (with_secret || !credential) out.key(key).string(value);
        hidden = hidden || (credential && !with_secret);
      }
      out.end_object();
    }
    // As for a webhook's secret: sending this back keeps the stored credentials.
    if (hidden) out.key("signed").boolean(true);
  } else {
    out.key("type").string("webhook");
    out.key("url").string(spec.url);
    if (with_secret && !spec.secret.empty()) out.key("secret").string(spec.secret);
    if (!with_secret) out.key("signed").boolean(!spec.secret.empty());
  }
  if (spec.events.enabled) {
    out.key("events").begin_object();
    if (!spec.events.types.empty()) {
      out.key("types").begin_array();
      for (const auto& t : spec.events.types) out.string(t);
      out.end_array();
    }
    if (!spec.events.names.empty()) {
      out.key("names").begin_array();
      for (const auto& n : spec.events.names) out.string(n);
      out.end_array();
    }
    if (!spec.events.where.empty()) out.key("where").string(spec.events.where);
    out.end_object();
  }
  if (spec.audiences.enabled) {
    out.key("audiences").begin_object();
    if (!spec.audiences.names.empty()) {
      out.key("names").begin_array();
      for (const auto& n : spec.audiences.names) out.string(n);
      out.end_array();
    }
    out.key("changes").begin_array();
    if (spec.audiences.entered) out.string("entered");
    if (spec.audiences.exited) out.string("exited");
    out.end_array();
    out.end_object();
  }
  if (spec.traits.enabled) {
    out.key("traits").begin_object();
    if (!spec.traits.names.empty()) {
      out.key("names").begin_array();
      for (const auto& n : spec.traits.names) out.string(n);
      out.end_array();
    }
    out.end_object();
  }
  if (!spec.mapping.empty()) {
    out.key("mapping").begin_object();
    for (const auto& field : spec.mapping) out.key(field.to).string(field.from);
    out.end_object();
  }
  if (!spec.consent_categories.empty()) {
    out.key("consent_categories").begin_array();
    for (const auto& c : spec.consent_categories) out.string(c);
    out.end_array();
  }
  out.key("batch_size").number(static_cast<int64_t>(spec.batch_size));
  out.key("timeout_ms").number(spec.timeout_ms);
  out.key("retry_window").string(audience::duration_text(spec.retry_window_ms));
  out.key("max_per_second").number(spec.max_per_second);
  out.key("ordered").boolean(spec.ordered);
  out.key("enabled").boolean(spec.enabled);
  out.key("start").string(spec.from_beginning ? "beginning" : "now");
  out.end_object();
  return out.take();
}

}  // namespace cdp::activation

#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "activation/identifier_hashing.h"
#include "audience/condition.h"
#include "common/status.h"
#include "ingest/json_tree.h"

namespace cdp::activation {

// Which raw log events a destination receives. Disabled (the default) means none.
struct EventSubscription {
  bool enabled = false;
  std::set<std::string, std::less<>> types;  // empty: every type
  std::set<std::string, std::less<>>
      names;          // track event names (screen/page names too); empty: all
  std::string where;  // a where clause over event properties; empty: none
  std::optional<audience::Condition> filter;  // `where`, parsed
};

// Which audience changes (the change log) a destination receives.
struct AudienceSubscription {
  bool enabled = false;
  std::set<std::string, std::less<>> names;  // empty: every audience
  bool entered = true;
  bool exited = true;
};

// Which trait changes (the change log) a destination receives: the traits events set on a
// profile, with their new values.
struct TraitSubscription {
  bool enabled = false;
  std::set<std::string, std::less<>> names;  // empty: every trait
};

// One output field of a mapping: `to` takes the value at `from` (a dotted path in the message).
struct FieldMapping {
  std::string to;
  std::string from;
  std::vector<std::string> path;  // `from`, split at dots
};

enum class DestinationKind { kWebhook, kKafka, kFiles, kPostgres };
enum class FileFormat { kCsv, kJsonl };

// A files destination: audience snapshots and diffs in a folder, for paid-media uploads.
struct FileExportSpec {
  std::string path;  // a folder under [activation] files_dir, relative, without ".."
  FileFormat format = FileFormat::kCsv;
  std::vector<std::string> identifiers = {"email", "phone"};  // identifier types, as columns
  HashRule hashing = HashRule::kSha256;
  int64_t every_ms = 24LL * 3600 * 1000;  // time between exports
};

// A PostgreSQL warehouse: where to connect (the password is DestinationSpec::secret) and the
// schema that holds the tables.
struct PostgresSpec {
  // libpq connection settings: host (required), port, dbname, user, sslmode.
  std::map<std::string, std::string> settings;
  std::string schema = "cdp";
};

// A destination as defined through the admin API or [[destinations]] in the config. The JSON form
// (docs/activation.md) is what the API takes and answers; parse_destination checks every field.
struct DestinationSpec {
  std::string name;
  DestinationKind kind = DestinationKind::kWebhook;
  std::string url;      // webhook: http(s)://host[:port]/path
  std::string secret;   // webhook: HMAC-SHA256 signing key, empty: unsigned; postgres: password
  std::string brokers;  // kafka: bootstrap servers, "host:port,host:port"
  std::string topic;    // kafka
  std::map<std::string, std::string> kafka_config;  // kafka: more librdkafka producer settings
  FileExportSpec files;                             // files
  PostgresSpec postgres;                            // postgres
  EventSubscription events;
  AudienceSubscription audiences;
  TraitSubscription traits;
  std::vector<FieldMapping> mapping;  // empty: messages as they are
  // Consent categories the destination is mapped to (Segment's consent management): an event
  // with context.consent.categoryPreferences goes only where every category is true.
  std::vector<std::string> consent_categories;
  // Webhooks: 1 sends one message per request, more {"batch":[...]}. Kafka: messages produced
  // per attempt (default 500). Postgres: messages per transaction (default 1000).
  size_t batch_size = 1;
  int64_t timeout_ms = 10'000;
  int64_t retry_window_ms = 4LL * 3600 * 1000;  // then dead letters (Segment retries 4 hours)
  double max_per_second = 0;                    // messages per second; 0: no limit
  bool ordered = false;  // per-user order: a user's later messages wait behind a retried one
  bool enabled = true;
  bool from_beginning = false;  // a new destination starts at the log's start, not its end
  // "signed": true without a secret, as GET answers: a redefinition keeps the stored secret (and
  // the stored kafka credentials).
  bool keep_secret = false;
};

inline constexpr size_t kMaxBatchSize = 10'000;

// Parses and checks the JSON form. Errors name the field and say what is accepted.
Result<DestinationSpec> parse_destination(std::string name, const ingest::JsonValue& json);
Result<DestinationSpec> parse_destination_text(std::string name, std::string_view json);
// The JSON form; the secret is left out unless `with_secret` (the stored copy keeps it).
std::string destination_json(const DestinationSpec& spec, bool with_secret);

// Whether the destination reads the change log (audience or trait changes).
inline bool reads_change_log(const DestinationSpec& spec) {
  return spec.audiences.enabled || spec.traits.enabled;
}

// Kafka settings that are credentials (passwords, secrets, PEM keys): stored, never answered.
bool is_kafka_credential(std::string_view key);

// Names are 1-64 characters of [A-Za-z0-9_.-].
Status check_destination_name(std::string_view name);

}  // namespace cdp::activation

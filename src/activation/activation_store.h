#pragma once

#include <rocksdb/write_batch.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "profile/audience_records.h"
#include "storage/database.h"

namespace cdp::activation {

// Where a destination has read the logs to: every message before it is delivered, in the outbox
// or a dead letter.
struct DeliveryCursor {
  uint64_t events = 0;                           // the next raw log seq to read
  std::optional<profile::ChangeCursor> changes;  // the last change read; nullopt: none yet
};

// One delivery attempt, as the message history shows it.
struct Attempt {
  int64_t at_ms = 0;
  int status = 0;  // HTTP status; 0: no answer
  std::string error;
};

// A message waiting for a retry (in the outbox) or given up on (a dead letter).
struct OutboxEntry {
  uint64_t id = 0;  // increasing in the order messages were read, per destination
  std::string message_id;
  std::string key;                // per-user order key
  std::string json;               // the message as sent
  int64_t first_ms = 0;           // first attempt
  int64_t next_ms = 0;            // next attempt (outbox only)
  std::vector<Attempt> attempts;  // the latest kMaxAttemptsKept
  std::string reason;             // dead letters: why it was given up
};

inline constexpr size_t kMaxAttemptsKept = 20;

// A message's fate, looked up by messageId: "delivered", "retrying" or "dead".
struct DeliveryRecord {
  std::string state;
  std::string message_id;
  int64_t first_ms = 0;
  int64_t last_ms = 0;
  std::vector<Attempt> attempts;
  std::string reason;
};

// The destinations' records in the `activation` column family (docs/formats/activation.md):
//   d/NAME                 definition JSON (destinations created through the API)
//   c/NAME                 cursor
//   o/NAME \0 u64 BE id    outbox entry
//   x/NAME \0 u64 BE id    dead letter
//   l/NAME \0 messageId    u64 BE last attempt ms + delivery record JSON (expires after
//                          Database::Options::delivery_history_ms)
// Stateless apart from the database; thread-safe.
class ActivationStore {
 public:
  explicit ActivationStore(storage::Database& database) : database_(database) {}

  Result<std::vector<std::pair<std::string, std::string>>> definitions();
  Status put_definition(const std::string& name, const std::string& json);
  // Deletes the definition and everything the destination kept (cursor, outbox, dead letters,
  // history).
  Status remove(const std::string& name);

  Result<std::optional<DeliveryCursor>> cursor(const std::string& name);
  // Every stored cursor, by destination name.
  Result<std::vector<std::pair<std::string, DeliveryCursor>>> cursors();
  void put_cursor(rocksdb::WriteBatch& batch, const std::string& name, const DeliveryCursor& c);

  Result<std::vector<OutboxEntry>> outbox(const std::string& name);
  void put_outbox(rocksdb::WriteBatch& batch, const std::string& name, const OutboxEntry& entry);
  void delete_outbox(rocksdb::WriteBatch& batch, const std::string& name, uint64_t id);

  // Dead letters with id > after, at most `limit`.
  Result<std::vector<OutboxEntry>> dead_letters(const std::string& name, uint64_t after,
                                                size_t limit);
  Result<uint64_t> count_dead_letters(const std::string& name);
  void put_dead_letter(rocksdb::WriteBatch& batch, const std::string& name,
                       const OutboxEntry& entry);
  void delete_dead_letter(rocksdb::WriteBatch& batch, const std::string& name, uint64_t id);
  // The largest outbox or dead letter id; 0 when there is none.
  Result<uint64_t> last_id(const std::string& name);

  void put_history(rocksdb::WriteBatch& batch, const std::string& name,
                   const DeliveryRecord& record);
  Result<std::optional<DeliveryRecord>> history(const std::string& name,
                                                const std::string& message_id);

  Status write(rocksdb::WriteBatch& batch);

 private:
  storage::Database& database_;
};

std::string delivery_record_json(const DeliveryRecord& record);
std::string outbox_entry_json(const OutboxEntry& entry);

}  // namespace cdp::activation

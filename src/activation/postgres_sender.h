#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "activation/destination.h"
#include "activation/network_guard.h"
#include "activation/sender.h"
#include "activation/warehouse_rows.h"

namespace cdp::activation {

// PostgreSQL warehouse sync (libpq): each batch becomes the rows of warehouse_rows.h, loaded in
// one transaction into the destination's schema. Tables and columns are created as messages need
// them (CREATE TABLE / ALTER TABLE ADD COLUMN IF NOT EXISTS); a value whose type its column
// cannot hold goes to cdp_quarantine instead of failing the load. Events and audience changes are
// keyed by messageId and skipped when loaded again, users and memberships are upserted (newer
// values win, column by column), so the worker's at-least-once redelivery after a crash leaves
// every row once. The host is checked by the NetworkGuard and connected to by the address that
// was checked (hostaddr), so DNS rebinding cannot get past it. Used by one thread at a time,
// except cancel().
//
// Rationale: one transaction per batch makes a batch all or nothing, so the worker's record of
// what was delivered and the warehouse never disagree by more than a redelivery; the schema is
// read once per connection and again after any error, so a column that a person dropped or
// retyped costs one retry, not a stuck destination.
class PostgresSender final : public Sender {
 public:
  PostgresSender(DestinationSpec spec, const NetworkGuard& guard);
  ~PostgresSender() override;

  SendResult send(std::span<const Message* const> batch, int attempt) override;
  // Connects, creates the schema if needed and reads its tables.
  Status test_connection() override;
  // Ends a statement in flight within ~100 ms (the connection is dropped: the server rolls the
  // transaction back) and every later one at once.
  void cancel() override { cancelled_.store(true); }

  // Most columns cdp adds to one table (PostgreSQL allows 1600, and 500 eight-byte values
  // still fit a row in one 8 KB page).
  static constexpr size_t kMaxColumns = 500;

 private:
  struct Connection;
  // A failed statement: its SQLSTATE (e.g. "42703") and message.
  struct SqlError {
    std::string state;
    std::string message;
  };
  // table -> column -> type (nullopt: a type cdp does not write, which takes no value)
  using Schema = std::map<std::string, std::map<std::string, std::optional<ColumnType>>>;

  Status connect();
  Status load_schema();
  void disconnect();
  // One statement on the connection, ended by cancel() or the destination's timeout; `rows`:
  // where its answer's rows go (NULL values as empty texts).
  using Rows = std::vector<std::vector<std::string>>;
  std::optional<SqlError> run(const std::string& sql,
                              const std::vector<const char*>& parameters = {},
                              Rows* rows = nullptr);

  DestinationSpec spec_;
  const NetworkGuard& guard_;
  std::atomic<bool> cancelled_{false};
  std::unique_ptr<Connection> connection_;
  std::optional<Schema> schema_;  // what the schema holds, as of the last load or commit
};

}  // namespace cdp::activation

#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

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
  void cancel() override;

  // Most columns cdp adds to one table (PostgreSQL allows 1600).
  static constexpr size_t kMaxColumns = 1000;

 private:
  struct Connection;
  // table -> column -> type (nullopt: a type cdp does not write, which takes no value)
  using Schema = std::map<std::string, std::map<std::string, std::optional<ColumnType>>>;

  Status connect();
  Status load_schema();
  void disconnect();

  DestinationSpec spec_;
  const NetworkGuard& guard_;
  std::atomic<bool> cancelled_{false};
  std::mutex cancel_mutex_;  // guards the connection's cancel handle against cancel()
  std::unique_ptr<Connection> connection_;
  std::optional<Schema> schema_;  // what the schema holds, as of the last load or commit
};

}  // namespace cdp::activation

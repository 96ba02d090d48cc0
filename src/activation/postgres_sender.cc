#include "activation/postgres_sender.h"

#include <libpq-fe.h>
#include <netdb.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <vector>

#include "common/json_writer.h"
#include "common/log.h"

namespace cdp::activation {
namespace {

// How long past timeout_ms an answer may take before the connection is given up (the server's
// statement_timeout answers first while it is reachable).
constexpr int64_t kAnswerMarginMs = 5'000;
// PostgreSQL allows 65535 parameters per statement; rows are sent in statements below that.
constexpr size_t kMaxParameters = 30'000;

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

constexpr std::string_view kMembershipTimes[] = {"entered_at", "exited_at", "changed_at"};
constexpr char kTimestamp[] = "timestamp with time zone";

std::string_view time_column(TableKind kind) {
  if (kind == TableKind::kUsers) return "timestamp";
  return kind == TableKind::kProfiles ? "updated_at" : "changed_at";
}

bool upserted(TableKind kind) {
  return kind == TableKind::kUsers || kind == TableKind::kMemberships ||
         kind == TableKind::kProfiles;
}

std::vector<std::string_view> key_columns(TableKind kind) {
  if (kind == TableKind::kMemberships) return {"audience", "profile_id"};
  return {"id"};
}

// The value of `cell` as a column of type `column` takes it (json columns take JSON).
std::string value_for(ColumnType column, const Cell& cell) {
  if (column != ColumnType::kJson || cell.type == ColumnType::kJson) return cell.value;
  if (cell.type == ColumnType::kText || cell.type == ColumnType::kTimestamp) {
    std::string json;
    append_json_string(json, cell.value);
    return json;
  }
  return cell.value;  // numbers and booleans are JSON as they are
}

const Cell* find_cell(const Row& row, std::string_view column) {
  for (const auto& cell : row.cells) {
    if (cell.column == column) return &cell;
  }
  return nullptr;
}

std::string row_key(const Row& row) {
  std::string key;
  for (const auto column : key_columns(row.kind)) {
    if (const auto* cell = find_cell(row, column)) key += cell->value;
    key.push_back('\0');
  }
  return key;
}

std::string create_table_sql(const std::string& schema, const std::string& table, TableKind kind) {
  std::string sql = "CREATE TABLE IF NOT EXISTS " + quote_identifier(schema) + "." +
                    quote_identifier(table) + " (";
  if (kind == TableKind::kMemberships) {
    sql +=
        "audience text NOT NULL, profile_id text NOT NULL, in_audience boolean, seq bigint, "
        "seq_index bigint, ";
    for (const auto column : kMembershipTimes) sql += std::string(column) + " " + kTimestamp + ", ";
  } else {
    sql += "id text NOT NULL, ";
  }
  sql += "loaded_at timestamp with time zone NOT NULL DEFAULT now(), PRIMARY KEY (";
  const auto keys = key_columns(kind);
  for (size_t i = 0; i < keys.size(); ++i) sql += (i > 0 ? ", " : "") + std::string(keys[i]);
  return sql + "))";
}

SendResult failure(SendResult::Outcome outcome, std::string error) {
  SendResult result;
  result.outcome = outcome;
  result.error = std::move(error);
  return result;
}

}  // namespace

// A connection whose statements run asynchronously, so that a stop or an unanswering server
// ends them within ~100 ms of the cancel or the deadline, instead of blocking in libpq (a
// PQcancel would itself block connecting to an unreachable server). Dropped after such an end:
// the server rolls the transaction back when the connection closes.
struct PostgresSender::Connection {
  PGconn* conn = nullptr;
  bool broken = false;  // a statement was abandoned: the connection's state is unknown

  ~Connection() {
    if (conn != nullptr) PQfinish(conn);
  }

  bool ok() const { return conn != nullptr && !broken && PQstatus(conn) == CONNECTION_OK; }

  // Runs `sql` with text parameters (nullptr for NULL), its rows into `rows`; gives up when
  // `cancelled` is set or no answer came within `timeout_ms` (the server's statement_timeout
  // should answer first). The connection is non-blocking, so a large statement that fills the
  // socket's buffer waits here too, not inside libpq.
  std::optional<SqlError> exec(const std::string& sql, const std::vector<const char*>& parameters,
                               const std::atomic<bool>& cancelled, int64_t timeout_ms,
                               Rows* rows = nullptr) {
    if (PQsendQueryParams(conn, sql.c_str(), static_cast<int>(parameters.size()), nullptr,
                          parameters.data(), nullptr, nullptr, 0) == 0) {
      broken = true;
      return SqlError{"08006", trimmed(PQerrorMessage(conn))};
    }
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms + kAnswerMarginMs);
    auto lost = [&]() {
      broken = true;
      return SqlError{"08006", trimmed(PQerrorMessage(conn))};
    };
    // Waits up to 100 ms for the socket; an error when the statement is to be abandoned.
    auto wait_for = [&](short events) -> std::optional<SqlError> {
      if (cancelled.load()) {
        broken = true;
        return SqlError{"57014", "stopped"};
      }
      if (std::chrono::steady_clock::now() > deadline) {
        broken = true;
        return SqlError{"57014", "no answer within " + std::to_string(timeout_ms) + " ms"};
      }
      pollfd socket{PQsocket(conn), events, 0};
      (void)poll(&socket, 1, 100);
      if (PQconsumeInput(conn) == 0) return lost();
      return std::nullopt;
    };
    // What PQsendQueryParams could not write at once.
    for (int flushed = PQflush(conn); flushed != 0; flushed = PQflush(conn)) {
      if (flushed < 0) return lost();
      if (auto abandoned = wait_for(POLLIN | POLLOUT)) return abandoned;
    }
    std::optional<SqlError> error;
    for (;;) {
      // Until the next result (or the end of them) can be taken without blocking.
      while (PQisBusy(conn) != 0) {
        if (auto abandoned = wait_for(POLLIN)) return abandoned;
      }
      ResultPtr result(PQgetResult(conn));
      if (!result) break;
      const auto status = PQresultStatus(result.get());
      if (status == PGRES_TUPLES_OK && rows != nullptr && !error) {
        for (int i = 0; i < PQntuples(result.get()); ++i) {
          auto& row = rows->emplace_back();
          for (int j = 0; j < PQnfields(result.get()); ++j) {
            row.emplace_back(PQgetvalue(result.get(), i, j));
          }
        }
      }
      if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY ||
          error) {
        continue;
      }
      if (status != PGRES_FATAL_ERROR && status != PGRES_NONFATAL_ERROR) {
        // A COPY or another exchange cdp never starts: the connection is not in a known state.
        broken = true;
        return SqlError{"08P01", std::string("unexpected answer ") + PQresStatus(status)};
      }
      const char* state = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
      const char* message = PQresultErrorMessage(result.get());
      error = SqlError{state == nullptr ? "" : state, trimmed(message == nullptr ? "" : message)};
    }
    return error;
  }
};

PostgresSender::PostgresSender(DestinationSpec spec, const NetworkGuard& guard)
    : spec_(std::move(spec)), guard_(guard) {}

PostgresSender::~PostgresSender() { disconnect(); }

void PostgresSender::disconnect() {
  connection_.reset();
  schema_.reset();
}

std::optional<PostgresSender::SqlError> PostgresSender::run(
    const std::string& sql, const std::vector<const char*>& parameters, Rows* rows) {
  return connection_->exec(sql, parameters, cancelled_, spec_.timeout_ms, rows);
}

Status PostgresSender::connect() {
  if (connection_ != nullptr && connection_->ok()) return Status::ok();
  disconnect();
  const auto& settings = spec_.postgres.settings;
  auto setting = [&](const std::string& key) {
    const auto it = settings.find(key);
    return it == settings.end() ? std::string() : it->second;
  };
  const std::string host = setting("host");
  const std::string port = setting("port").empty() ? "5432" : setting("port");
  // Resolve here and connect to the address the guard saw (hostaddr), so that a second lookup by
  // libpq cannot answer another one.
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int error = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); error != 0) {
    return Status::unavailable("cannot resolve the postgres host " + host + ": " +
                               gai_strerror(error));
  }
  std::string address;
  std::string refusal;
  for (const addrinfo* entry = found; entry != nullptr && address.empty(); entry = entry->ai_next) {
    auto why = guard_.refusal(entry->ai_addr);
    if (!why.empty()) {
      refusal = why;
      continue;
    }
    char text[NI_MAXHOST];
    if (getnameinfo(entry->ai_addr, entry->ai_addrlen, text, sizeof text, nullptr, 0,
                    NI_NUMERICHOST) == 0) {
      address = text;
    }
  }
  freeaddrinfo(found);
  if (address.empty()) {
    return Status::permission_denied("the postgres host " + host + " is refused: " + refusal +
                                     " (add its network to [activation] allowed_networks)");
  }

  const int64_t seconds = std::max<int64_t>(2, (spec_.timeout_ms + 999) / 1000);
  std::vector<std::string> keys = {"host",
                                   "hostaddr",
                                   "port",
                                   "connect_timeout",
                                   "application_name",
                                   "client_encoding",
                                   "keepalives",
                                   "keepalives_idle",
                                   "keepalives_interval",
                                   "keepalives_count",
                                   "tcp_user_timeout"};
  // Keepalives and tcp_user_timeout notice a server that vanished mid-statement (the
  // statement_timeout below only works while the server is there).
  std::vector<std::string> values = {host,
                                     address,
                                     port,
                                     std::to_string(seconds),
                                     "cdp",
                                     "UTF8",
                                     "1",
                                     std::to_string(seconds),
                                     "1",
                                     "3",
                                     std::to_string(spec_.timeout_ms + kAnswerMarginMs)};
  for (const auto& [key, value] : settings) {
    if (key == "host" || key == "port") continue;
    keys.push_back(key);
    values.push_back(value);
  }
  if (!spec_.secret.empty()) {
    keys.emplace_back("password");
    values.push_back(spec_.secret);
  }
  std::vector<const char*> key_pointers;
  std::vector<const char*> value_pointers;
  for (size_t i = 0; i < keys.size(); ++i) {
    key_pointers.push_back(keys[i].c_str());
    value_pointers.push_back(values[i].c_str());
  }
  key_pointers.push_back(nullptr);
  value_pointers.push_back(nullptr);

  auto connection = std::make_unique<Connection>();
  connection->conn = PQconnectdbParams(key_pointers.data(), value_pointers.data(), 0);
  if (connection->conn == nullptr) return Status::unavailable("libpq is out of memory");
  if (PQstatus(connection->conn) != CONNECTION_OK) {
    return Status::unavailable("cannot connect to postgres at " + host + ":" + port + ": " +
                               trimmed(PQerrorMessage(connection->conn)));
  }
  if (PQsetnonblocking(connection->conn, 1) != 0) {
    return Status::unavailable("cannot make the postgres connection non-blocking: " +
                               trimmed(PQerrorMessage(connection->conn)));
  }
  // CREATE ... IF NOT EXISTS answers with notices, which libpq would print on stderr.
  PQsetNoticeProcessor(
      connection->conn, [](void*, const char*) {}, nullptr);
  // A stuck statement ends with the destination's timeout, like a webhook's request. (A SET, not
  // the options startup parameter, which connection poolers refuse.)
  if (auto error = connection->exec("SET statement_timeout = " + std::to_string(spec_.timeout_ms),
                                    {}, cancelled_, spec_.timeout_ms)) {
    return Status::unavailable("cannot set statement_timeout: " + error->message);
  }
  connection_ = std::move(connection);
  return Status::ok();
}

Status PostgresSender::load_schema() {
  const std::string& name = spec_.postgres.schema;
  const std::string schema = quote_identifier(name);
  const std::vector<const char*> parameters = {name.c_str()};
  auto tables = [&]() -> Result<Schema> {
    Rows rows;
    if (auto error = run("SELECT table_name, column_name, data_type "
                         "FROM information_schema.columns WHERE table_schema = $1",
                         parameters, &rows)) {
      return Status::unavailable("cannot read the tables of the schema " + name + ": " +
                                 error->message);
    }
    Schema loaded;
    for (const auto& row : rows) loaded[row[0]][row[1]] = column_type_from_sql(row[2]);
    return loaded;
  };
  auto loaded = tables();
  if (!loaded) return loaded.status();
  if (!loaded->contains("cdp_quarantine")) {
    // Created only when missing: CREATE SCHEMA IF NOT EXISTS needs the CREATE right on the
    // database even when the schema is there, which a loader given only its schema lacks.
    Rows exists;
    if (auto error = run("SELECT 1 FROM pg_namespace WHERE nspname = $1", parameters, &exists)) {
      return Status::unavailable("cannot look for the schema " + name + ": " + error->message);
    }
    std::vector<std::string> ddl;
    if (exists.empty()) ddl.push_back("CREATE SCHEMA IF NOT EXISTS " + schema);
    ddl.push_back("CREATE TABLE IF NOT EXISTS " + schema +
                  ".cdp_quarantine (message_id text NOT NULL, table_name text NOT NULL, "
                  "column_name text NOT NULL, value text, reason text, "
                  "loaded_at timestamp with time zone NOT NULL DEFAULT now(), "
                  "PRIMARY KEY (message_id, table_name, column_name))");
    for (const auto& sql : ddl) {
      if (auto error = run(sql)) {
        return Status::unavailable("cannot create " + sql.substr(7, sql.find(" (") - 7) + ": " +
                                   error->message);
      }
    }
    loaded = tables();
    if (!loaded) return loaded.status();
  }
  schema_ = std::move(*loaded);
  return Status::ok();
}

Status PostgresSender::test_connection() {
  CDP_RETURN_IF_ERROR(connect());
  auto status = load_schema();
  if (!status.is_ok()) disconnect();
  return status;
}

SendResult PostgresSender::send(std::span<const Message* const> batch, int /*attempt*/) {
  if (cancelled_.load()) return failure(SendResult::Outcome::kRetry, "stopped");
  MessageRows all;
  ingest::JsonParser parser;
  for (const auto* message : batch) {
    auto rows = message_rows(message->json, parser);
    if (!rows) {
      all.quarantined.push_back({message->message_id, "", "",
                                 to_valid_utf8(std::string_view(message->json).substr(0, 1000)),
                                 rows.status().message()});
      continue;
    }
    for (auto& row : rows->rows) all.rows.push_back(std::move(row));
    for (auto& q : rows->quarantined) all.quarantined.push_back(std::move(q));
  }

  if (auto status = connect(); !status.is_ok()) {
    return failure(SendResult::Outcome::kRetry, status.message());
  }
  if (!schema_) {
    if (auto status = load_schema(); !status.is_ok()) {
      disconnect();
      return failure(SendResult::Outcome::kRetry, status.message());
    }
  }

  // What the tables will hold once this batch's DDL ran; committed to schema_ with the batch.
  Schema schema = *schema_;
  std::vector<std::string> ddl;
  const std::string qualified_schema = quote_identifier(spec_.postgres.schema) + ".";
  // (table, round) -> rows of this batch. One upsert statement cannot touch a row twice, so the
  // second row of one user (or membership) goes in the second round, and so on: in log order.
  std::map<std::pair<std::string, size_t>, std::vector<Row>> tables;
  std::map<std::string, std::map<std::string, size_t>> keyed;  // table -> key -> rows so far
  for (auto& row : all.rows) {
    auto [table_it, created] = schema.try_emplace(row.table);
    auto& columns = table_it->second;
    if (created) {
      ddl.push_back(create_table_sql(spec_.postgres.schema, row.table, row.kind));
      for (const auto key : key_columns(row.kind)) columns[std::string(key)] = ColumnType::kText;
      columns["loaded_at"] = ColumnType::kTimestamp;
      if (row.kind == TableKind::kMemberships) {
        columns["in_audience"] = ColumnType::kBoolean;
        columns["seq"] = ColumnType::kBigint;
        columns["seq_index"] = ColumnType::kBigint;
        for (const auto time : kMembershipTimes)
          columns[std::string(time)] = ColumnType::kTimestamp;
      }
    }
    Row accepted{row.table, row.kind, row.message_id, {}};
    for (auto& cell : row.cells) {
      auto quarantine = [&](std::string reason) {
        all.quarantined.push_back(
            {row.message_id, row.table, cell.column, cell.value, std::move(reason)});
      };
      const auto column = columns.find(cell.column);
      if (column == columns.end()) {
        if (columns.size() >= kMaxColumns) {
          quarantine("the table has " + std::to_string(kMaxColumns) +
                     " columns, the most cdp adds to one table");
          continue;
        }
        ddl.push_back("ALTER TABLE " + qualified_schema + quote_identifier(row.table) +
                      " ADD COLUMN IF NOT EXISTS " + quote_identifier(cell.column) + " " +
                      std::string(sql_type(cell.type)));
        columns[cell.column] = cell.type;
        accepted.cells.push_back(std::move(cell));
        continue;
      }
      if (!column->second || !column_accepts(*column->second, cell.type)) {
        quarantine("the column is " +
                   (column->second ? std::string(sql_type(*column->second))
                                   : std::string("of a type cdp does not write")) +
                   ", the value is " + std::string(sql_type(cell.type)));
        continue;
      }
      cell.value = value_for(*column->second, cell);
      accepted.cells.push_back(std::move(cell));
    }
    size_t round = 0;
    if (upserted(row.kind)) {
      round = keyed[row.table][row_key(accepted)]++;
    }
    tables[{row.table, round}].push_back(std::move(accepted));
  }
  if (!all.quarantined.empty()) {
    auto& rows = tables[{"cdp_quarantine", 0}];
    for (const auto& q : all.quarantined) {
      Row row{"cdp_quarantine", TableKind::kEvents, q.message_id, {}};
      row.cells = {{"message_id", ColumnType::kText, q.message_id, ""},
                   {"table_name", ColumnType::kText, q.table, ""},
                   {"column_name", ColumnType::kText, q.column, ""},
                   {"value", ColumnType::kText, q.value, ""},
                   {"reason", ColumnType::kText, q.reason, ""}};
      rows.push_back(std::move(row));
    }
  }

  // Statements: each table's rows in multi-row INSERTs over the union of their columns.
  std::vector<std::pair<std::string, std::vector<std::string>>> statements;
  std::vector<std::vector<bool>> nulls;  // per statement, which parameters are NULL
  for (const auto& [table_round, rows] : tables) {
    const std::string& table = table_round.first;
    const TableKind kind = rows.front().kind;
    const bool quarantine_table = table == "cdp_quarantine";
    std::vector<std::string> columns;
    std::set<std::string> seen;
    for (const auto& row : rows) {
      for (const auto& cell : row.cells) {
        if (seen.insert(cell.column).second) columns.push_back(cell.column);
      }
    }
    const std::string target = qualified_schema + quote_identifier(table);
    std::string head = "INSERT INTO " + target + " AS t (";
    for (size_t i = 0; i < columns.size(); ++i) {
      head += (i > 0 ? ", " : "") + quote_identifier(columns[i]);
    }
    head += ") VALUES ";
    std::string tail;
    if (quarantine_table) {
      tail = " ON CONFLICT (message_id, table_name, column_name) DO NOTHING";
    } else if (!upserted(kind)) {
      tail = " ON CONFLICT (id) DO NOTHING";
    } else {
      const auto keys = key_columns(kind);
      const std::string time = quote_identifier(time_column(kind));
      const bool has_time = seen.contains(std::string(time_column(kind)));
      // Changes of one time (one request's events share it) are told apart by their log order,
      // changes of one seq by their index.
      const bool has_seq = kind != TableKind::kUsers && seen.contains("seq");
      const bool has_index = has_seq && seen.contains("seq_index");
      const std::string older =
          has_index ? "(EXCLUDED." + time + ", EXCLUDED.seq, EXCLUDED.seq_index) < (t." + time +
                          ", t.seq, t.seq_index)"
          : has_seq ? "(EXCLUDED." + time + ", EXCLUDED.seq) < (t." + time + ", t.seq)"
                    : "EXCLUDED." + time + " < t." + time;
      tail = " ON CONFLICT (";
      for (size_t i = 0; i < keys.size(); ++i) tail += (i > 0 ? ", " : "") + std::string(keys[i]);
      tail += ") DO UPDATE SET loaded_at = now()";
      for (const auto& column : columns) {
        if (std::find(keys.begin(), keys.end(), column) != keys.end()) continue;
        const std::string c = quote_identifier(column);
        if (has_time && column == time_column(kind)) {
          tail += ", " + c + " = GREATEST(t." + c + ", EXCLUDED." + c + ")";
          continue;
        }
        tail += ", " + c + " = CASE WHEN EXCLUDED." + c + " IS NULL THEN t." + c;
        if (has_time) {
          tail += " WHEN t." + c + " IS NOT NULL AND " + older + " THEN t." + c;
        }
        tail += " ELSE EXCLUDED." + c + " END";
      }
    }
    const size_t rows_per_statement = std::max<size_t>(1, kMaxParameters / columns.size());
    for (size_t start = 0; start < rows.size(); start += rows_per_statement) {
      const size_t end = std::min(rows.size(), start + rows_per_statement);
      std::string sql = head;
      std::vector<std::string> values;
      std::vector<bool> is_null;
      for (size_t r = start; r < end; ++r) {
        sql += r > start ? ", (" : "(";
        for (size_t i = 0; i < columns.size(); ++i) {
          const auto* cell = find_cell(rows[r], columns[i]);
          values.push_back(cell == nullptr ? std::string() : cell->value);
          is_null.push_back(cell == nullptr);
          const auto type = quarantine_table ? std::optional<ColumnType>(ColumnType::kText)
                                             : schema[table][columns[i]];
          sql += (i > 0 ? ", $" : "$") + std::to_string(values.size()) +
                 "::" + std::string(sql_type(type.value_or(ColumnType::kText)));
        }
        sql += ")";
      }
      statements.emplace_back(sql + tail, std::move(values));
      nulls.push_back(std::move(is_null));
    }
  }

  // The DDL first, in a short transaction of its own: ALTER TABLE holds an exclusive lock until
  // its transaction ends, and it waits at most lock_timeout behind readers.
  bool loading = false;  // past the DDL: a data error is the rows' fault
  // statement_timeout again in each transaction: a pooler in transaction mode may hand each
  // transaction another server connection than the one the SET at connect went to.
  const std::string timeout = "SET LOCAL statement_timeout = " + std::to_string(spec_.timeout_ms);
  auto begin = [&]() -> std::optional<SqlError> {
    if (auto error = run("BEGIN")) return error;
    return run(timeout);
  };
  auto load = [&]() -> std::optional<SqlError> {
    if (!ddl.empty()) {
      if (auto error = begin()) return error;
      if (auto error = run("SET LOCAL lock_timeout = " +
                           std::to_string(std::min<int64_t>(spec_.timeout_ms, 5'000)))) {
        return error;
      }
      for (const auto& sql : ddl) {
        if (auto error = run(sql)) return error;
      }
      if (auto error = run("COMMIT")) return error;
    }
    loading = true;
    if (auto error = begin()) return error;
    for (size_t s = 0; s < statements.size(); ++s) {
      std::vector<const char*> parameters;
      const auto& values = statements[s].second;
      for (size_t i = 0; i < values.size(); ++i) {
        parameters.push_back(nulls[s][i] ? nullptr : values[i].c_str());
      }
      if (auto error = run(statements[s].first, parameters)) return error;
    }
    return run("COMMIT");
  };
  auto error = load();
  if (!error) {
    schema_ = std::move(schema);
    SendResult result;
    result.outcome = SendResult::Outcome::kDelivered;
    return result;
  }
  // Whatever failed, the tables may not be what schema_ says (a person may have changed them):
  // read them again before the next attempt.
  if (connection_->ok()) {
    (void)run("ROLLBACK");
    schema_.reset();
  } else {
    disconnect();
  }
  log::warn("postgres_load_failed",
            {{"destination", spec_.name}, {"sqlstate", error->state}, {"error", error->message}});
  // A data error (class 22), a constraint (23) or a limit (54: a row or key too big) that
  // checking the cells did not foresee: one message alone is refused; a batch is retried, and
  // after three attempts the worker sends its messages one by one, so the one at fault ends
  // alone in the dead letters. In the DDL they are races with another loader: retried.
  const bool data_error =
      loading && (error->state.starts_with("22") || error->state.starts_with("23") ||
                  error->state.starts_with("54"));
  return failure(data_error && batch.size() == 1 ? SendResult::Outcome::kRejected
                                                 : SendResult::Outcome::kRetry,
                 "postgres: " + (error->state.empty() ? "" : error->state + " ") + error->message);
}

}  // namespace cdp::activation

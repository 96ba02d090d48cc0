#include "activation/postgres_sender.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "activation/destination_worker.h"
#include "common/uuid.h"
#include "storage/big_endian.h"
#include "storage/internal/temp_dir.h"

namespace cdp::activation {
namespace {

using ::testing::HasSubstr;

// A real PostgreSQL server: scripts/test-postgres.sh starts one and names it in
// CDP_TEST_POSTGRES (host:port, user cdp, database cdp_test). Each test gets a schema of its own.
class PostgresSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* server = std::getenv("CDP_TEST_POSTGRES");
    if (server == nullptr || *server == '\0') {
      if (std::getenv("CDP_REQUIRE_POSTGRES") != nullptr) {
        FAIL() << "CDP_TEST_POSTGRES is not set: run scripts/test-postgres.sh start";
      }
      GTEST_SKIP() << "no PostgreSQL: `export $(scripts/test-postgres.sh start)` runs these tests";
    }
    const std::string text = server;
    const auto colon = text.rfind(':');
    host_ = text.substr(0, colon);
    port_ = text.substr(colon + 1);
    schema_ = "test_" + new_uuid_v4().substr(0, 8);
    conn_ = PQconnectdb(("host=" + host_ + " port=" + port_ + " user=cdp dbname=cdp_test").c_str());
    ASSERT_EQ(PQstatus(conn_), CONNECTION_OK) << PQerrorMessage(conn_);
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    guard_ = NetworkGuard({*parse_network("127.0.0.0/8")});
  }

  void TearDown() override {
    if (conn_ != nullptr) {
      query("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
      PQfinish(conn_);
    }
  }

  DestinationSpec spec(const std::string& more = "") {
    auto parsed = parse_destination_text(
        "warehouse",
        R"({"type":"postgres","events":{},"audiences":{},"traits":{},"postgres":{"host":")" +
            host_ + R"(","port":)" + port_ + R"(,"user":"cdp","dbname":"cdp_test","schema":")" +
            schema_ + "\"}" + more + "}");
    EXPECT_TRUE(parsed.has_value()) << parsed.status().message();
    return *parsed;
  }

  // The rows of `sql` (run in the test's schema), each as its values joined with '|'.
  std::vector<std::string> query(const std::string& sql) {
    PGresult* result = PQexec(conn_, ("SET search_path TO " + schema_ + "; " + sql).c_str());
    std::vector<std::string> rows;
    const auto status = PQresultStatus(result);
    EXPECT_TRUE(status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK)
        << sql << ": " << PQerrorMessage(conn_);
    for (int r = 0; r < PQntuples(result); ++r) {
      std::string row;
      for (int c = 0; c < PQnfields(result); ++c) {
        if (c > 0) row += '|';
        row += PQgetisnull(result, r, c) ? "NULL" : PQgetvalue(result, r, c);
      }
      rows.push_back(row);
    }
    PQclear(result);
    return rows;
  }

  static SendResult send(PostgresSender& sender, const std::vector<std::string>& jsons) {
    std::vector<Message> messages;
    for (const auto& json : jsons) messages.push_back({"", "", json});
    std::vector<const Message*> batch;
    for (const auto& message : messages) batch.push_back(&message);
    return sender.send(batch, 1);
  }

  std::string host_;
  std::string port_;
  std::string schema_;
  PGconn* conn_ = nullptr;
  NetworkGuard guard_;
};

const std::string kTrack =
    R"({"type":"track","event":"Order Completed","messageId":"t1","userId":"u1",)"
    R"("timestamp":"2026-11-26T10:00:00.000Z","context":{"page":{"url":"https://x.test/"}},)"
    R"("properties":{"id":"p1","revenue":12.5,"quantity":3,"tags":["a"]}})";
const std::string kIdentify =
    R"({"type":"identify","messageId":"i1","userId":"u1","timestamp":"2026-11-26T10:00:00.000Z",)"
    R"("traits":{"email":"j@x.test","plan":"pro"}})";
const std::string kPage =
    R"({"type":"page","messageId":"g1","anonymousId":"a1","name":"Pricing",)"
    R"("timestamp":"2026-11-26T10:00:00.000Z","properties":{"path":"/pricing"}})";
const std::string kEntered =
    R"({"messageId":"audience-3.0","type":"audience_entered","audience":"vip","profile":"p-1","user_id":"u1",)"
    R"("time":"2026-11-26T10:00:02.000Z","cause":"event t1","seq":3})";

const std::string kTraits =
    R"({"messageId":"traits-4.0","type":"traits_changed","profile":"p-1","user_id":"u1",)"
    R"("traits":{"plan":"pro","seats":3},"time":"2026-11-26T10:00:03.000Z","cause":"event i1",)"
    R"("seq":4})";

TEST_F(PostgresSenderTest, LoadsEventsUsersAndAudiencesIntoTheirTables) {
  PostgresSender sender(spec(), guard_);
  ASSERT_TRUE(sender.test_connection().is_ok());
  const auto result = send(sender, {kTrack, kIdentify, kPage, kEntered, kTraits});
  ASSERT_EQ(result.outcome, SendResult::Outcome::kDelivered) << result.error;

  EXPECT_THAT(query("SELECT id, event, event_text, user_id, context_page_url, timestamp "
                    "FROM tracks"),
              ::testing::ElementsAre("t1|order_completed|Order Completed|u1|https://x.test/|"
                                     "2026-11-26 10:00:00+00"));
  EXPECT_THAT(query("SELECT id, property_id, revenue, quantity, tags FROM order_completed"),
              ::testing::ElementsAre("t1|p1|12.5|3|[\"a\"]"));
  EXPECT_THAT(query("SELECT id, email, plan FROM identifies"),
              ::testing::ElementsAre("i1|j@x.test|pro"));
  EXPECT_THAT(query("SELECT id, email, plan FROM users"),
              ::testing::ElementsAre("u1|j@x.test|pro"));
  EXPECT_THAT(query("SELECT id, name, path, anonymous_id FROM pages"),
              ::testing::ElementsAre("g1|Pricing|/pricing|a1"));
  EXPECT_THAT(query("SELECT id, audience, profile_id, type, cause, seq FROM audience_changes"),
              ::testing::ElementsAre("audience-3.0|vip|p-1|entered|event t1|3"));
  EXPECT_THAT(query("SELECT audience, profile_id, user_id, in_audience, entered_at, exited_at "
                    "FROM audience_memberships"),
              ::testing::ElementsAre("vip|p-1|u1|t|2026-11-26 10:00:02+00|NULL"));
  EXPECT_THAT(
      query("SELECT data_type FROM information_schema.columns WHERE table_schema = '" + schema_ +
            "' AND table_name = 'order_completed' AND column_name IN "
            "('revenue', 'quantity', 'tags', 'timestamp') ORDER BY column_name"),
      ::testing::ElementsAre("bigint", "double precision", "jsonb", "timestamp with time zone"));
}

TEST_F(PostgresSenderTest, LoadingABatchAgainAddsNoRows) {
  PostgresSender sender(spec(), guard_);
  const std::vector<std::string> batch = {kTrack, kIdentify, kPage, kEntered, kTrack, kTraits};
  ASSERT_EQ(send(sender, batch).outcome, SendResult::Outcome::kDelivered);
  // A crash after the load but before the worker recorded it: the batch comes again.
  PostgresSender restarted(spec(), guard_);
  ASSERT_EQ(send(restarted, batch).outcome, SendResult::Outcome::kDelivered);
  EXPECT_THAT(query("SELECT (SELECT count(*) FROM tracks), (SELECT count(*) FROM order_completed), "
                    "(SELECT count(*) FROM identifies), (SELECT count(*) FROM users), "
                    "(SELECT count(*) FROM pages), (SELECT count(*) FROM audience_changes), "
                    "(SELECT count(*) FROM audience_memberships), (SELECT count(*) FROM profiles)"),
              ::testing::ElementsAre("1|1|1|1|1|1|1|1"));
}

TEST_F(PostgresSenderTest, NewFieldsAddColumnsAndTypeConflictsAreQuarantined) {
  PostgresSender sender(spec(), guard_);
  ASSERT_EQ(send(sender, {R"({"type":"track","event":"Viewed","messageId":"v1",)"
                          R"("properties":{"count":3,"score":1}})"})
                .outcome,
            SendResult::Outcome::kDelivered);
  // count turns into a text and a fraction, score into a fraction (a double column takes it
  // only if it was one), and a new field arrives.
  const auto result = send(sender, {R"({"type":"track","event":"Viewed","messageId":"v2",)"
                                    R"("properties":{"count":"three","score":2.5,"color":"red"}})",
                                    R"({"type":"track","event":"Viewed","messageId":"v3",)"
                                    R"("properties":{"count":4.5,"color":7}})"});
  ASSERT_EQ(result.outcome, SendResult::Outcome::kDelivered) << result.error;
  EXPECT_THAT(query("SELECT id, count, score, color FROM viewed ORDER BY id"),
              ::testing::ElementsAre("v1|3|1|NULL", "v2|NULL|NULL|red", "v3|NULL|NULL|7"));
  EXPECT_THAT(query("SELECT message_id, table_name, column_name, value FROM cdp_quarantine "
                    "ORDER BY message_id, column_name"),
              ::testing::ElementsAre("v2|viewed|count|three", "v2|viewed|score|2.5",
                                     "v3|viewed|count|4.5"));
  EXPECT_THAT(query("SELECT reason FROM cdp_quarantine WHERE message_id = 'v2' AND "
                    "column_name = 'count'"),
              ::testing::ElementsAre("the column is bigint, the value is text"));
}

TEST_F(PostgresSenderTest, SurvivesTablesChangedByAPerson) {
  PostgresSender sender(spec(), guard_);
  ASSERT_EQ(send(sender, {kIdentify, kTrack}).outcome, SendResult::Outcome::kDelivered);
  // Behind the sender's back: a column dropped, one retyped, a table dropped.
  query("ALTER TABLE identifies DROP COLUMN plan");
  query("ALTER TABLE users ALTER COLUMN plan TYPE numeric USING NULL");
  query("DROP TABLE tracks");
  const std::string identify =
      R"({"type":"identify","messageId":"i2","userId":"u2","timestamp":"2026-11-26T11:00:00.000Z",)"
      R"("traits":{"plan":"team"}})";
  auto result = send(sender, {identify, kTrack});
  if (result.outcome != SendResult::Outcome::kDelivered) {
    EXPECT_EQ(result.outcome, SendResult::Outcome::kRetry);
    EXPECT_THAT(result.error, HasSubstr("postgres: 42"));
    result = send(sender, {identify, kTrack});  // the worker's next attempt
  }
  ASSERT_EQ(result.outcome, SendResult::Outcome::kDelivered) << result.error;
  EXPECT_THAT(query("SELECT id, plan FROM identifies ORDER BY id"),
              ::testing::ElementsAre("i1|NULL", "i2|team"));
  EXPECT_THAT(query("SELECT id FROM tracks"), ::testing::ElementsAre("t1"));
  EXPECT_THAT(query("SELECT message_id, column_name, reason FROM cdp_quarantine"),
              ::testing::ElementsAre(
                  "i2|plan|the column is of a type cdp does not write, the value is text"));
}

TEST_F(PostgresSenderTest, UsersAndMembershipsKeepTheNewestValues) {
  PostgresSender sender(spec(), guard_);
  auto identify = [](const std::string& id, const std::string& time, const std::string& traits) {
    return R"({"type":"identify","messageId":")" + id +
           R"(","userId":"u1","timestamp":"2026-11-26T)" + time + R"(.000Z","traits":)" + traits +
           "}";
  };
  // Within one batch and across two, an identify that happened earlier but arrives later fills
  // the columns that were empty and changes no newer value.
  ASSERT_EQ(send(sender, {identify("a", "10:00:00", R"({"plan":"pro","seats":5})"),
                          identify("b", "09:00:00", R"({"plan":"free","email":"old@x.test"})")})
                .outcome,
            SendResult::Outcome::kDelivered);
  EXPECT_THAT(query("SELECT plan, seats, email, timestamp FROM users"),
              ::testing::ElementsAre("pro|5|old@x.test|2026-11-26 10:00:00+00"));
  ASSERT_EQ(send(sender, {identify("c", "08:00:00", R"({"plan":"trial","company":"Acme"})"),
                          identify("d", "11:00:00", R"({"seats":7})")})
                .outcome,
            SendResult::Outcome::kDelivered);
  EXPECT_THAT(query("SELECT plan, seats, email, company, timestamp FROM users"),
              ::testing::ElementsAre("pro|7|old@x.test|Acme|2026-11-26 11:00:00+00"));

  auto change = [](int seq, bool entered, const std::string& time, int index = 0) {
    return R"({"messageId":"audience-)" + std::to_string(seq) + "." + std::to_string(index) +
           R"(","type":"audience_)" + (entered ? "entered" : "exited") +
           R"(","audience":"vip","profile":"p-1","time":"2026-11-26T)" + time +
           R"(.000Z","cause":"c","seq":)" + std::to_string(seq) + "}";
  };
  ASSERT_EQ(send(sender, {change(1, true, "10:00:00"), change(2, false, "10:05:00")}).outcome,
            SendResult::Outcome::kDelivered);
  EXPECT_THAT(query("SELECT in_audience, entered_at, exited_at FROM audience_memberships"),
              ::testing::ElementsAre("f|2026-11-26 10:00:00+00|2026-11-26 10:05:00+00"));
  ASSERT_EQ(send(sender, {change(3, true, "10:09:00")}).outcome, SendResult::Outcome::kDelivered);
  EXPECT_THAT(query("SELECT in_audience, entered_at, exited_at FROM audience_memberships"),
              ::testing::ElementsAre("t|2026-11-26 10:09:00+00|2026-11-26 10:05:00+00"));
  EXPECT_THAT(query("SELECT count(*) FROM audience_changes"), ::testing::ElementsAre("3"));

  // Two changes of one time (one request's events), delivered out of order by a retry: the one
  // later in the log wins (the older one changes no column the newer one set).
  ASSERT_EQ(send(sender, {change(9, false, "10:20:00")}).outcome, SendResult::Outcome::kDelivered);
  ASSERT_EQ(send(sender, {change(8, true, "10:20:00")}).outcome, SendResult::Outcome::kDelivered);
  EXPECT_THAT(query("SELECT in_audience, entered_at, exited_at, seq FROM audience_memberships"),
              ::testing::ElementsAre("f|2026-11-26 10:09:00+00|2026-11-26 10:20:00+00|9"));
  // Two changes of one seq (an unmerge's exit, then the part's entry): the later index wins.
  ASSERT_EQ(send(sender, {change(12, true, "10:30:00", 1)}).outcome,
            SendResult::Outcome::kDelivered);
  ASSERT_EQ(send(sender, {change(12, false, "10:30:00", 0)}).outcome,
            SendResult::Outcome::kDelivered);
  EXPECT_THAT(query("SELECT in_audience, seq, seq_index FROM audience_memberships"),
              ::testing::ElementsAre("t|12|1"));
}

TEST_F(PostgresSenderTest, ALoaderGivenOnlyItsSchemaLoads) {
  // What a DBA grants a loader: its schema, not the right to create schemas in the database.
  const std::string role = "loader_" + schema_;
  // (New roles have no CREATE on the database: PostgreSQL grants PUBLIC only CONNECT and TEMP.)
  query("CREATE SCHEMA " + schema_ + "; CREATE ROLE " + role +
        " LOGIN; GRANT USAGE, CREATE ON "
        "SCHEMA " +
        schema_ + " TO " + role);
  auto loader = spec();
  loader.postgres.settings["user"] = role;
  PostgresSender sender(loader, guard_);
  EXPECT_TRUE(sender.test_connection().is_ok());
  const auto result = send(sender, {kTrack, kIdentify});
  EXPECT_EQ(result.outcome, SendResult::Outcome::kDelivered) << result.error;
  EXPECT_THAT(query("SELECT id FROM tracks"), ::testing::ElementsAre("t1"));
  query("DROP SCHEMA " + schema_ + " CASCADE; DROP ROLE " + role);
}

TEST_F(PostgresSenderTest, RefusesInternalHostsUnlessAllowedAndSaysWhyItCannotConnect) {
  const NetworkGuard nothing_allowed;
  PostgresSender refused(spec(), nothing_allowed);
  const auto status = refused.test_connection();
  EXPECT_FALSE(status.is_ok());
  EXPECT_THAT(status.message(), HasSubstr("is refused"));
  EXPECT_THAT(status.message(), HasSubstr("allowed_networks"));
  EXPECT_EQ(send(refused, {kTrack}).outcome, SendResult::Outcome::kRetry);

  auto wrong = spec();
  wrong.postgres.settings["dbname"] = "no_such_database";
  PostgresSender unreachable(wrong, guard_);
  EXPECT_THAT(unreachable.test_connection().message(), HasSubstr("no_such_database"));
}

TEST_F(PostgresSenderTest, AStopEndsAStatementThatWaitsForALock) {
  PostgresSender sender(spec(R"(,"timeout_ms":60000)"), guard_);
  ASSERT_EQ(send(sender, {kTrack}).outcome, SendResult::Outcome::kDelivered);
  // A person's transaction holds the table: the next load waits for it.
  query("BEGIN; LOCK TABLE tracks IN ACCESS EXCLUSIVE MODE");
  const auto started = std::chrono::steady_clock::now();
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    sender.cancel();
  });
  auto second = kTrack;
  second.replace(second.find("\"t1\""), 4, "\"t2\"");
  const auto result = send(sender, {second});
  stopper.join();
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(result.outcome, SendResult::Outcome::kRetry);
  EXPECT_LT(waited, std::chrono::seconds(5)) << "not the 60 s statement timeout";
  query("ROLLBACK");
  EXPECT_THAT(query("SELECT id FROM tracks"), ::testing::ElementsAre("t1"));
}

TEST_F(PostgresSenderTest, ARowTheServerRefusesIsRejectedAloneAndRetriedInABatch) {
  PostgresSender sender(spec(), guard_);
  ASSERT_EQ(send(sender, {kTrack}).outcome, SendResult::Outcome::kDelivered);
  // A rule of the database's owner that checking the cells cannot foresee.
  query("ALTER TABLE tracks ADD CONSTRAINT no_bad CHECK (event_text <> 'Bad')");
  auto bad = kTrack;
  bad.replace(bad.find("\"t1\""), 4, "\"t3\"");
  bad.replace(bad.find("Order Completed"), 15, "Bad");
  auto good = kTrack;
  good.replace(good.find("\"t1\""), 4, "\"t4\"");
  auto result = send(sender, {good, bad});
  EXPECT_EQ(result.outcome, SendResult::Outcome::kRetry) << "the batch is tried again in parts";
  result = send(sender, {bad});
  EXPECT_EQ(result.outcome, SendResult::Outcome::kRejected);
  EXPECT_THAT(result.error, HasSubstr("23514"));
  EXPECT_EQ(send(sender, {good}).outcome, SendResult::Outcome::kDelivered);
  EXPECT_THAT(query("SELECT id FROM tracks ORDER BY id"), ::testing::ElementsAre("t1", "t4"));
}

TEST_F(PostgresSenderTest, AWorkerLoadsTheRawLogAndReloadingItAddsNothing) {
  storage::internal::TempDir dir;
  storage::Database::Options options;
  options.path = dir.sub("data");
  auto database = std::move(storage::Database::open(options)).value();
  ActivationStore store(*database);
  constexpr uint64_t kEvents = 3000;
  for (uint64_t seq = 1; seq <= kEvents; ++seq) {
    const std::string n = std::to_string(seq);
    const storage::RawLogRecord record{
        seq, "web", 0,
        seq % 3 == 0
            ? R"({"type":"identify","messageId":"e)" + n + R"(","userId":"user-)" +
                  std::to_string(seq % 50) + R"(","traits":{"visits":)" + n + "}}"
            : R"({"type":"track","event":"Clicked","messageId":"e)" + n + R"(","userId":"user-)" +
                  std::to_string(seq % 50) + R"(","properties":{"n":)" + n + "}}"};
    ASSERT_TRUE(database->db()
                    .Put(rocksdb::WriteOptions(), database->raw_log(), storage::u64_be(seq),
                         record.encode_value())
                    .ok());
  }
  auto destination = spec(R"(,"start":"beginning")");
  EXPECT_EQ(destination.batch_size, 1000u) << "postgres' default batch";
  auto run_worker = [&] {
    auto worker =
        DestinationWorker::start({*database, store, SystemClock::instance(), {}}, destination,
                                 std::make_unique<PostgresSender>(destination, guard_));
    ASSERT_TRUE(worker.has_value());
    for (int i = 0; i < 3000 && (*worker)->stats().delivered < kEvents; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ((*worker)->stats().delivered, kEvents);
    (*worker)->stop();
  };
  run_worker();
  // As if the server had died before recording its progress: the whole log again.
  ASSERT_TRUE(store.remove("warehouse").is_ok());
  run_worker();
  EXPECT_THAT(
      query("SELECT (SELECT count(*) FROM tracks), (SELECT count(DISTINCT id) FROM clicked), "
            "(SELECT count(*) FROM identifies), (SELECT count(*) FROM users), "
            "(SELECT max(visits) FROM users)"),
      ::testing::ElementsAre("2000|2000|1000|50|3000"));
}

}  // namespace
}  // namespace cdp::activation

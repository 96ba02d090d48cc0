#include "storage/raw_log_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <future>
#include <latch>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "storage/database.h"
#include "storage/internal/temp_dir.h"
#include "storage/raw_log_reader.h"
#include "storage/raw_log_record.h"

namespace cdp::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kStartMs = 1714566600000;  // 2024-05-01T12:30:00Z
constexpr int64_t kHourMs = 3600 * 1000;

std::string event_json(const std::string& message_id) {
  return R"({"type":"track","messageId":")" + message_id + R"("})";
}

AppendRequest make_request(std::string source, int64_t received_at_ms,
                           const std::vector<std::string>& message_ids) {
  AppendRequest request;
  request.source = std::move(source);
  request.received_at_ms = received_at_ms;
  for (const auto& id : message_ids) request.events.push_back({id, event_json(id)});
  return request;
}

// A submitted request: whether submit() took it, and its outcome once the writer is done.
struct Submitted {
  Status status;
  std::future<AppendOutcome> outcome;
};

Submitted submit(RawLogWriter& writer, AppendRequest request) {
  auto promise = std::make_shared<std::promise<AppendOutcome>>();
  Submitted submitted{Status::ok(), promise->get_future()};
  submitted.status = writer.submit(std::move(request), [promise](AppendOutcome outcome) {
    promise->set_value(std::move(outcome));
  });
  return submitted;
}

AppendOutcome wait_for(Submitted& submitted) {
  if (!submitted.status.is_ok()) return AppendOutcome{submitted.status, {}, 0, 0};
  if (submitted.outcome.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    ADD_FAILURE() << "the writer did not finish the request within 60 s";
    return AppendOutcome{Status::internal("timed out"), {}, 0, 0};
  }
  return submitted.outcome.get();
}

// Submits and waits for the outcome; a refused submit becomes the outcome's status.
AppendOutcome append(RawLogWriter& writer, AppendRequest request) {
  Submitted submitted = submit(writer, std::move(request));
  return wait_for(submitted);
}

std::vector<RawLogRecord> read_all(Database& database) {
  std::vector<RawLogRecord> records;
  RawLogReader reader(database);
  auto next = reader.scan(0, std::numeric_limits<size_t>::max(), [&](const RawLogRecord& record) {
    records.push_back(record);
    return true;
  });
  EXPECT_TRUE(next.has_value()) << next.status().to_string();
  return records;
}

std::vector<uint64_t> seqs_of(const std::vector<RawLogRecord>& records) {
  std::vector<uint64_t> seqs;
  for (const auto& record : records) seqs.push_back(record.seq);
  return seqs;
}

// Holds the writer thread inside the done callback of a request, so that the test can queue
// requests behind it deterministically. Releases the writer when destroyed.
// (A real done callback must not block; this one does so on purpose.)
class WriterBlocker {
 public:
  explicit WriterBlocker(RawLogWriter& writer) : latches_(std::make_shared<Latches>()) {
    // The callback owns the latches too: it may still be leaving release.wait() after we are gone.
    status_ = writer.submit(make_request("blocker", kStartMs, {"block"}),
                            [latches = latches_](AppendOutcome) {
                              latches->entered.count_down();
                              latches->release.wait();
                            });
  }
  ~WriterBlocker() { release(); }
  WriterBlocker(const WriterBlocker&) = delete;
  WriterBlocker& operator=(const WriterBlocker&) = delete;

  // Waits until the writer thread is inside the callback (its queue is then empty).
  bool wait_until_blocked() {
    if (!status_.is_ok()) return false;
    latches_->entered.wait();
    return true;
  }
  void release() {
    if (released_) return;
    released_ = true;
    latches_->release.count_down();
  }

 private:
  struct Latches {
    std::latch entered{1};
    std::latch release{1};
  };
  std::shared_ptr<Latches> latches_;
  Status status_;
  bool released_ = false;
};

class RawLogWriterTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }

  void open() {
    Database::Options options;
    options.path = dir_.sub("data");
    options.dedup_window_ms = dedup_window_ms_;
    options.clock = &clock_;
    auto database = Database::open(options);
    ASSERT_TRUE(database.has_value()) << database.status().to_string();
    database_ = std::move(*database);
    writer_ = std::make_unique<RawLogWriter>(*database_, writer_options_, clock_);
    ASSERT_TRUE(writer_->start().is_ok());
  }

  void close() {
    writer_.reset();
    database_.reset();
  }

  // Simulates a server restart: everything in memory is gone, only the data directory remains.
  void reopen() {
    close();
    open();
  }

  static RawLogWriter::Options default_writer_options() {
    RawLogWriter::Options options;
    options.min_free_bytes = 0;  // the test machine's free space must not matter
    return options;
  }

  internal::TempDir dir_;
  FakeClock clock_{kStartMs};
  int64_t dedup_window_ms_ = 24 * kHourMs;
  RawLogWriter::Options writer_options_ = default_writer_options();
  std::unique_ptr<Database> database_;
  std::unique_ptr<RawLogWriter> writer_;
};

TEST_F(RawLogWriterTest, EventsGetDenseIncreasingSeqsAcrossRequests) {
  auto first = append(*writer_, make_request("web", kStartMs, {"m1", "m2", "m3"}));
  ASSERT_TRUE(first.status.is_ok()) << first.status.to_string();
  EXPECT_THAT(first.seqs, ElementsAre(1, 2, 3));
  EXPECT_EQ(first.stored, 3u);
  EXPECT_EQ(first.duplicates, 0u);

  auto second = append(*writer_, make_request("web", kStartMs + 5, {"m4", "m5"}));
  ASSERT_TRUE(second.status.is_ok());
  EXPECT_THAT(second.seqs, ElementsAre(4, 5));

  const auto records = read_all(*database_);
  ASSERT_EQ(records.size(), 5u);
  EXPECT_THAT(seqs_of(records), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_EQ(records[0].source, "web");
  EXPECT_EQ(records[0].received_at_ms, kStartMs);
  EXPECT_EQ(records[0].event_json, event_json("m1"));
  EXPECT_EQ(records[4].received_at_ms, kStartMs + 5);
  EXPECT_EQ(records[4].event_json, event_json("m5"));
  EXPECT_EQ(writer_->stats().last_seq, 5u);
  EXPECT_EQ(writer_->stats().events_stored, 5u);
}

TEST_F(RawLogWriterTest, DuplicateMessageIdWithinOneRequestIsStoredOnce) {
  auto outcome = append(*writer_, make_request("web", kStartMs, {"m1", "m1", "m2"}));
  ASSERT_TRUE(outcome.status.is_ok());
  EXPECT_THAT(outcome.seqs, ElementsAre(1, 0, 2));
  EXPECT_EQ(outcome.stored, 2u);
  EXPECT_EQ(outcome.duplicates, 1u);
  EXPECT_EQ(read_all(*database_).size(), 2u);
}

TEST_F(RawLogWriterTest, DuplicateMessageIdInTheSameCommitGroupIsStoredOnce) {
  std::vector<Submitted> queued;
  {
    WriterBlocker blocker(*writer_);
    ASSERT_TRUE(blocker.wait_until_blocked());
    // These three queue up behind the blocked writer and are committed as one group.
    queued.push_back(submit(*writer_, make_request("web", kStartMs, {"m1"})));
    queued.push_back(submit(*writer_, make_request("web", kStartMs, {"m1"})));
    queued.push_back(submit(*writer_, make_request("app", kStartMs, {"m1"})));
    for (const auto& submitted : queued) ASSERT_TRUE(submitted.status.is_ok());
  }
  auto web_first = wait_for(queued[0]);
  auto web_again = wait_for(queued[1]);
  auto app = wait_for(queued[2]);
  EXPECT_THAT(web_first.seqs, ElementsAre(2));  // seq 1 is the blocker's event
  EXPECT_THAT(web_again.seqs, ElementsAre(0));
  EXPECT_EQ(web_again.duplicates, 1u);
  EXPECT_THAT(app.seqs, ElementsAre(3));
  EXPECT_EQ(read_all(*database_).size(), 3u);
  EXPECT_EQ(writer_->stats().duplicates, 1u);
}

TEST_F(RawLogWriterTest, DuplicateMessageIdInALaterRequestIsAcknowledgedButNotStored) {
  ASSERT_TRUE(append(*writer_, make_request("web", kStartMs, {"m1"})).status.is_ok());
  clock_.advance_ms(1000);
  auto retry = append(*writer_, make_request("web", kStartMs + 1000, {"m1", "m2"}));
  ASSERT_TRUE(retry.status.is_ok()) << "a duplicate is acknowledged, not an error";
  EXPECT_THAT(retry.seqs, ElementsAre(0, 2));
  EXPECT_EQ(retry.duplicates, 1u);
  EXPECT_EQ(retry.stored, 1u);
  const auto records = read_all(*database_);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].received_at_ms, kStartMs) << "the first copy is the one kept";
}

TEST_F(RawLogWriterTest, SameMessageIdFromAnotherSourceIsStored) {
  ASSERT_TRUE(append(*writer_, make_request("web", kStartMs, {"m1"})).status.is_ok());
  auto other = append(*writer_, make_request("ios", kStartMs, {"m1"}));
  ASSERT_TRUE(other.status.is_ok());
  EXPECT_THAT(other.seqs, ElementsAre(2));
  const auto records = read_all(*database_);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].source, "ios");
}

TEST_F(RawLogWriterTest, SourceAndMessageIdDoNotBleedIntoEachOther) {
  // "ab" + "c" and "a" + "bc" must be different dedup keys.
  ASSERT_TRUE(append(*writer_, make_request("ab", kStartMs, {"c"})).status.is_ok());
  auto other = append(*writer_, make_request("a", kStartMs, {"bc"}));
  EXPECT_THAT(other.seqs, ElementsAre(2));
}

TEST_F(RawLogWriterTest, DedupSurvivesARestart) {
  ASSERT_TRUE(append(*writer_, make_request("web", kStartMs, {"m1"})).status.is_ok());
  reopen();
  auto retry = append(*writer_, make_request("web", kStartMs + 10, {"m1", "m2"}));
  ASSERT_TRUE(retry.status.is_ok());
  EXPECT_THAT(retry.seqs, ElementsAre(0, 2));
  EXPECT_EQ(read_all(*database_).size(), 2u);
}

TEST_F(RawLogWriterTest, MessageIdIsAcceptedAgainOnceTheDedupWindowHasPassed) {
  close();
  dedup_window_ms_ = kHourMs;
  open();
  ASSERT_TRUE(append(*writer_, make_request("web", kStartMs, {"m1"})).status.is_ok());

  clock_.set_ms(kStartMs + kHourMs);  // the window's last millisecond
  auto inside = append(*writer_, make_request("web", clock_.now_ms(), {"m1"}));
  EXPECT_THAT(inside.seqs, ElementsAre(0));

  clock_.set_ms(kStartMs + kHourMs + 1);
  auto after = append(*writer_, make_request("web", clock_.now_ms(), {"m1"}));
  ASSERT_TRUE(after.status.is_ok());
  EXPECT_THAT(after.seqs, ElementsAre(2));
  EXPECT_EQ(read_all(*database_).size(), 2u);

  // The new copy starts a new window.
  auto again = append(*writer_, make_request("web", clock_.now_ms(), {"m1"}));
  EXPECT_THAT(again.seqs, ElementsAre(0));
}

TEST_F(RawLogWriterTest, LastSeqSurvivesRestart) {
  ASSERT_TRUE(append(*writer_, make_request("web", kStartMs, {"m1", "m2", "m3"})).status.is_ok());
  reopen();
  EXPECT_EQ(writer_->stats().last_seq, 3u);
  auto next = append(*writer_, make_request("web", kStartMs, {"m4"}));
  EXPECT_THAT(next.seqs, ElementsAre(4));
}

TEST_F(RawLogWriterTest, SeqsNeverRestartAfterRetentionDeletesTheWholeLog) {
  ASSERT_TRUE(append(*writer_, make_request("web", kStartMs, {"m1", "m2", "m3"})).status.is_ok());
  auto deleted = delete_raw_log_before(*database_, kStartMs + 1);
  ASSERT_TRUE(deleted.has_value()) << deleted.status().to_string();
  EXPECT_EQ(*deleted, 3u);
  EXPECT_TRUE(read_all(*database_).empty());

  reopen();
  auto bounds = RawLogReader(*database_).bounds();
  ASSERT_TRUE(bounds.has_value());
  EXPECT_EQ(*bounds, (std::pair<uint64_t, uint64_t>{0, 0}));
  auto next = append(*writer_, make_request("web", kStartMs, {"m4"}));
  ASSERT_TRUE(next.status.is_ok());
  EXPECT_THAT(next.seqs, ElementsAre(4));
  EXPECT_THAT(seqs_of(read_all(*database_)), ElementsAre(4));
}

TEST_F(RawLogWriterTest, ConcurrentSubmittersStoreEveryEventExactlyOnceWithUniqueSeqs) {
  constexpr int kThreads = 8;
  constexpr int kRequestsPerThread = 60;
  // Each request carries two events of its own and one messageId that every thread also sends.
  std::vector<std::vector<AppendOutcome>> outcomes(kThreads);
  std::vector<std::thread> threads;
  std::latch go(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      go.arrive_and_wait();
      for (int i = 0; i < kRequestsPerThread; ++i) {
        const std::string own = "t" + std::to_string(t) + "-" + std::to_string(i);
        auto request =
            make_request("web", kStartMs, {own + "-a", "shared-" + std::to_string(i), own + "-b"});
        while (true) {
          Submitted submitted = submit(*writer_, request);
          if (submitted.status.code() == StatusCode::kResourceExhausted) {
            std::this_thread::yield();
            continue;
          }
          outcomes[static_cast<size_t>(t)].push_back(wait_for(submitted));
          break;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();

  const size_t expected_events = kThreads * kRequestsPerThread * 2 + kRequestsPerThread;
  std::set<uint64_t> acknowledged;
  size_t stored = 0;
  size_t duplicates = 0;
  for (const auto& per_thread : outcomes) {
    for (const auto& outcome : per_thread) {
      ASSERT_TRUE(outcome.status.is_ok()) << outcome.status.to_string();
      ASSERT_EQ(outcome.seqs.size(), 3u);
      stored += outcome.stored;
      duplicates += outcome.duplicates;
      for (uint64_t seq : outcome.seqs) {
        if (seq == 0) continue;
        EXPECT_TRUE(acknowledged.insert(seq).second) << "seq " << seq << " given twice";
      }
    }
  }
  EXPECT_EQ(stored, expected_events);
  EXPECT_EQ(duplicates, static_cast<size_t>(kThreads - 1) * kRequestsPerThread);
  ASSERT_EQ(acknowledged.size(), expected_events);
  EXPECT_EQ(*acknowledged.begin(), 1u);
  EXPECT_EQ(*acknowledged.rbegin(), expected_events) << "seqs are dense";

  const auto records = read_all(*database_);
  ASSERT_EQ(records.size(), expected_events);
  std::set<std::string> events;
  for (const auto& record : records) {
    EXPECT_TRUE(events.insert(record.event_json).second) << "stored twice: " << record.event_json;
  }
  for (int i = 0; i < kRequestsPerThread; ++i) {
    EXPECT_EQ(events.count(event_json("shared-" + std::to_string(i))), 1u);
  }
}

TEST_F(RawLogWriterTest, FullQueueRefusesWithResourceExhaustedAndKeepsWhatItAccepted) {
  close();
  writer_options_.max_queue_bytes = 200;
  open();
  const auto big_request = [](const std::string& id) {
    AppendRequest request = make_request("web", kStartMs, {id});
    request.events[0].json =
        R"({"messageId":")" + id + R"(","pad":")" + std::string(100, 'x') + R"("})";
    return request;
  };
  Submitted accepted;
  Submitted refused;
  {
    WriterBlocker blocker(*writer_);
    ASSERT_TRUE(blocker.wait_until_blocked());
    accepted = submit(*writer_, big_request("m1"));
    ASSERT_TRUE(accepted.status.is_ok()) << "an empty queue takes any request";
    refused = submit(*writer_, big_request("m2"));
    EXPECT_EQ(refused.status.code(), StatusCode::kResourceExhausted) << refused.status.to_string();
    EXPECT_EQ(writer_->stats().queued_requests, 1u);
  }
  auto outcome = wait_for(accepted);
  ASSERT_TRUE(outcome.status.is_ok());
  EXPECT_THAT(outcome.seqs, ElementsAre(2));

  // Once the queue has drained, the refused request can be sent again.
  auto retry = append(*writer_, big_request("m2"));
  ASSERT_TRUE(retry.status.is_ok()) << retry.status.to_string();
  EXPECT_THAT(retry.seqs, ElementsAre(3));
  EXPECT_EQ(read_all(*database_).size(), 3u);
}

TEST_F(RawLogWriterTest, DiskBelowTheReserveMakesWritesUnavailableAndStoresNothing) {
  close();
  writer_options_.min_free_bytes = std::numeric_limits<uint64_t>::max();
  open();
  auto outcome = append(*writer_, make_request("web", kStartMs, {"m1", "m2"}));
  EXPECT_EQ(outcome.status.code(), StatusCode::kUnavailable) << outcome.status.to_string();
  EXPECT_THAT(outcome.status.message(), HasSubstr("bytes free"));
  EXPECT_TRUE(outcome.seqs.empty());
  EXPECT_FALSE(writer_->stats().storage_available);

  // Later requests are refused at once instead of queueing.
  Submitted later = submit(*writer_, make_request("web", kStartMs, {"m3"}));
  EXPECT_EQ(later.status.code(), StatusCode::kUnavailable);

  EXPECT_TRUE(read_all(*database_).empty());
  EXPECT_EQ(writer_->stats().last_seq, 0u);
  reopen();
  EXPECT_EQ(writer_->stats().last_seq, 0u);
}

TEST_F(RawLogWriterTest, StopFinishesQueuedRequestsAndThenRefusesNewOnes) {
  std::vector<Submitted> queued;
  for (int i = 0; i < 20; ++i) {
    queued.push_back(submit(*writer_, make_request("web", kStartMs, {"m" + std::to_string(i)})));
  }
  writer_->stop();
  for (auto& submitted : queued) {
    ASSERT_TRUE(submitted.status.is_ok());
    EXPECT_TRUE(wait_for(submitted).status.is_ok());
  }
  EXPECT_EQ(read_all(*database_).size(), 20u);
  Submitted late = submit(*writer_, make_request("web", kStartMs, {"late"}));
  EXPECT_EQ(late.status.code(), StatusCode::kUnavailable);
  writer_->stop();  // idempotent
}

TEST_F(RawLogWriterTest, DeleteRawLogBeforeDeletesExactlyTheRecordsOlderThanTheCutoff) {
  const int64_t received[] = {1000, 2000, 3000, 3000, 4000, 5000};
  int index = 0;
  for (int64_t at : received) {
    const std::string id = "m" + std::to_string(index++);
    ASSERT_TRUE(append(*writer_, make_request("web", at, {id})).status.is_ok());
  }
  auto none = delete_raw_log_before(*database_, 1000);
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(*none, 0u) << "a record received exactly at the cutoff is kept";

  auto two = delete_raw_log_before(*database_, 2500);
  ASSERT_TRUE(two.has_value());
  EXPECT_EQ(*two, 2u);
  EXPECT_THAT(seqs_of(read_all(*database_)), ElementsAre(3, 4, 5, 6));

  auto again = delete_raw_log_before(*database_, 2500);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(*again, 0u);

  auto kept = delete_raw_log_before(*database_, 4000, /*keep_from_seq=*/4);
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(*kept, 1u) << "records from keep_from_seq on stay, however old";
  EXPECT_THAT(seqs_of(read_all(*database_)), ElementsAre(4, 5, 6));

  auto two_more = delete_raw_log_before(*database_, 4000);
  ASSERT_TRUE(two_more.has_value());
  EXPECT_EQ(*two_more, 1u);
  const auto records = read_all(*database_);
  EXPECT_THAT(seqs_of(records), ElementsAre(5, 6));
  EXPECT_EQ(records[0].received_at_ms, 4000);

  auto rest = delete_raw_log_before(*database_, 1000000);
  ASSERT_TRUE(rest.has_value());
  EXPECT_EQ(*rest, 2u);
  EXPECT_TRUE(read_all(*database_).empty());
  auto empty = delete_raw_log_before(*database_, 1000000);
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(*empty, 0u);
}

TEST_F(RawLogWriterTest, ScanStartsAtFromSeqAndStopsAtTheLimitOrWhenToldTo) {
  ASSERT_TRUE(
      append(*writer_, make_request("web", kStartMs, {"a", "b", "c", "d", "e"})).status.is_ok());
  RawLogReader reader(*database_);
  std::vector<uint64_t> seen;
  auto next = reader.scan(2, 2, [&](const RawLogRecord& record) {
    seen.push_back(record.seq);
    return true;
  });
  ASSERT_TRUE(next.has_value());
  EXPECT_THAT(seen, ElementsAre(2, 3));
  EXPECT_EQ(*next, 4u);

  seen.clear();
  next = reader.scan(4, 100, [&](const RawLogRecord& record) {
    seen.push_back(record.seq);
    return false;
  });
  EXPECT_THAT(seen, ElementsAre(4));
  EXPECT_EQ(*next, 5u);

  seen.clear();
  next = reader.scan(6, 100, [&](const RawLogRecord& record) {
    seen.push_back(record.seq);
    return true;
  });
  EXPECT_TRUE(seen.empty());
  EXPECT_EQ(*next, 6u) << "past the end, the cursor stays where it was";
}

TEST_F(RawLogWriterTest, FollowerSeesWhatTheWriterWroteAfterCatchUp) {
  ASSERT_TRUE(append(*writer_, make_request("web", kStartMs, {"m1", "m2"})).status.is_ok());
  auto follower = Database::open_follower(dir_.sub("data"), dir_.sub("follower"));
  ASSERT_TRUE(follower.has_value()) << follower.status().to_string();
  EXPECT_THAT(seqs_of(read_all(**follower)), ElementsAre(1, 2));

  ASSERT_TRUE(append(*writer_, make_request("app", kStartMs + 7, {"m3"})).status.is_ok());
  ASSERT_TRUE((*follower)->catch_up().is_ok());
  const auto records = read_all(**follower);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[2].seq, 3u);
  EXPECT_EQ(records[2].source, "app");
  EXPECT_EQ(records[2].received_at_ms, kStartMs + 7);
  EXPECT_EQ(records[2].event_json, event_json("m3"));
}

TEST(DatabaseTest, FollowerOfAMissingDirectoryIsNotFound) {
  internal::TempDir dir;
  auto follower = Database::open_follower(dir.sub("nothing"), dir.sub("scratch"));
  ASSERT_FALSE(follower.has_value());
  EXPECT_EQ(follower.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(follower.status().message(), HasSubstr(dir.sub("nothing")));
}

TEST(DatabaseTest, NewerFormatVersionIsRefusedWithBothVersionsInTheMessage) {
  internal::TempDir dir;
  Database::Options options;
  options.path = dir.sub("data");
  {
    auto database = Database::open(options);
    ASSERT_TRUE(database.has_value()) << database.status().to_string();
    auto stored = (*database)->get_meta("format_version");
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(*stored, std::to_string(Database::kFormatVersion)) << "a new directory is stamped";
    ASSERT_TRUE((*database)->put_meta("format_version", "99").is_ok());
  }
  auto reopened = Database::open(options);
  ASSERT_FALSE(reopened.has_value());
  EXPECT_EQ(reopened.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(reopened.status().message(), HasSubstr("99"));
  EXPECT_THAT(reopened.status().message(),
              HasSubstr("(" + std::to_string(Database::kFormatVersion) + ")"));
  EXPECT_THAT(reopened.status().message(), HasSubstr(options.path));

  auto follower = Database::open_follower(options.path, dir.sub("follower"));
  ASSERT_FALSE(follower.has_value());
  EXPECT_EQ(follower.status().code(), StatusCode::kFailedPrecondition);
}

TEST(DatabaseTest, MetaEntriesPersistAndScanByPrefix) {
  internal::TempDir dir;
  Database::Options options;
  options.path = dir.sub("data");
  {
    auto database = Database::open(options);
    ASSERT_TRUE(database.has_value());
    ASSERT_TRUE((*database)->put_meta("source/web", "1").is_ok());
    ASSERT_TRUE((*database)->put_meta("source/app", "2").is_ok());
    ASSERT_TRUE((*database)->put_meta("sourcez", "3").is_ok());
    ASSERT_TRUE((*database)->delete_meta("source/app").is_ok());
  }
  auto database = Database::open(options);
  ASSERT_TRUE(database.has_value());
  auto entries = (*database)->scan_meta("source/");
  ASSERT_TRUE(entries.has_value());
  EXPECT_THAT(*entries, ElementsAre(std::pair<std::string, std::string>{"source/web", "1"}));
  auto missing = (*database)->get_meta("source/app");
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(missing->has_value());
}

}  // namespace
}  // namespace cdp::storage

#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/status.h"
#include "pipeline/processor.h"
#include "pipeline/profile_linker.h"
#include "pipeline/review_store.h"
#include "storage/raw_log_writer.h"

namespace cdp::pipeline {

// One matching run's request and outcome.
struct LinkingRunReport {
  uint64_t id = 0;
  bool full = false;             // every profile against every other; else only new profiles
  std::string state = "queued";  // queued, running, done, failed
  std::string error;
  int64_t requested_ms = 0;
  int64_t finished_ms = 0;
  size_t profiles = 0;
  size_t new_profiles = 0;
  uint64_t candidate_pairs = 0;
  size_t largest_cluster = 0;
  size_t links = 0;           // appended to the log
  size_t links_rejected = 0;  // proposed again for a pair a person rejected: not appended
  size_t reviews_queued = 0;  // new pairs in the review queue (known pairs are not queued twice)
  bool trained = false;       // a model was trained (else the saved one was used)
  std::vector<match::StageReport> stages;
};
std::string linking_run_json(const LinkingRunReport& report);

// Probabilistic matching of profiles as a service of the server (docs/matching.md, "Profiles"):
// runs link_profiles on a worker thread when asked (the admin API, after an import), appends the
// links it proposes to the raw log as storage::kMatchSource entries, where the processor merges
// the profiles, and queues the uncertain pairs for review. Accepting a review appends its link;
// rejecting it keeps the pair from being linked by later runs.
//
// Incremental runs score only the profiles created since the previous run (a watermark in
// meta `matching/watermark`) and reuse the last trained model (<data>/matching/model.json, or
// the configured one); a full run scores everything and retrains unless a model is configured.
// A run first waits until the processor has applied everything in the log when it starts, so it
// sees the rows an import just stored.
//
// Lifecycle: start(), request()/decide() from any thread, stop(). Thread-safe.
class LinkingService {
 public:
  struct Options {
    match::MatchConfig config;
    std::optional<match::SavedModel> model;  // configured: used instead of training
    std::string data_dir;
    const Clock* clock = &SystemClock::instance();
  };

  static Result<std::unique_ptr<LinkingService>> start(storage::Database& database,
                                                       storage::RawLogWriter& writer,
                                                       Processor& processor, Options options);
  ~LinkingService();
  LinkingService(const LinkingService&) = delete;
  LinkingService& operator=(const LinkingService&) = delete;

  // Queues a run (one already queued of the same kind, or a full one, is returned instead).
  Result<LinkingRunReport> request(bool full);
  // The newest run as JSON (linking_run_json): queued, running or finished, or the last one
  // finished before a restart; nullopt before the first.
  std::optional<std::string> latest_json() const;
  // Run `id` as JSON, while it is among the last 100 runs since the start (or is the restored
  // one).
  std::optional<std::string> run_json(uint64_t id) const;

  ReviewStore& reviews() { return reviews_; }
  // explain_profiles with the model runs use (the configured one, or the last trained);
  // kFailedPrecondition before any model exists.
  Result<std::string> explain(const profile::Profile& a, const profile::Profile& b);
  // Accepts (appends the pair's link, durable before it returns) or rejects a pending review.
  // kNotFound: no such review; kFailedPrecondition: it was decided already.
  Result<Review> decide(uint64_t id, bool accept);

  void stop();

 private:
  LinkingService(storage::Database& database, storage::RawLogWriter& writer, Processor& processor,
                 Options options);
  void run();
  Status execute(LinkingRunReport& report);
  // Appends links as one group of entries; returns their seqs (0: already in the log). With
  // `wait`, a busy or full log is waited out; without, it is the error.
  Result<std::vector<uint64_t>> append(
      const std::vector<std::pair<std::string, std::string>>& entries, bool wait);
  // The pairs of live profiles people rejected, as the profiles are now (anchors move with
  // merges, so a rejection is matched by who holds them today).
  Result<std::set<std::pair<profile::ProfileId, profile::ProfileId>>> rejected_pairs();
  void publish(const LinkingRunReport& report);
  std::string model_path() const;

  storage::Database& database_;
  storage::RawLogWriter& writer_;
  Processor& processor_;
  Options options_;
  ReviewStore reviews_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<LinkingRunReport> queue_;
  std::optional<LinkingRunReport> latest_;
  std::deque<LinkingRunReport> recent_;  // the last runs, oldest first
  std::string restored_json_;            // the last finished run before this start
  uint64_t last_run_id_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex decide_mutex_;  // one decision at a time: a review is never linked twice
  std::thread thread_;
};

}  // namespace cdp::pipeline

#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "pipeline/profile_linker.h"
#include "storage/database.h"

namespace cdp::pipeline {

// A pair of profiles the matcher was not sure about, waiting for a person.
enum class ReviewState { kPending, kAccepted, kRejected };
std::string_view review_state_name(ReviewState state);
std::optional<ReviewState> parse_review_state(std::string_view name);

struct Review {
  uint64_t id = 0;
  uint64_t run = 0;  // the matching run that proposed it
  ProposedLink pair;
  ReviewState state = ReviewState::kPending;
  int64_t created_ms = 0;
  int64_t decided_ms = 0;
  uint64_t link_seq = 0;  // accepted: the raw log entry of the link it became
};
std::string review_json(const Review& review);

// The `matching` column family (docs/formats/matching.md):
//   'r' id(u64 BE)      -> review JSON
//   'p' a \0 b          -> id(u64 BE), a < b: each pair of anchors is queued once, ever
// Thread-safe; ids are assigned under a lock.
class ReviewStore {
 public:
  explicit ReviewStore(storage::Database& database) : database_(database) {}

  // Queues the pair unless it was queued before (in any state). Returns the id, or 0 when the
  // pair was already known.
  Result<uint64_t> add(const ProposedLink& pair, uint64_t run, int64_t now_ms);
  Result<std::optional<Review>> get(uint64_t id);
  Status put(const Review& review);
  // Reviews in `state` (all states when nullopt), newest first, ids below `before` (0: newest).
  Result<std::vector<Review>> list(std::optional<ReviewState> state, uint64_t before, size_t limit);
  // The state of the review of anchors a and b, if they were ever queued.
  Result<std::optional<ReviewState>> state_of(const std::string& a, const std::string& b);

 private:
  storage::Database& database_;
  std::mutex mutex_;
  uint64_t last_id_ = 0;  // 0: not read yet
};

}  // namespace cdp::pipeline

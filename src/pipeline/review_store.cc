#include "pipeline/review_store.h"

#include <rocksdb/write_batch.h>

#include <charconv>
#include <cstdlib>
#include <memory>

#include "common/json_writer.h"
#include "common/time_format.h"
#include "ingest/json_tree.h"
#include "storage/big_endian.h"

namespace cdp::pipeline {
namespace {

constexpr const char* kLastIdKey = "matching/last_review_id";

std::string review_key(uint64_t id) {
  std::string key = "r";
  storage::append_u64_be(key, id);
  return key;
}

std::string pair_key(const std::string& a, const std::string& b) {
  const bool ordered = a < b;
  std::string key = "p";
  key += ordered ? a : b;
  key.push_back('\0');
  key += ordered ? b : a;
  return key;
}

Status failed(const rocksdb::Status& status, const std::string& what) {
  return Status::unavailable(what + ": " + status.ToString());
}

std::string text_of(const ingest::JsonValue* value) {
  return value != nullptr && value->is_string() ? std::string(value->text) : std::string();
}

uint64_t number_of(const ingest::JsonValue* value) {
  if (value == nullptr || value->kind != ingest::JsonKind::kNumber) return 0;
  uint64_t out = 0;
  std::from_chars(value->text.data(), value->text.data() + value->text.size(), out);
  return out;
}

Result<Review> parse_review(std::string_view json) {
  ingest::JsonParser parser;
  auto root = parser.parse(json);
  if (!root || !(*root)->is_object()) return Status::corruption("a stored review is not JSON");
  const auto& object = **root;
  Review review;
  review.id = number_of(object.find("id"));
  review.run = number_of(object.find("run"));
  review.pair.a = text_of(object.find("a"));
  review.pair.b = text_of(object.find("b"));
  review.pair.profile_a = number_of(object.find("profileA"));
  review.pair.profile_b = number_of(object.find("profileB"));
  if (const auto* probability = object.find("probability"); probability != nullptr) {
    review.pair.probability = std::strtod(std::string(probability->text).c_str(), nullptr);
  }
  if (const auto* explanation = object.find("explanation");
      explanation != nullptr && explanation->is_object()) {
    ingest::write_json(review.pair.explanation, *explanation);
  }
  auto state = parse_review_state(text_of(object.find("state")));
  if (!state) return Status::corruption("review " + std::to_string(review.id) + " has no state");
  review.state = *state;
  review.created_ms = static_cast<int64_t>(number_of(object.find("createdAtMs")));
  review.decided_ms = static_cast<int64_t>(number_of(object.find("decidedAtMs")));
  review.link_seq = number_of(object.find("linkSeq"));
  return review;
}

}  // namespace

std::string_view review_state_name(ReviewState state) {
  switch (state) {
    case ReviewState::kPending: return "pending";
    case ReviewState::kAccepted: return "accepted";
    case ReviewState::kRejected: return "rejected";
  }
  return "pending";
}

std::optional<ReviewState> parse_review_state(std::string_view name) {
  for (auto state : {ReviewState::kPending, ReviewState::kAccepted, ReviewState::kRejected}) {
    if (review_state_name(state) == name) return state;
  }
  return std::nullopt;
}

std::string review_json(const Review& review) {
  JsonWriter out;
  out.begin_object();
  out.key("id").number(static_cast<int64_t>(review.id));
  out.key("run").number(static_cast<int64_t>(review.run));
  out.key("a").string(review.pair.a);
  out.key("b").string(review.pair.b);
  out.key("profileA").number(static_cast<int64_t>(review.pair.profile_a));
  out.key("profileB").number(static_cast<int64_t>(review.pair.profile_b));
  out.key("probability").number(review.pair.probability);
  if (!review.pair.explanation.empty()) out.key("explanation").raw(review.pair.explanation);
  out.key("state").string(review_state_name(review.state));
  out.key("createdAt").string(format_iso8601_ms(review.created_ms));
  out.key("createdAtMs").number(review.created_ms);
  if (review.decided_ms != 0) {
    out.key("decidedAt").string(format_iso8601_ms(review.decided_ms));
    out.key("decidedAtMs").number(review.decided_ms);
  }
  if (review.link_seq != 0) out.key("linkSeq").number(static_cast<int64_t>(review.link_seq));
  out.end_object();
  return out.take();
}

Result<uint64_t> ReviewStore::add(const ProposedLink& pair, uint64_t run, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  const std::string key = pair_key(pair.a, pair.b);
  std::string existing;
  auto status = database_.db().Get(rocksdb::ReadOptions(), database_.matching(), key, &existing);
  if (status.ok()) return uint64_t{0};
  if (!status.IsNotFound()) return failed(status, "reading the review queue");
  if (last_id_ == 0) {
    auto stored = database_.get_meta(kLastIdKey);
    if (!stored) return stored.status();
    last_id_ = stored->has_value() ? std::stoull(**stored) : 0;
  }
  Review review;
  review.id = last_id_ + 1;
  review.run = run;
  review.pair = pair;
  review.created_ms = now_ms;
  rocksdb::WriteBatch batch;
  batch.Put(database_.matching(), key, storage::u64_be(review.id));
  batch.Put(database_.matching(), review_key(review.id), review_json(review));
  batch.Put(database_.meta(), kLastIdKey, std::to_string(review.id));
  status = database_.db().Write(rocksdb::WriteOptions(), &batch);
  if (!status.ok()) return failed(status, "queueing a review");
  last_id_ = review.id;
  return review.id;
}

Result<std::optional<Review>> ReviewStore::get(uint64_t id) {
  std::string value;
  auto status =
      database_.db().Get(rocksdb::ReadOptions(), database_.matching(), review_key(id), &value);
  if (status.IsNotFound()) return std::optional<Review>();
  if (!status.ok()) return failed(status, "reading review " + std::to_string(id));
  auto review = parse_review(value);
  if (!review) return review.status();
  return std::optional<Review>(std::move(*review));
}

Status ReviewStore::put(const Review& review) {
  auto status = database_.db().Put(rocksdb::WriteOptions(), database_.matching(),
                                   review_key(review.id), review_json(review));
  if (!status.ok()) return failed(status, "storing review " + std::to_string(review.id));
  return Status::ok();
}

Result<std::vector<Review>> ReviewStore::list(std::optional<ReviewState> state, uint64_t before,
                                              size_t limit) {
  std::vector<Review> out;
  std::unique_ptr<rocksdb::Iterator> it(
      database_.db().NewIterator(rocksdb::ReadOptions(), database_.matching()));
  if (before == 0) {
    it->SeekForPrev(std::string("r\xff", 2));
  } else {
    it->SeekForPrev(review_key(before - 1));
  }
  for (; it->Valid() && out.size() < limit && it->key().starts_with("r"); it->Prev()) {
    auto review = parse_review(it->value().ToStringView());
    if (!review) return review.status();
    if (!state || review->state == *state) out.push_back(std::move(*review));
  }
  if (!it->status().ok()) return failed(it->status(), "listing reviews");
  return out;
}

Result<std::optional<ReviewState>> ReviewStore::state_of(const std::string& a,
                                                         const std::string& b) {
  std::string id;
  auto status =
      database_.db().Get(rocksdb::ReadOptions(), database_.matching(), pair_key(a, b), &id);
  if (status.IsNotFound()) return std::optional<ReviewState>();
  if (!status.ok()) return failed(status, "reading the review queue");
  auto review = get(storage::read_u64_be(id));
  if (!review) return review.status();
  if (!review->has_value()) return std::optional<ReviewState>();
  return std::optional<ReviewState>((*review)->state);
}

}  // namespace cdp::pipeline

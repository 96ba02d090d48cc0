// The binary form of a profile's audience state (docs/formats/profiles.md, "Audience state").
//
// Rationale: with many audiences the state is most of a profile record, and every event decodes
// and re-encodes its profile's record. As JSON it was 40% of the processor's time with 100
// audiences (a tree built per record, then copied into the maps); this form is read straight
// into the maps and is about half the size, which also halves what memtables, the WAL,
// flushes and compactions carry.
#include <bit>
#include <cmath>
#include <cstring>
#include <iterator>

#include "audience/profile_state.h"

namespace cdp::audience {
namespace {

constexpr uint8_t kVersion = 1;
// Numbers are stored as the bytes of a double, documented as little-endian.
static_assert(std::endian::native == std::endian::little);

// Which of a bucket's fields follow its start.
enum BucketField : uint8_t {
  kCount = 1,
  kSum = 2,
  kMin = 4,
  kMax = 8,
  kFirstLast = 16,
  kValues = 32,
};

uint64_t zigzag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t unzigzag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// Times and seqs are written as differences from the previous time (seq) in the record: a
// profile's are close together, so most take 2-4 bytes instead of 6-8.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  void byte(uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      byte(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    byte(static_cast<uint8_t>(v));
  }
  void text(std::string_view s) {
    varint(s.size());
    out_.append(s);
  }
  void number(double d) {
    char bytes[8];
    std::memcpy(bytes, &d, 8);
    out_.append(bytes, 8);
  }
  void time(int64_t ms) {
    varint(zigzag(static_cast<int64_t>(static_cast<uint64_t>(ms) - static_cast<uint64_t>(time_))));
    time_ = ms;
  }
  void seq(uint64_t s) {
    varint(zigzag(static_cast<int64_t>(s - seq_)));
    seq_ = s;
  }

 private:
  std::string& out_;
  int64_t time_ = 0;
  uint64_t seq_ = 0;
};

// Every read checks what is left; the first failure sticks and the caller reports it.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool ok() const { return ok_; }
  bool at_end() const { return in_.empty(); }
  const char* failed_at() const { return what_; }

  uint8_t byte(const char* what) {
    if (!check(!in_.empty(), what)) return 0;
    const auto b = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return b;
  }
  uint64_t varint(const char* what) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const auto b = byte(what);
      if (!ok_) return 0;
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return v;
    }
    check(false, what);
    return 0;
  }
  // A count of items that take at least `item_bytes` bytes each: more than what is left holds
  // is corrupt (and would otherwise reserve memory for garbage).
  size_t count(const char* what, size_t item_bytes = 1) {
    const auto n = varint(what);
    return check(n <= in_.size() / item_bytes, what) ? static_cast<size_t>(n) : 0;
  }
  std::string_view text(const char* what) {
    const auto n = count(what);
    if (!ok_) return {};
    const auto s = in_.substr(0, n);
    in_.remove_prefix(n);
    return s;
  }
  // Finite: the engine never stores NaN or infinities (nor could JSON).
  double number(const char* what) {
    if (!check(in_.size() >= 8, what)) return 0;
    double d = 0;
    std::memcpy(&d, in_.data(), 8);
    in_.remove_prefix(8);
    return check(std::isfinite(d), what) ? d : 0;
  }
  int64_t time(const char* what) {
    const auto delta = unzigzag(varint(what));
    time_ = static_cast<int64_t>(static_cast<uint64_t>(time_) + static_cast<uint64_t>(delta));
    return time_;
  }
  uint64_t seq(const char* what) {
    seq_ += static_cast<uint64_t>(unzigzag(varint(what)));
    return seq_;
  }
  bool check(bool condition, const char* what) {
    if (!condition && ok_) {
      ok_ = false;
      what_ = what;
    }
    return ok_;
  }

 private:
  std::string_view in_;
  bool ok_ = true;
  const char* what_ = "";
  int64_t time_ = 0;
  uint64_t seq_ = 0;
};

void write_bucket(Writer& out, const AggregateBucket& bucket) {
  uint8_t fields = 0;
  if (bucket.count != 0) fields |= kCount;
  if (bucket.sum != 0) fields |= kSum;
  if (bucket.min != 0) fields |= kMin;
  if (bucket.max != 0) fields |= kMax;
  if (!bucket.first_json.empty() || !bucket.last_json.empty()) fields |= kFirstLast;
  if (!bucket.values.empty()) fields |= kValues;
  out.byte(fields);
  out.time(bucket.start_ms);
  if (fields & kCount) out.varint(bucket.count);
  if (fields & kSum) out.number(bucket.sum);
  if (fields & kMin) out.number(bucket.min);
  if (fields & kMax) out.number(bucket.max);
  if (fields & kFirstLast) {
    out.time(bucket.first_ms);
    out.seq(bucket.first_seq);
    out.text(bucket.first_json);
    out.time(bucket.last_ms);
    out.seq(bucket.last_seq);
    out.text(bucket.last_json);
  }
  if (fields & kValues) {
    out.varint(bucket.values.size());
    for (const auto& [value, n] : bucket.values) {
      out.text(value);
      out.varint(n);
    }
  }
}

void read_bucket(Reader& in, AggregateBucket& bucket) {
  const auto fields = in.byte("bucket");
  in.check((fields & ~0x3F) == 0, "bucket");
  bucket.start_ms = in.time("bucket start");
  if (fields & kCount) bucket.count = in.varint("bucket count");
  if (fields & kSum) bucket.sum = in.number("bucket number");
  if (fields & kMin) bucket.min = in.number("bucket number");
  if (fields & kMax) bucket.max = in.number("bucket number");
  if (fields & kFirstLast) {
    bucket.first_ms = in.time("first/last value");
    bucket.first_seq = in.seq("first/last value");
    bucket.first_json = in.text("first/last value");
    bucket.last_ms = in.time("first/last value");
    bucket.last_seq = in.seq("first/last value");
    bucket.last_json = in.text("first/last value");
    in.check(!bucket.first_json.empty() || !bucket.last_json.empty(), "first/last value");
  }
  if (fields & kValues) {
    const auto n = in.count("bucket values");
    for (size_t i = 0; i < n && in.ok(); ++i) {
      auto value = in.text("bucket value");
      bucket.values[std::string(value)] = in.varint("bucket value count");
    }
  }
}

// Keys come in ascending order, as written: one out of order (or twice) is corrupt, and each
// entry goes at the end of its map.
template <typename Map>
auto* add_entry(Reader& in, Map& map, std::string_view key, const char* what) {
  const bool in_order = map.empty() || std::string_view(std::prev(map.end())->first) < key;
  decltype(&map.begin()->second) entry = nullptr;
  if (in.check(in_order, what)) entry = &map.try_emplace(key).first->second;
  return entry;
}

}  // namespace

void encode_audience_state(std::string& out, const ProfileAudienceState& state) {
  Writer w(out);
  w.byte(kVersion);
  w.varint(state.aggregates.size());
  for (const auto& [key, aggregate] : state.aggregates) {
    w.text(key);
    w.varint(aggregate.buckets.size());
    for (const auto& bucket : aggregate.buckets) write_bucket(w, bucket);
  }
  w.varint(state.funnels.size());
  for (const auto& [key, funnel] : state.funnels) {
    w.text(key);
    w.byte(funnel.completed ? 1 : 0);
    if (funnel.completed) w.time(funnel.completed_ms);
    w.varint(funnel.steps.size());
    for (const auto& step : funnel.steps) {
      w.varint(step.size());
      for (const auto& [ms, seq] : step) {
        w.time(ms);
        w.seq(seq);
      }
    }
  }
  w.varint(state.audiences.size());
  for (const auto& [name, since] : state.audiences) {
    w.text(name);
    w.time(since);
  }
  w.time(state.next_check_ms);
}

Result<ProfileAudienceState> decode_audience_state(std::string_view bytes) {
  ProfileAudienceState state;
  Reader in(bytes);
  if (in.byte("record") != kVersion) {
    return Status::corruption("stored audience state has an unknown format version");
  }
  auto n = in.count("aggregate list");
  state.aggregates.reserve(n);
  for (size_t i = 0; i < n && in.ok(); ++i) {
    auto* aggregate =
        add_entry(in, state.aggregates, in.text("aggregate"), "aggregate list (keys out of order)");
    if (aggregate == nullptr) break;
    // A bucket takes at least two bytes: its fields and its start.
    aggregate->buckets.resize(in.count("aggregate", 2));
    for (auto& bucket : aggregate->buckets) read_bucket(in, bucket);
  }
  n = in.count("funnel list");
  state.funnels.reserve(n);
  for (size_t i = 0; i < n && in.ok(); ++i) {
    auto* funnel_entry =
        add_entry(in, state.funnels, in.text("funnel"), "funnel list (keys out of order)");
    if (funnel_entry == nullptr) break;
    auto& funnel = *funnel_entry;
    const auto completed = in.byte("funnel completion");
    in.check(completed <= 1, "funnel completion");
    funnel.completed = completed == 1;
    if (funnel.completed) funnel.completed_ms = in.time("funnel completion");
    funnel.steps.resize(in.count("funnel"));
    for (auto& step : funnel.steps) {
      step.resize(in.count("funnel step", 2));  // a time and a seq
      for (auto& [ms, seq] : step) {
        ms = in.time("funnel occurrence");
        seq = in.seq("funnel occurrence");
      }
    }
  }
  n = in.count("membership list");
  state.audiences.reserve(n);
  for (size_t i = 0; i < n && in.ok(); ++i) {
    auto* since = add_entry(in, state.audiences, in.text("membership"),
                            "membership list (names out of order)");
    if (since == nullptr) break;
    *since = in.time("membership");
  }
  state.next_check_ms = in.time("check time");
  in.check(in.at_end(), "record (bytes after its end)");
  if (!in.ok()) {
    return Status::corruption(std::string("stored audience state has a malformed ") +
                              in.failed_at());
  }
  return state;
}

}  // namespace cdp::audience

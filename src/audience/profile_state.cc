#include "audience/profile_state.h"

#include <charconv>

namespace cdp::audience {
namespace {

using ingest::JsonKind;
using ingest::JsonValue;

template <typename T>
bool read_number(const JsonValue* value, T& out) {
  if (value == nullptr || value->kind != JsonKind::kNumber) return false;
  auto [end, ec] =
      std::from_chars(value->text.data(), value->text.data() + value->text.size(), out);
  return ec == std::errc() && end == value->text.data() + value->text.size();
}

void write_double(JsonWriter& out, double value) { out.raw(format_number(value)); }

// A bucket as an object of the fields it uses: most kinds use two or three of them.
void write_bucket(JsonWriter& out, const AggregateBucket& bucket) {
  out.begin_object();
  out.key("s").number(bucket.start_ms);
  if (bucket.count != 0) out.key("n").number(static_cast<int64_t>(bucket.count));
  if (bucket.sum != 0) write_double(out.key("u"), bucket.sum);
  if (bucket.min != 0) write_double(out.key("lo"), bucket.min);
  if (bucket.max != 0) write_double(out.key("hi"), bucket.max);
  if (!bucket.first_json.empty()) {
    out.key("f").begin_array().number(bucket.first_ms);
    out.number(static_cast<int64_t>(bucket.first_seq)).raw(bucket.first_json).end_array();
    out.key("l").begin_array().number(bucket.last_ms);
    out.number(static_cast<int64_t>(bucket.last_seq)).raw(bucket.last_json).end_array();
  }
  if (!bucket.values.empty()) {
    out.key("v").begin_object();
    for (const auto& [value, n] : bucket.values) out.key(value).number(static_cast<int64_t>(n));
    out.end_object();
  }
  out.end_object();
}

Status corrupt(const char* what) {
  return Status::corruption(std::string("stored audience state has a malformed ") + what);
}

Status read_stamped(const JsonValue* json, int64_t& ms, uint64_t& seq, std::string& value) {
  if (json == nullptr) return Status::ok();
  if (json->kind != JsonKind::kArray || json->elements.size() != 3 ||
      !read_number(json->elements[0], ms) || !read_number(json->elements[1], seq)) {
    return corrupt("first/last value");
  }
  ingest::write_json(value, *json->elements[2]);
  return Status::ok();
}

Result<AggregateBucket> read_bucket(const JsonValue& json) {
  AggregateBucket bucket;
  if (!json.is_object() || !read_number(json.find("s"), bucket.start_ms)) return corrupt("bucket");
  const auto* n = json.find("n");
  if (n != nullptr && !read_number(n, bucket.count)) return corrupt("bucket count");
  for (const auto& [key, field] : {std::pair<const char*, double*>{"u", &bucket.sum},
                                   {"lo", &bucket.min},
                                   {"hi", &bucket.max}}) {
    const auto* value = json.find(key);
    if (value != nullptr && !read_number(value, *field)) return corrupt("bucket number");
  }
  CDP_RETURN_IF_ERROR(
      read_stamped(json.find("f"), bucket.first_ms, bucket.first_seq, bucket.first_json));
  CDP_RETURN_IF_ERROR(
      read_stamped(json.find("l"), bucket.last_ms, bucket.last_seq, bucket.last_json));
  if (const auto* values = json.find("v")) {
    if (!values->is_object()) return corrupt("bucket values");
    for (const auto& member : values->members) {
      uint64_t count = 0;
      if (!read_number(member.value, count)) return corrupt("bucket value count");
      bucket.values[std::string(member.key)] = count;
    }
  }
  return bucket;
}

}  // namespace

void write_audience_state(JsonWriter& out, const ProfileAudienceState& state) {
  out.begin_object();
  if (!state.aggregates.empty()) {
    out.key("agg").begin_object();
    for (const auto& [key, aggregate] : state.aggregates) {
      out.key(key).begin_array();
      for (const auto& bucket : aggregate.buckets) write_bucket(out, bucket);
      out.end_array();
    }
    out.end_object();
  }
  if (!state.funnels.empty()) {
    out.key("fun").begin_object();
    for (const auto& [key, funnel] : state.funnels) {
      out.key(key).begin_object();
      if (funnel.completed) out.key("done").number(funnel.completed_ms);
      out.key("steps").begin_array();
      for (const auto& step : funnel.steps) {
        out.begin_array();
        for (const auto& [ms, seq] : step) {
          out.begin_array().number(ms).number(static_cast<int64_t>(seq)).end_array();
        }
        out.end_array();
      }
      out.end_array();
      out.end_object();
    }
    out.end_object();
  }
  if (!state.audiences.empty()) {
    out.key("in").begin_object();
    for (const auto& [name, since] : state.audiences) out.key(name).number(since);
    out.end_object();
  }
  if (state.next_check_ms != 0) out.key("check").number(state.next_check_ms);
  out.end_object();
}

Result<ProfileAudienceState> read_audience_state(const JsonValue& json) {
  ProfileAudienceState state;
  if (!json.is_object()) return corrupt("record");
  if (const auto* aggregates = json.find("agg")) {
    if (!aggregates->is_object()) return corrupt("aggregate list");
    for (const auto& member : aggregates->members) {
      if (member.value->kind != JsonKind::kArray) return corrupt("aggregate");
      AggregateState aggregate;
      for (const auto* item : member.value->elements) {
        auto bucket = read_bucket(*item);
        if (!bucket) return bucket.status();
        aggregate.buckets.push_back(std::move(*bucket));
      }
      state.aggregates[std::string(member.key)] = std::move(aggregate);
    }
  }
  if (const auto* funnels = json.find("fun")) {
    if (!funnels->is_object()) return corrupt("funnel list");
    for (const auto& member : funnels->members) {
      FunnelState funnel;
      const auto* steps = member.value->is_object() ? member.value->find("steps") : nullptr;
      if (steps == nullptr || steps->kind != JsonKind::kArray) return corrupt("funnel");
      if (const auto* done = member.value->find("done")) {
        if (!read_number(done, funnel.completed_ms)) return corrupt("funnel completion");
        funnel.completed = true;
      }
      for (const auto* step : steps->elements) {
        if (step->kind != JsonKind::kArray) return corrupt("funnel step");
        auto& times = funnel.steps.emplace_back();
        for (const auto* pair : step->elements) {
          std::pair<int64_t, uint64_t> occurrence;
          if (pair->kind != JsonKind::kArray || pair->elements.size() != 2 ||
              !read_number(pair->elements[0], occurrence.first) ||
              !read_number(pair->elements[1], occurrence.second)) {
            return corrupt("funnel occurrence");
          }
          times.push_back(occurrence);
        }
      }
      state.funnels[std::string(member.key)] = std::move(funnel);
    }
  }
  if (const auto* audiences = json.find("in")) {
    if (!audiences->is_object()) return corrupt("membership list");
    for (const auto& member : audiences->members) {
      int64_t since = 0;
      if (!read_number(member.value, since)) return corrupt("membership");
      state.audiences[std::string(member.key)] = since;
    }
  }
  if (const auto* check = json.find("check")) {
    if (!read_number(check, state.next_check_ms)) return corrupt("check time");
  }
  return state;
}

}  // namespace cdp::audience

#include "storage/raw_log_record.h"

#include "common/check.h"
#include "common/json_writer.h"
#include "common/time_format.h"
#include "storage/big_endian.h"

namespace cdp::storage {
namespace {
constexpr uint8_t kRecordVersion = 1;
}

void encode_raw_log_value(std::string& out, std::string_view source, int64_t received_at_ms,
                          std::string_view event_json) {
  CDP_CHECK(source.size() <= 255);
  out.push_back(static_cast<char>(kRecordVersion));
  append_u64_be(out, static_cast<uint64_t>(received_at_ms));
  out.push_back(static_cast<char>(source.size()));
  out.append(source);
  out.append(event_json);
}

std::string RawLogRecord::encode_value() const {
  std::string out;
  encode_raw_log_value(out, source, received_at_ms, event_json);
  return out;
}

std::optional<RawLogRecord> RawLogRecord::decode(uint64_t seq, std::string_view value) {
  if (value.size() < 10 || static_cast<uint8_t>(value[0]) != kRecordVersion) return std::nullopt;
  const size_t source_length = static_cast<uint8_t>(value[9]);
  if (value.size() < 10 + source_length) return std::nullopt;
  RawLogRecord record;
  record.seq = seq;
  record.received_at_ms = static_cast<int64_t>(read_u64_be(value.substr(1)));
  record.source = std::string(value.substr(10, source_length));
  record.event_json = std::string(value.substr(10 + source_length));
  return record;
}

std::string RawLogRecord::to_json_line() const {
  JsonWriter out;
  out.begin_object();
  out.key("seq").number(static_cast<int64_t>(seq));
  out.key("source").string(source);
  out.key("receivedAt").string(format_iso8601_ms(received_at_ms));
  out.key("event").raw(event_json);
  out.end_object();
  return out.take();
}

}  // namespace cdp::storage

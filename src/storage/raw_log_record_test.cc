#include "storage/raw_log_record.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "storage/big_endian.h"

namespace cdp::storage {
namespace {

RawLogRecord sample_record() {
  RawLogRecord record;
  record.seq = 42;
  record.source = "web";
  record.received_at_ms = 1714566600123;  // 2024-05-01T12:30:00.123Z
  record.event_json = R"({"type":"track","event":"Signed Up"})";
  return record;
}

void expect_same(const RawLogRecord& actual, const RawLogRecord& expected) {
  EXPECT_EQ(actual.seq, expected.seq);
  EXPECT_EQ(actual.source, expected.source);
  EXPECT_EQ(actual.received_at_ms, expected.received_at_ms);
  EXPECT_EQ(actual.event_json, expected.event_json);
}

TEST(RawLogRecordTest, EncodeThenDecodeRoundTrips) {
  const RawLogRecord record = sample_record();
  auto decoded = RawLogRecord::decode(record.seq, record.encode_value());
  ASSERT_TRUE(decoded.has_value());
  expect_same(*decoded, record);
}

TEST(RawLogRecordTest, DecodeTakesTheSeqFromTheKeyNotTheValue) {
  auto decoded = RawLogRecord::decode(7, sample_record().encode_value());
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->seq, 7u);
}

TEST(RawLogRecordTest, RoundTripsEdgeValues) {
  RawLogRecord record;
  record.seq = UINT64_MAX;
  record.source = std::string(255, 's');  // the longest source the format can hold
  record.received_at_ms = -1;             // before the epoch
  record.event_json = std::string("{\"k\":\"\0\xff\"}", 10);
  auto decoded = RawLogRecord::decode(record.seq, record.encode_value());
  ASSERT_TRUE(decoded.has_value());
  expect_same(*decoded, record);

  record.source = "";
  record.event_json = "";
  record.received_at_ms = 0;
  decoded = RawLogRecord::decode(record.seq, record.encode_value());
  ASSERT_TRUE(decoded.has_value());
  expect_same(*decoded, record);
}

TEST(RawLogRecordTest, EncodesTheDocumentedLayout) {
  const RawLogRecord record = sample_record();
  std::string expected;
  expected.push_back('\x01');
  append_u64_be(expected, static_cast<uint64_t>(record.received_at_ms));
  expected.push_back('\x03');
  expected += "web";
  expected += record.event_json;
  EXPECT_EQ(record.encode_value(), expected);
}

TEST(RawLogRecordTest, FreeEncoderMatchesTheMemberEncoder) {
  const RawLogRecord record = sample_record();
  std::string out = "prefix";
  encode_raw_log_value(out, record.source, record.received_at_ms, record.event_json);
  EXPECT_EQ(out, "prefix" + record.encode_value());
}

TEST(RawLogRecordTest, DecodeRejectsGarbage) {
  const std::string valid = sample_record().encode_value();
  EXPECT_EQ(RawLogRecord::decode(1, ""), std::nullopt);
  EXPECT_EQ(RawLogRecord::decode(1, "\x01"), std::nullopt);
  EXPECT_EQ(RawLogRecord::decode(1, "hello world, not a record"), std::nullopt);
  // Shorter than the fixed header.
  EXPECT_EQ(RawLogRecord::decode(1, valid.substr(0, 9)), std::nullopt);
  // A version this build does not know.
  for (char version : {'\x00', '\x02', '\xff'}) {
    std::string other = valid;
    other[0] = version;
    EXPECT_EQ(RawLogRecord::decode(1, other), std::nullopt) << static_cast<int>(version);
  }
  // A source length that runs past the end of the value.
  std::string truncated = valid.substr(0, 10 + 2);  // header + 2 of the 3 source bytes
  EXPECT_EQ(RawLogRecord::decode(1, truncated), std::nullopt);
  std::string long_source = valid;
  long_source[9] = '\xff';
  EXPECT_EQ(RawLogRecord::decode(1, long_source), std::nullopt);
}

TEST(RawLogRecordTest, DecodeNeverReadsPastTheValueForAnyPrefix) {
  const std::string valid = sample_record().encode_value();
  for (size_t length = 0; length <= valid.size(); ++length) {
    auto decoded = RawLogRecord::decode(1, std::string_view(valid).substr(0, length));
    if (length < 13) {
      EXPECT_EQ(decoded, std::nullopt) << length;
    } else {
      ASSERT_TRUE(decoded.has_value()) << length;
      EXPECT_EQ(decoded->source, "web");
      EXPECT_EQ(decoded->event_json, valid.substr(13, length - 13));
    }
  }
}

TEST(RawLogRecordTest, ToJsonLineHasSeqSourceReceivedAtAndTheEventVerbatim) {
  EXPECT_EQ(sample_record().to_json_line(),
            R"({"seq":42,"source":"web","receivedAt":"2024-05-01T12:30:00.123Z",)"
            R"("event":{"type":"track","event":"Signed Up"}})");
}

TEST(RawLogRecordTest, ToJsonLineEscapesTheSource) {
  RawLogRecord record = sample_record();
  record.source = "we\"b";
  EXPECT_NE(record.to_json_line().find(R"("source":"we\"b")"), std::string::npos);
}

}  // namespace
}  // namespace cdp::storage

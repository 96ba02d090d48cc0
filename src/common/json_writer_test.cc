#include "common/json_writer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace cdp {
namespace {

std::string quoted(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

TEST(AppendJsonStringTest, QuotesPlainText) {
  EXPECT_EQ(quoted(""), R"("")");
  EXPECT_EQ(quoted("hello"), R"("hello")");
}

TEST(AppendJsonStringTest, AppendsToExistingContent) {
  std::string out = "x=";
  append_json_string(out, "y");
  EXPECT_EQ(out, R"(x="y")");
}

TEST(AppendJsonStringTest, EscapesQuotesAndBackslashes) {
  EXPECT_EQ(quoted(R"(say "hi")"), R"("say \"hi\"")");
  EXPECT_EQ(quoted(R"(C:\path\)"), R"("C:\\path\\")");
  EXPECT_EQ(quoted(R"(\")"), R"("\\\"")");
}

TEST(AppendJsonStringTest, EscapesControlCharacters) {
  EXPECT_EQ(quoted("a\nb"), R"("a\nb")");
  EXPECT_EQ(quoted("\r\t\b\f"), R"("\r\t\b\f")");
  EXPECT_EQ(quoted(std::string_view("\0", 1)), R"("\u0000")");
  EXPECT_EQ(quoted("\x01\x1f"), R"("\u0001\u001f")");
  EXPECT_EQ(quoted("\x1b[31m"), R"("\u001b[31m")");
}

TEST(AppendJsonStringTest, PassesUnicodeThroughUnchanged) {
  EXPECT_EQ(quoted("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  EXPECT_EQ(quoted("\xe6\x97\xa5\xe6\x9c\xac"), "\"\xe6\x97\xa5\xe6\x9c\xac\"");
  EXPECT_EQ(quoted("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\"");
  EXPECT_EQ(quoted("/ and \x7f"), "\"/ and \x7f\"");
}

// Long runs are scanned 8 bytes at a time: every byte that needs escaping is found wherever it
// falls in a word, and the bytes next to those that do not (0x20, 0x7f, UTF-8) pass unchanged.
TEST(AppendJsonStringTest, FindsEachEscapeAtAnyPositionInALongString) {
  for (size_t length = 1; length <= 40; ++length) {
    for (size_t at = 0; at < length; ++at) {
      for (const char c :
           {'"', '\\', '\n', '\0', '\x01', '\x1f', ' ', '!', '\x7f', '\xc3', '\xff'}) {
        std::string text(length, 'a');
        text[at] = c;
        // What a lookup per byte writes.
        std::string expected = "\"";
        for (const char byte : text) {
          const auto u = static_cast<unsigned char>(byte);
          if (byte == '"' || byte == '\\') {
            expected += '\\';
            expected += byte;
          } else if (byte == '\n') {
            expected += "\\n";
          } else if (u < 0x20) {
            static constexpr char kHex[] = "0123456789abcdef";
            expected += "\\u00";
            expected += kHex[u >> 4];
            expected += kHex[u & 0xF];
          } else {
            expected += byte;
          }
        }
        expected += '"';
        EXPECT_EQ(cdp::quoted(text), expected)
            << "length " << length << ", byte " << static_cast<int>(static_cast<unsigned char>(c))
            << " at " << at;
      }
    }
  }
}

TEST(JsonWriterTest, WritesAnEmptyObjectAndArray) {
  EXPECT_EQ(JsonWriter().begin_object().end_object().str(), "{}");
  EXPECT_EQ(JsonWriter().begin_array().end_array().str(), "[]");
}

TEST(JsonWriterTest, SeparatesMembersWithCommas) {
  JsonWriter out;
  out.begin_object();
  out.key("a").number(int64_t{1});
  out.key("b").string("two");
  out.key("c").boolean(true);
  out.key("d").boolean(false);
  out.key("e").null();
  out.end_object();
  EXPECT_EQ(out.str(), R"({"a":1,"b":"two","c":true,"d":false,"e":null})");
}

TEST(JsonWriterTest, SeparatesArrayElementsWithCommas) {
  JsonWriter out;
  out.begin_array().number(int64_t{1}).number(int64_t{2}).string("x").null().end_array();
  EXPECT_EQ(out.str(), R"([1,2,"x",null])");
}

TEST(JsonWriterTest, NestsObjectsAndArrays) {
  JsonWriter out;
  out.begin_object();
  out.key("list").begin_array();
  out.begin_object().key("x").number(int64_t{1}).end_object();
  out.begin_object().end_object();
  out.begin_array().end_array();
  out.end_array();
  out.key("after").string("y");
  out.key("inner").begin_object().key("k").string("v").end_object();
  out.end_object();
  EXPECT_EQ(out.str(), R"({"list":[{"x":1},{},[]],"after":"y","inner":{"k":"v"}})");
}

TEST(JsonWriterTest, EscapesKeysAndStrings) {
  JsonWriter out;
  out.begin_object().key("we\"ird\n").string("a\\b").end_object();
  EXPECT_EQ(out.str(), R"({"we\"ird\n":"a\\b"})");
}

TEST(JsonWriterTest, WritesIntegerExtremes) {
  JsonWriter out;
  out.begin_array()
      .number(std::numeric_limits<int64_t>::min())
      .number(std::numeric_limits<int64_t>::max())
      .number(int64_t{-7})
      .end_array();
  EXPECT_EQ(out.str(), "[-9223372036854775808,9223372036854775807,-7]");
}

TEST(JsonWriterTest, WritesDoublesShortestAndNonFiniteAsNull) {
  JsonWriter out;
  out.begin_array()
      .number(0.5)
      .number(-1.25)
      .number(0.1)
      .number(std::numeric_limits<double>::infinity())
      .number(std::numeric_limits<double>::quiet_NaN())
      .end_array();
  EXPECT_EQ(out.str(), "[0.5,-1.25,0.1,null,null]");
}

TEST(JsonWriterTest, InsertsRawJsonAsAValue) {
  JsonWriter out;
  out.begin_object().key("a").raw(R"({"x":[1,2]})").key("b").raw("3").end_object();
  EXPECT_EQ(out.str(), R"({"a":{"x":[1,2]},"b":3})");
}

TEST(JsonWriterTest, TakeMovesTheTextOut) {
  JsonWriter out;
  out.begin_array().number(int64_t{1}).end_array();
  EXPECT_EQ(out.take(), "[1]");
}

TEST(JsonWriterTest, ToValidUtf8ReplacesOnlyMalformedBytes) {
  EXPECT_EQ(to_valid_utf8("plain é € 😀"), "plain é € 😀");
  const std::string replacement = "\xEF\xBF\xBD";
  EXPECT_EQ(to_valid_utf8("a\xFF"
                          "b"),
            "a" + replacement + "b");
  EXPECT_EQ(to_valid_utf8("\xC3"), replacement) << "truncated sequence";
  EXPECT_EQ(to_valid_utf8("\xC0\xAF"), replacement + replacement) << "overlong";
  EXPECT_EQ(to_valid_utf8("\xED\xA0\x80"), replacement + replacement + replacement) << "surrogate";
  EXPECT_EQ(to_valid_utf8("\xF4\x90\x80\x80").substr(0, 3), replacement) << "past U+10FFFF";
}

}  // namespace
}  // namespace cdp

#include "ingest/json_tree.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace cdp::ingest {
namespace {

using ::testing::HasSubstr;

class JsonTreeTest : public ::testing::Test {
 protected:
  // Parses `json` and writes it back as compact JSON; fails the test when it does not parse.
  std::string round_trip(std::string_view json) {
    auto root = parser_.parse(json);
    EXPECT_TRUE(root.has_value()) << json << ": " << root.status().to_string();
    if (!root) return {};
    std::string out;
    write_json(out, **root);
    return out;
  }

  Status parse_error(std::string_view json) {
    auto root = parser_.parse(json);
    if (root) return Status::ok();
    return root.status();
  }

  JsonParser parser_;
};

TEST_F(JsonTreeTest, ValidDocumentsRoundTripUnchanged) {
  const char* documents[] = {
      R"({})",
      R"([])",
      R"({"a":1,"b":"two","c":true,"d":false,"e":null})",
      R"([1,-2,3.25,"x",[],{},[[]],{"k":{}}])",
      R"({"nested":{"list":[{"id":1},{"id":2,"tags":["a","b"]}],"empty":{}}})",
      R"({"escaped":"quote \" backslash \\ newline \n tab \t"})",
      R"({"":"empty key"})",
  };
  for (const char* document : documents) {
    EXPECT_EQ(round_trip(document), document);
  }
}

TEST_F(JsonTreeTest, WhitespaceIsDroppedFromTheWrittenForm) {
  EXPECT_EQ(round_trip(" \n\t{ \"a\" : [ 1 , 2 ] ,\r\n \"b\" : { } }  \n"),
            R"({"a":[1,2],"b":{}})");
}

TEST_F(JsonTreeTest, KindsAndValuesAreExposed) {
  auto root = parser_.parse(R"({"s":"text","n":42,"t":true,"f":false,"z":null,"a":[1],"o":{}})");
  ASSERT_TRUE(root.has_value()) << root.status().to_string();
  const JsonValue& object = **root;
  ASSERT_TRUE(object.is_object());
  ASSERT_EQ(object.members.size(), 7u);
  EXPECT_EQ(object.members[0].key, "s");
  EXPECT_EQ(object.find("s")->kind, JsonKind::kString);
  EXPECT_EQ(object.find("s")->text, "text");
  EXPECT_EQ(object.find("n")->kind, JsonKind::kNumber);
  EXPECT_EQ(object.find("n")->text, "42");
  EXPECT_EQ(object.find("t")->kind, JsonKind::kBool);
  EXPECT_TRUE(object.find("t")->boolean);
  EXPECT_FALSE(object.find("f")->boolean);
  EXPECT_EQ(object.find("z")->kind, JsonKind::kNull);
  EXPECT_EQ(object.find("a")->kind, JsonKind::kArray);
  EXPECT_EQ(object.find("a")->elements.size(), 1u);
  EXPECT_EQ(object.find("o")->kind, JsonKind::kObject);
  EXPECT_EQ(object.find("missing"), nullptr);
}

TEST_F(JsonTreeTest, NumbersKeepTheirExactSourceText) {
  const char* numbers[] = {"123456789012345678901234567890",
                           "-123456789012345678901234567890",
                           "-0.0",
                           "-0",
                           "0",
                           "1e400",
                           "-1E-400",
                           "1.50",
                           "2.5e+10",
                           "0.000000000000000000000000000001",
                           "18446744073709551616",
                           "3.141592653589793238462643383279502884197"};
  for (const char* number : numbers) {
    const std::string document = std::string(R"({"n":)") + number + "}";
    auto root = parser_.parse(document);
    ASSERT_TRUE(root.has_value()) << document << ": " << root.status().to_string();
    const JsonValue* value = (*root)->find("n");
    ASSERT_NE(value, nullptr);
    EXPECT_EQ(value->kind, JsonKind::kNumber);
    EXPECT_EQ(value->text, number);
    EXPECT_EQ(round_trip(document), document);
  }
}

TEST_F(JsonTreeTest, NumbersInArraysKeepTheirTextWithoutSurroundingWhitespace) {
  EXPECT_EQ(round_trip("[ 1 , 1.50 ,\n-0.0\t, 1e400 ]"), "[1,1.50,-0.0,1e400]");
}

TEST_F(JsonTreeTest, UnicodeEscapesAreDecodedToUtf8) {
  auto root = parser_.parse(R"({"s":"caf\u00e9 \u4e2d\u6587 \ud83d\ude00 \u0041"})");
  ASSERT_TRUE(root.has_value()) << root.status().to_string();
  EXPECT_EQ((*root)->find("s")->text, "caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80 A");
}

TEST_F(JsonTreeTest, RawUtf8IsKeptAndWrittenBackUnchanged) {
  const std::string document = "{\"name\":\"J\xC3\xBCrgen \xE2\x9C\x93 \xF0\x9F\x8E\x89\"}";
  auto root = parser_.parse(document);
  ASSERT_TRUE(root.has_value()) << root.status().to_string();
  EXPECT_EQ((*root)->find("name")->text, "J\xC3\xBCrgen \xE2\x9C\x93 \xF0\x9F\x8E\x89");
  EXPECT_EQ(round_trip(document), document);
}

TEST_F(JsonTreeTest, EscapedKeysAreUnescaped) {
  auto root = parser_.parse(R"({"a\"b":1,"\u00e9":2})");
  ASSERT_TRUE(root.has_value()) << root.status().to_string();
  EXPECT_NE((*root)->find("a\"b"), nullptr);
  EXPECT_NE((*root)->find("\xC3\xA9"), nullptr);
  EXPECT_EQ(round_trip(R"({"a\"b":1,"\u00e9":2})"), "{\"a\\\"b\":1,\"\xC3\xA9\":2}");
}

TEST_F(JsonTreeTest, ControlCharactersAreEscapedWhenWritten) {
  EXPECT_EQ(round_trip(R"({"s":"\u0001\u001f\b\f\/"})"), R"({"s":"\u0001\u001f\b\f/"})");
  EXPECT_EQ(round_trip(R"({"s":"a\u0000b"})"), R"({"s":"a\u0000b"})");
}

TEST_F(JsonTreeTest, DuplicateKeysLastOneWinsInFind) {
  auto root = parser_.parse(R"({"a":1,"b":2,"a":3})");
  ASSERT_TRUE(root.has_value()) << root.status().to_string();
  EXPECT_EQ((*root)->members.size(), 3u) << "every member is kept in source order";
  EXPECT_EQ((*root)->find("a")->text, "3");
  EXPECT_EQ((*root)->find("b")->text, "2");
}

TEST_F(JsonTreeTest, DuplicateKeysAreWrittenOnceWithTheLastValue) {
  EXPECT_EQ(round_trip(R"({"a":1,"b":2,"a":3})"), R"({"b":2,"a":3})");
  EXPECT_EQ(round_trip(R"({"a":{"x":1},"a":{"y":2}})"), R"({"a":{"y":2}})");
  EXPECT_EQ(round_trip(R"({"o":{"k":"first","k":"second","k":"third"}})"),
            R"({"o":{"k":"third"}})");
}

TEST_F(JsonTreeTest, DuplicateKeysInLargeObjectsLastOneWins) {
  // Objects over 16 members take the hashing path of last_occurrences.
  std::string document = "{";
  for (int i = 0; i < 40; ++i)
    document += "\"k" + std::to_string(i % 20) + "\":" + std::to_string(i) + ",";
  document.back() = '}';
  std::string expected = "{";
  for (int i = 20; i < 40; ++i)
    expected += "\"k" + std::to_string(i % 20) + "\":" + std::to_string(i) + ",";
  expected.back() = '}';
  auto root = parser_.parse(document);
  ASSERT_TRUE(root.has_value()) << root.status().to_string();
  EXPECT_EQ((*root)->find("k3")->text, "23");
  EXPECT_EQ(round_trip(document), expected);
}

TEST_F(JsonTreeTest, LastOccurrencesMarksTheMembersThatCount) {
  auto root = parser_.parse(R"({"a":1,"b":2,"a":3,"c":4,"b":5})");
  ASSERT_TRUE(root.has_value());
  EXPECT_EQ(last_occurrences(**root), (std::vector<bool>{false, false, true, true, true}));
}

std::string nested_arrays(size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

std::string nested_objects(size_t depth) {
  std::string json;
  for (size_t i = 1; i < depth; ++i) json += "{\"a\":";
  json += "{}";
  for (size_t i = 1; i < depth; ++i) json += "}";
  return json;
}

TEST_F(JsonTreeTest, NestingUpToMaxDepthIsAccepted) {
  EXPECT_EQ(round_trip(nested_arrays(JsonParser::kMaxDepth)), nested_arrays(JsonParser::kMaxDepth));
  EXPECT_EQ(round_trip(nested_objects(JsonParser::kMaxDepth)),
            nested_objects(JsonParser::kMaxDepth));
}

TEST_F(JsonTreeTest, NestingDeeperThanMaxDepthIsRejected) {
  for (const std::string& document :
       {nested_arrays(JsonParser::kMaxDepth + 1), nested_objects(JsonParser::kMaxDepth + 1),
        nested_arrays(5000)}) {
    Status status = parse_error(document);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << document.substr(0, 80);
    EXPECT_THAT(status.message(), HasSubstr("nested deeper")) << status.message();
  }
}

struct MalformedCase {
  const char* name;
  std::string json;
};

class MalformedJsonTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedJsonTest, IsRejectedWithAnInvalidArgumentError) {
  JsonParser parser;
  auto root = parser.parse(GetParam().json);
  ASSERT_FALSE(root.has_value()) << GetParam().json;
  EXPECT_EQ(root.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(root.status().message(), HasSubstr("invalid JSON")) << root.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MalformedJsonTest,
    ::testing::Values(
        MalformedCase{"Empty", ""}, MalformedCase{"OnlyWhitespace", " \n\t "},
        MalformedCase{"MissingCommaInObject", R"({"a":1 "b":2})"},
        MalformedCase{"MissingCommaInArray", R"([1 2])"},
        MalformedCase{"MissingColon", R"({"a" 1})"},
        MalformedCase{"TrailingCommaInObject", R"({"a":1,})"},
        MalformedCase{"TrailingCommaInArray", R"([1,2,])"},
        MalformedCase{"DoubleCommaInArray", R"([1,,2])"},
        MalformedCase{"LeadingCommaInArray", R"([,1])"}, MalformedCase{"UnquotedKey", R"({a:1})"},
        MalformedCase{"SingleQuotes", R"({'a':1})"}, MalformedCase{"BadEscape", R"({"a":"\q"})"},
        MalformedCase{"ShortUnicodeEscape", R"({"a":"\u12"})"},
        MalformedCase{"NonHexUnicodeEscape", R"({"a":"\uZZZZ"})"},
        MalformedCase{"UnterminatedString", R"({"a":"abc)"},
        MalformedCase{"UnterminatedObject", R"({"a":1)"},
        MalformedCase{"UnterminatedArray", R"([1,2)"},
        MalformedCase{"UnbalancedClose", R"({"a":[1}})"},
        MalformedCase{"TruncatedTrue", R"({"a":tru})"},
        MalformedCase{"TruncatedNull", R"({"a":nul})"},
        MalformedCase{"TruncatedFalse", R"([fals])"}, MalformedCase{"TrueWithSuffix", R"([truex])"},
        MalformedCase{"CapitalisedLiteral", R"([True])"},
        MalformedCase{"LeadingZero", R"({"a":01})"},
        MalformedCase{"NegativeLeadingZero", R"([-01])"},
        MalformedCase{"DotWithoutFraction", R"({"a":1.})"},
        MalformedCase{"FractionWithoutInteger", R"({"a":.5})"},
        MalformedCase{"PlusSign", R"({"a":+1})"}, MalformedCase{"LoneMinus", R"([-])"},
        MalformedCase{"ExponentWithoutDigits", R"([1e])"}, MalformedCase{"NaN", R"({"a":NaN})"},
        MalformedCase{"Infinity", R"([Infinity])"}, MalformedCase{"HexNumber", R"([0x10])"},
        MalformedCase{"LettersAfterNumber", R"([1x])"},
        MalformedCase{"TrailingGarbageAfterObject", R"({} x)"},
        MalformedCase{"SecondRootValue", R"({} {})"}, MalformedCase{"ExtraClosingBrace", R"({}})"},
        MalformedCase{"InvalidUtf8InString", "{\"a\":\"\xFF\"}"},
        MalformedCase{"TruncatedUtf8Sequence", "{\"a\":\"\xC3\"}"},
        MalformedCase{"OverlongUtf8Encoding", "{\"a\":\"\xC0\xAF\"}"},
        MalformedCase{"Utf8Surrogate", "{\"a\":\"\xED\xA0\x80\"}"},
        MalformedCase{"InvalidUtf8InKey", "{\"\xFE\":1}"},
        MalformedCase{"LoneHighSurrogateEscape", R"({"a":"\ud83d"})"},
        MalformedCase{"LoneLowSurrogateEscape", R"({"a":"\ude00"})"},
        MalformedCase{"UnescapedTabInString", "{\"a\":\"a\tb\"}"},
        MalformedCase{"UnescapedNewlineInString", "{\"a\":\"a\nb\"}"},
        MalformedCase{"BareStringRoot", R"("hello")"}, MalformedCase{"BareNumberRoot", "42"},
        MalformedCase{"BareTrueRoot", "true"}, MalformedCase{"BareNullRoot", "null"}),
    [](const ::testing::TestParamInfo<MalformedCase>& test_case) {
      return std::string(test_case.param.name);
    });

TEST_F(JsonTreeTest, ErrorsSayWhereTheProblemWas) {
  Status status = parse_error(R"({"a":1,"b":tru})");
  EXPECT_THAT(status.message(), HasSubstr("at byte")) << status.message();
  status = parse_error(R"({} {})");
  EXPECT_THAT(status.message(), HasSubstr("after the top-level value")) << status.message();
  status = parse_error(R"("hello")");
  EXPECT_THAT(status.message(), HasSubstr("must be a JSON object")) << status.message();
}

TEST_F(JsonTreeTest, ParserIsReusableAfterAnError) {
  EXPECT_FALSE(parse_error(R"({"a":)").is_ok());
  EXPECT_EQ(round_trip(R"({"b":2})"), R"({"b":2})");
  EXPECT_EQ(round_trip(R"([3])"), R"([3])");
}

TEST_F(JsonTreeTest, ParserIsReusableForLargerDocuments) {
  EXPECT_EQ(round_trip(R"({"a":1})"), R"({"a":1})");
  std::string large = "[";
  for (int i = 0; i < 20000; ++i) large += std::to_string(i) + ",";
  large.back() = ']';
  EXPECT_EQ(round_trip(large), large);
  EXPECT_EQ(round_trip(R"({"c":3})"), R"({"c":3})");
}

// One member of the top-level object, the rest skipped: what the full tree's find() gives.
TEST_F(JsonTreeTest, ParseMemberBuildsOnlyThatMember) {
  const std::string event =
      R"({"type":"track","properties":{"a":1,"b":[true,{"c":"d"}]},"context":{"x":{"y":[1,2]}},)"
      R"("properties":{"price":19.99,"sku":"s\u00e9"},"event":"Viewed"})";
  auto member = parser_.parse_member(event, "properties");
  ASSERT_TRUE(member.has_value()) << member.status().to_string();
  ASSERT_NE(*member, nullptr);
  std::string written;
  write_json(written, **member);
  EXPECT_EQ(written, R"({"price":19.99,"sku":"sé"})");  // the last one, as find() takes
  JsonParser whole;
  std::string expected;
  write_json(expected, *(*whole.parse(event))->find("properties"));
  EXPECT_EQ(written, expected);
  member = parser_.parse_member(event, "event");
  ASSERT_TRUE(member.has_value());
  EXPECT_EQ((*member)->text, "Viewed");
  member = parser_.parse_member(event, "traits");
  ASSERT_TRUE(member.has_value());
  EXPECT_EQ(*member, nullptr);
  EXPECT_FALSE(parser_.parse_member("[1,2]", "properties").has_value());
  EXPECT_FALSE(parser_.parse_member(R"({"properties":{"a":})", "properties").has_value());
  EXPECT_EQ(round_trip(R"({"still":"reusable"})"), R"({"still":"reusable"})");
}

// Several members of the top-level object: only those built, in source order, duplicates kept.
TEST_F(JsonTreeTest, ParseMembersBuildsOnlyTheNamedMembers) {
  const std::string record =
      R"({"v":1,"id":42,"traits":{"plan":["pro"]},"merged_from":[7,9],"id":43,"groups":["g"]})";
  const std::string_view keys[] = {"id", "merged_from"};
  auto object = parser_.parse_members(record, keys);
  ASSERT_TRUE(object.has_value()) << object.status().to_string();
  std::string written;
  write_json(written, **object);
  EXPECT_EQ(written, R"({"merged_from":[7,9],"id":43})");  // each key once, at its last place
  ASSERT_EQ((*object)->members.size(), 3u);
  EXPECT_EQ((*object)->members[0].key, "id");
  EXPECT_EQ((*object)->members[1].key, "merged_from");
  EXPECT_EQ((*object)->find("traits"), nullptr);
  const std::string_view none[] = {"absent"};
  object = parser_.parse_members(record, none);
  ASSERT_TRUE(object.has_value());
  EXPECT_TRUE((*object)->members.empty());
  EXPECT_FALSE(parser_.parse_members("[1,2]", keys).has_value());
  EXPECT_FALSE(parser_.parse_members(R"({"id":})", keys).has_value());
}

// Writing with a bound stops soon after the bound instead of writing everything.
TEST_F(JsonTreeTest, WriteJsonStopsPastItsBound) {
  auto root = parser_.parse(R"({"a":[1,2,3],"b":"0123456789","c":{"d":null}})");
  ASSERT_TRUE(root.has_value());
  std::string whole;
  write_json(whole, **root);
  std::string bounded = "x";
  EXPECT_TRUE(write_json(bounded, **root, 1 + whole.size()));
  EXPECT_EQ(bounded, "x" + whole);
  bounded = "x";
  EXPECT_FALSE(write_json(bounded, **root, 1 + 10));
  EXPECT_LT(bounded.size(), 1 + whole.size());
  EXPECT_EQ(whole.substr(0, bounded.size() - 1), bounded.substr(1));
}

TEST(IsJsonNumberTest, AcceptsTheRfc8259Grammar) {
  for (const char* text : {"0", "-0", "1", "-1", "10", "1.5", "-0.0", "1e5", "1E5", "1e+5", "1e-5",
                           "1.50e10", "123456789012345678901234567890"}) {
    EXPECT_TRUE(is_json_number(text)) << text;
  }
}

TEST(IsJsonNumberTest, RejectsWhatTheGrammarDoesNot) {
  for (const char* text : {"", "-", "01", "-01", "1.", ".5", "+1", "1e", "1e+", "1.e5", "NaN",
                           "Infinity", "0x1", "1 ", " 1", "1,", "--1"}) {
    EXPECT_FALSE(is_json_number(text)) << '"' << text << '"';
  }
}

}  // namespace
}  // namespace cdp::ingest

// Differential fuzz target for JsonParser, with simdjson's fully validating DOM parser as the
// oracle: both must agree on what is JSON (except the cases where we are deliberately more
// permissive: integers beyond 64 bits and numbers beyond double's range, which DOM rejects), and
// what we write back must parse again to the same text. A member parsed alone (parse_member) must
// be that member of the whole tree.
#include <simdjson.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ingest/json_tree.h"

namespace {

size_t depth_of(std::string_view text) {
  size_t depth = 0, max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '{' || c == '[')
      max_depth = std::max(max_depth, ++depth);
    else if ((c == '}' || c == ']') && depth > 0)
      --depth;
  }
  return max_depth;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  static cdp::ingest::JsonParser parser;
  static simdjson::dom::parser oracle;

  // One member parsed alone, from any input: an error or a tree, never a crash.
  static cdp::ingest::JsonParser any;
  (void)any.parse_member(input, "properties");

  auto ours = parser.parse(input);
  simdjson::dom::element element;
  const auto oracle_error = oracle.parse(simdjson::padded_string(input)).get(element);
  const bool oracle_object_or_array = !oracle_error && (element.is_object() || element.is_array());

  if (ours.has_value()) {
    // Everything we accept is JSON, unless it holds a number simdjson's DOM cannot represent.
    if (!oracle_object_or_array && oracle_error != simdjson::NUMBER_ERROR) {
      std::abort();
    }
    std::string written;
    cdp::ingest::write_json(written, **ours);
    std::string rewritten;
    static cdp::ingest::JsonParser second;
    auto again = second.parse(written);
    if (!again.has_value()) std::abort();
    cdp::ingest::write_json(rewritten, **again);
    if (rewritten != written) std::abort();
    // One member parsed alone is that member of the whole tree (the last of its name).
    if ((*ours)->is_object()) {
      for (const std::string_view key :
           {std::string_view("properties"),
            (*ours)->members.empty() ? std::string_view("a") : (*ours)->members.front().key}) {
        const auto* whole = (*ours)->find(key);
        std::string expected;
        if (whole != nullptr) cdp::ingest::write_json(expected, *whole);
        static cdp::ingest::JsonParser one;
        auto member = one.parse_member(input, key);
        if (!member.has_value() || (*member == nullptr) != (whole == nullptr)) std::abort();
        if (whole != nullptr) {
          std::string got;
          cdp::ingest::write_json(got, **member);
          if (got != expected) std::abort();
        }
      }
    }
  } else if (oracle_object_or_array && depth_of(input) <= cdp::ingest::JsonParser::kMaxDepth) {
    std::abort();  // valid JSON within our depth limit must be accepted
  }
  return 0;
}

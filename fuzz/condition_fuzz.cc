// Fuzz target for the audience condition language: any bytes as condition text, and (when they
// are JSON) as the JSON form. Never crashes; an accepted condition prints to canonical text and
// JSON that parse back to the same condition, and a refusal says where (line and column inside
// the text).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "audience/condition_json.h"
#include "audience/condition_text.h"

namespace {

using cdp::audience::Condition;

void check_round_trips(const Condition& condition) {
  cdp::audience::ConditionParser parser;
  auto again = parser.parse(cdp::audience::to_text(condition));
  if (!again || !(*again == condition)) std::abort();
  thread_local cdp::ingest::JsonParser json_parser;
  auto root = json_parser.parse(cdp::audience::condition_to_json(condition));
  if (!root) std::abort();
  auto from_json = cdp::audience::condition_from_json(**root);
  if (!from_json || !(*from_json == condition)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  cdp::audience::ConditionParser parser;
  if (auto parsed = parser.parse(text)) {
    check_round_trips(*parsed);
  } else {
    size_t lines = 1;
    for (char c : text) lines += c == '\n';
    if (parser.error_line() < 1 || parser.error_line() > lines || parser.error_column() < 1) {
      std::abort();
    }
  }
  thread_local cdp::ingest::JsonParser json_parser;
  auto root = json_parser.parse(text);
  if (!root) return 0;
  if (auto from_json = cdp::audience::condition_from_json(**root)) check_round_trips(*from_json);
  return 0;
}

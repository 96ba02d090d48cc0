#pragma once

#include <simdjson.h>

#include <cstdint>
#include <memory>
#include <memory_resource>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cdp::ingest {

enum class JsonKind : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

struct JsonValue;

struct JsonMember {
  std::string_view key;  // unescaped
  JsonValue* value;
};

// A parsed JSON value. Strings are unescaped; numbers keep their exact source text, so integers
// of any size and decimals round-trip unchanged. Objects keep every member in source order,
// duplicates included; lookups and serialisation treat the last duplicate as the value, as
// JavaScript's JSON.parse does. Views point into the JsonParser that produced the value.
struct JsonValue {
  JsonKind kind = JsonKind::kNull;
  bool boolean = false;
  std::string_view text;  // kString: the unescaped string; kNumber: the number's source text
  std::pmr::vector<JsonMember> members;   // kObject
  std::pmr::vector<JsonValue*> elements;  // kArray

  explicit JsonValue(std::pmr::memory_resource* arena) : members(arena), elements(arena) {}

  bool is_object() const { return kind == JsonKind::kObject; }
  bool is_string() const { return kind == JsonKind::kString; }
  // The value of the last member named `key`, or nullptr. REQUIRES: is_object().
  const JsonValue* find(std::string_view key) const;
};

// For each member of `object`, whether it is the last one with its key (the one that counts).
// Linear time. REQUIRES: object.is_object().
std::vector<bool> last_occurrences(const JsonValue& object);

// Appends `value` as compact JSON; objects emit each key once (its last value).
void write_json(std::string& out, const JsonValue& value);
// The same, but stops, returning false, once `out` is longer than `stop_after` bytes (checked
// after each member and element; `out` then holds part of the JSON).
bool write_json(std::string& out, const JsonValue& value, size_t stop_after);

// Parses JSON text into a JsonValue tree, validating all of it (structure, UTF-8, escapes,
// number syntax). Reusable: each parse() invalidates the previous tree. Not thread-safe; keep one
// per thread.
//
// Rationale: simdjson's DOM rejects integers beyond 64 bits, which real events carry (128-bit ids,
// big counters); its On-Demand API does not, and visiting every value with it validates the whole
// document. Building a small tree (in an arena reset per parse) lets the normaliser look fields up
// in any order, since a batch's envelope (sentAt, context) may follow its events.
class JsonParser {
 public:
  static constexpr size_t kMaxDepth = 64;

  JsonParser();
  // Returns the root, which must be an object or array; kInvalidArgument names what was wrong
  // and the byte offset where it was found.
  Result<const JsonValue*> parse(std::string_view json);
  // Only the member `key` of the top-level object (the last one of that name), or nullptr when
  // the object has none: the other members are skipped, not built and not validated. For JSON
  // that was validated before (events read back from the raw log), where one member is needed.
  Result<const JsonValue*> parse_member(std::string_view json, std::string_view key);
  // The top-level object with only the members named in `keys` built (in source order,
  // duplicates included); the others are skipped, not built and not validated. For stored JSON
  // of which a reader needs a few members (a pass over profile records).
  Result<const JsonValue*> parse_members(std::string_view json,
                                         std::span<const std::string_view> keys);

 private:
  Status start(std::string_view json);
  Status build(simdjson::ondemand::value value, JsonValue& out, size_t depth);
  Status build_object(simdjson::ondemand::object object, JsonValue& out, size_t depth);
  Status build_array(simdjson::ondemand::array array, JsonValue& out, size_t depth);
  Status error_at(simdjson::error_code error, std::string_view what);
  JsonValue* new_value();

  simdjson::ondemand::parser parser_;
  simdjson::ondemand::document document_;
  std::unique_ptr<char[]> buffer_;
  size_t buffer_capacity_ = 0;
  const char* input_begin_ = nullptr;
  bool document_started_ = false;  // current_location() is only safe on a started document
  // The tree's memory: a first block kept across parses, so that a parse of an event allocates
  // nothing (releasing a resource without one freed its 64 KB each time: a third of the parse in
  // malloc). Bigger documents take more blocks from the heap, freed at the next parse.
  std::unique_ptr<std::byte[]> first_block_;
  std::pmr::monotonic_buffer_resource arena_;
};

// True when `text` is a JSON number (RFC 8259 grammar).
bool is_json_number(std::string_view text);

}  // namespace cdp::ingest

#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cdp {

// Appends `text` as a JSON string literal (quoted and escaped) to `out`.
// REQUIRES: `text` is valid UTF-8 (it is passed through unchanged apart from escapes).
void append_json_string(std::string& out, std::string_view text);

// `text` with every byte that is not part of well-formed UTF-8 replaced by U+FFFD: for echoing
// untrusted input (a bad path, a value) into a JSON message.
std::string to_valid_utf8(std::string_view text);

// At most `max` bytes of `text`, not cutting a UTF-8 character in two.
inline std::string_view utf8_prefix(std::string_view text, size_t max) {
  if (text.size() <= max) return text;
  while (max > 0 && (static_cast<unsigned char>(text[max]) & 0xC0) == 0x80) --max;
  return text.substr(0, max);
}

// A small append-only JSON writer for responses and records. It does not check nesting:
// callers write well-formed sequences. Commas between members are inserted automatically.
class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view name);
  JsonWriter& string(std::string_view value);
  JsonWriter& number(int64_t value);
  JsonWriter& number(double value);
  JsonWriter& boolean(bool value);
  JsonWriter& null();
  // Writes already-serialised JSON as the next value. REQUIRES: `json` is valid JSON.
  JsonWriter& raw(std::string_view json);

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void before_value();

  std::string out_;
  bool need_comma_ = false;
};

}  // namespace cdp

#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cdp::storage {

// Keys are big-endian so that RocksDB's bytewise order is numeric order; values use the same
// byte order for their fixed-size fields.
template <typename T>
void append_be(std::string& out, T value) {
  for (int shift = 8 * static_cast<int>(sizeof(T)) - 8; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((value >> shift) & 0xFF));
}

// REQUIRES: bytes.size() >= sizeof(T).
template <typename T>
T read_be(std::string_view bytes) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    value = static_cast<T>((value << 8) | static_cast<uint8_t>(bytes[i]));
  return value;
}

inline void append_u64_be(std::string& out, uint64_t value) { append_be(out, value); }
inline void append_u32_be(std::string& out, uint32_t value) { append_be(out, value); }
inline void append_u16_be(std::string& out, uint16_t value) { append_be(out, value); }

inline std::string u64_be(uint64_t value) {
  std::string out;
  append_u64_be(out, value);
  return out;
}

inline uint64_t read_u64_be(std::string_view bytes) { return read_be<uint64_t>(bytes); }
inline uint32_t read_u32_be(std::string_view bytes) { return read_be<uint32_t>(bytes); }
inline uint16_t read_u16_be(std::string_view bytes) { return read_be<uint16_t>(bytes); }

}  // namespace cdp::storage

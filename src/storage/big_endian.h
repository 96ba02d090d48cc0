#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cdp::storage {

// Keys are big-endian so that RocksDB's bytewise order is numeric order.
inline void append_u64_be(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((value >> shift) & 0xFF));
}

inline std::string u64_be(uint64_t value) {
  std::string out;
  append_u64_be(out, value);
  return out;
}

// REQUIRES: bytes.size() >= 8.
inline uint64_t read_u64_be(std::string_view bytes) {
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i)
    value = (value << 8) | static_cast<uint8_t>(bytes[static_cast<size_t>(i)]);
  return value;
}

}  // namespace cdp::storage

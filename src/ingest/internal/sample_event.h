#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace cdp::ingest {

// A ~`target_bytes` track event shaped like the ones analytics libraries send, for benchmarks and
// the load generator. Realistic fields come first so the normaliser does its usual work; a
// `padding` property brings the event to size. The padding is pseudo-random text (seeded by
// `seed`) so that storage compresses it about as well as real property values, not 100-fold as
// it would a repeated pattern. `with_type` adds "type":"track" (batch items need it).
inline std::string make_sample_track_event(size_t target_bytes, bool with_type,
                                           std::string_view message_id, uint32_t seed) {
  std::string head = "{";
  if (with_type) head += "\"type\":\"track\",";
  head +=
      "\"event\":\"Product Viewed\",\"userId\":\"user-0000042\",\"anonymousId\":"
      "\"5f1c9a3e-7b2d-4c8e-9f10-a1b2c3d4e5f6\",\"messageId\":\"";
  head += message_id;
  head +=
      "\",\"timestamp\":\"2024-05-01T12:00:00.000Z\","
      "\"properties\":{\"product_id\":\"sku-1234\",\"name\":\"Trail Runner 2\",\"price\":119.99,"
      "\"currency\":\"EUR\",\"category\":\"shoes\",\"quantity\":1,\"in_stock\":true,\"padding\":\"";
  const std::string_view tail =
      "\"},\"context\":{\"library\":{\"name\":\"cdp_load\",\"version\":\"0.1.0\"},"
      "\"locale\":\"en-US\",\"userAgent\":\"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
      "(KHTML, like Gecko) Chrome/124.0 Safari/537.36\",\"page\":{\"path\":\"/products/sku-1234\","
      "\"url\":\"https://shop.example.com/products/sku-1234\","
      "\"referrer\":\"https://www.example.org/\"}}}";
  static constexpr std::string_view kAlphabet =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
  const size_t fixed = head.size() + tail.size();
  std::string event = std::move(head);
  std::minstd_rand random(seed + 1);
  for (size_t i = fixed; i < target_bytes; ++i) {
    event.push_back(kAlphabet[random() % kAlphabet.size()]);
  }
  event += tail;
  return event;
}

}  // namespace cdp::ingest

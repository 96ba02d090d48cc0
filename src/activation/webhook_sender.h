#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "activation/destination.h"
#include "activation/network_guard.h"
#include "activation/sender.h"
#include "common/clock.h"

namespace cdp::activation {

// Webhook delivery: an HTTP POST of the message (batch_size 1) or of {"batch": [...]} per
// request, over one kept-alive connection (libcurl). Headers:
//   Content-Type: application/json
//   X-Cdp-Destination: <name>          X-Cdp-Attempt: <1, 2, ...>
//   X-Cdp-Timestamp: <unix seconds>    X-Cdp-Signature: v1=<hex HMAC-SHA256>  (with a secret)
// The signature covers "<timestamp>.<body>", so a receiver that checks it and refuses old
// timestamps cannot be fed a replayed or altered request. Redirects are not followed, proxies
// from the environment are not used, and every connection is checked by the NetworkGuard.
class WebhookSender final : public Sender {
 public:
  WebhookSender(DestinationSpec spec, const NetworkGuard& guard, const Clock& clock);
  ~WebhookSender() override;

  SendResult send(std::span<const Message* const> batch, int attempt) override;
  Status test_connection() override;
  void cancel() override { cancelled_.store(true); }

 private:
  struct Curl;
  // A new easy handle with every option but the request's own.
  std::unique_ptr<Curl> new_handle();

  DestinationSpec spec_;
  const NetworkGuard& guard_;
  const Clock& clock_;
  std::atomic<bool> cancelled_{false};
  std::unique_ptr<Curl> curl_;
};

// "v1=" + hex HMAC-SHA256(secret, timestamp "." body).
std::string webhook_signature(std::string_view secret, int64_t timestamp_s, std::string_view body);
// A Retry-After value (delay seconds, or an HTTP date) as milliseconds from `now_ms`; nullopt when
// unreadable. A date in the past is 0.
std::optional<int64_t> parse_retry_after(std::string_view value, int64_t now_ms);
// Calls curl_global_init once; every thread that uses libcurl must come after it.
void init_curl();

}  // namespace cdp::activation

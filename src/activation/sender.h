#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "activation/selection.h"
#include "common/status.h"

namespace cdp::activation {

// What one delivery attempt of a batch came to.
struct SendResult {
  enum class Outcome {
    kDelivered,  // the destination took the whole batch
    kRetry,      // a failure that may pass (5xx, 408, 429, timeout, connection error)
    kRejected,   // the destination refused the messages themselves (other 4xx): retrying is futile
  };
  Outcome outcome = Outcome::kRetry;
  int status = 0;               // the HTTP status; 0 when no answer came
  std::string error;            // why it failed, for people ("HTTP 503", "timeout after 10000 ms")
  int64_t retry_after_ms = -1;  // the destination's Retry-After, when it sent one
  std::string body;             // the start of the answer's body (at most 1 KiB)
};

// Delivers batches to one destination. Used by one thread at a time, except cancel().
class Sender {
 public:
  virtual ~Sender() = default;
  // From any thread: makes the send in flight (and every later one) end soon with kRetry, so
  // that stopping a destination does not wait for a slow one's timeout.
  virtual void cancel() = 0;
  // `attempt` is 1 for a first try.
  virtual SendResult send(std::span<const Message* const> batch, int attempt) = 0;
  // Opens a connection without sending anything: ok, or why it cannot be reached.
  virtual Status test_connection() = 0;
};

}  // namespace cdp::activation

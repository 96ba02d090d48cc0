#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "activation/destination.h"
#include "activation/network_guard.h"
#include "activation/sender.h"

namespace cdp::activation {

// Kafka delivery with librdkafka: each message is produced to the destination's topic, keyed by
// its user key (userId, else anonymousId; the profile for audience changes) so a user's
// messages share a partition, with a `messageId` header. A batch is delivered when every
// message's delivery report is a success; the producer is idempotent with acks=all, so
// librdkafka's own retries within timeout_ms add no duplicates. Broker connections are checked
// by the NetworkGuard like webhooks'. Used by one thread at a time.
class KafkaSender final : public Sender {
 public:
  KafkaSender(DestinationSpec spec, const NetworkGuard& guard);
  ~KafkaSender() override;

  SendResult send(std::span<const Message* const> batch, int attempt) override;
  // Asks the brokers for the topic's metadata.
  Status test_connection() override;
  void cancel() override { cancelled_.store(true); }

 private:
  struct Producer;
  Result<Producer*> producer();

  DestinationSpec spec_;
  const NetworkGuard& guard_;
  std::atomic<bool> cancelled_{false};
  std::unique_ptr<Producer> producer_;  // created on first use, again after a fatal error
};

}  // namespace cdp::activation

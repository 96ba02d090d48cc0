#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cdp::activation {

// An IPv4 or IPv6 network, e.g. 127.0.0.0/8 or fd00::/8. IPv4 is held as ::ffff:a.b.c.d.
struct Network {
  std::array<uint8_t, 16> address{};
  int prefix = 0;  // of the 128 bits
};
Result<Network> parse_network(std::string_view text);

// Refuses connections to addresses a server-side request must not reach on a user's behalf
// (SSRF): loopback, private (RFC 1918, unique-local), carrier-grade NAT, link-local (which holds
// the cloud metadata services, 169.254.169.254 and fd00:ec2::254), multicast, unspecified and
// reserved ranges, also when reached through IPv4-mapped or NAT64 IPv6 addresses. Networks on the
// allow list are accepted anyway (that is how tests and internal receivers are reached).
// Checked on the address a connection is actually opened to, so DNS rebinding cannot get past it.
// Immutable; thread-safe.
class NetworkGuard {
 public:
  NetworkGuard() = default;
  explicit NetworkGuard(std::vector<Network> allowed) : allowed_(std::move(allowed)) {}

  // Empty when the address may be reached; else why not ("127.0.0.1 is a loopback address").
  std::string refusal(const sockaddr* address) const;
  std::string refusal(const std::array<uint8_t, 16>& address) const;

 private:
  std::vector<Network> allowed_;
};

// The textual form of an address ("127.0.0.1", "::1").
std::string address_text(const std::array<uint8_t, 16>& address);

}  // namespace cdp::activation

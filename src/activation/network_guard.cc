#include "activation/network_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace cdp::activation {
namespace {

using Bytes = std::array<uint8_t, 16>;

Bytes mapped_v4(const uint8_t* v4) {
  Bytes out{};
  out[10] = 0xff;
  out[11] = 0xff;
  std::memcpy(out.data() + 12, v4, 4);
  return out;
}

bool in_network(const Bytes& address, const Network& network) {
  const int full = network.prefix / 8;
  if (std::memcmp(address.data(), network.address.data(), full) != 0) return false;
  const int bits = network.prefix % 8;
  if (bits == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - bits));
  return (address[full] & mask) == (network.address[full] & mask);
}

struct Blocked {
  const char* network;
  const char* what;
};

// IPv4 ranges are written as IPv4 and matched in their mapped form.
constexpr Blocked kBlocked[] = {
    {"0.0.0.0/8", "an unspecified (\"this network\") address"},
    {"10.0.0.0/8", "a private address"},
    {"100.64.0.0/10", "a carrier-grade NAT address"},
    {"127.0.0.0/8", "a loopback address"},
    {"169.254.0.0/16", "a link-local address (cloud metadata services live here)"},
    {"172.16.0.0/12", "a private address"},
    {"192.0.0.0/24", "a reserved (IETF protocol) address"},
    {"192.168.0.0/16", "a private address"},
    {"198.18.0.0/15", "a benchmarking address"},
    {"224.0.0.0/4", "a multicast address"},
    {"240.0.0.0/4", "a reserved address"},
    {"::/128", "the unspecified address"},
    {"::1/128", "a loopback address"},
    {"fc00::/7", "a unique-local (private) address"},
    {"fe80::/10", "a link-local address"},
    {"fec0::/10", "a site-local (private) address"},
    {"64:ff9b:1::/48", "a local-use NAT64 address"},
    {"ff00::/8", "a multicast address"},
};

const std::vector<std::pair<Network, const char*>>& blocked_networks() {
  static const auto* networks = [] {
    auto* out = new std::vector<std::pair<Network, const char*>>;
    for (const auto& b : kBlocked) out->emplace_back(*parse_network(b.network), b.what);
    return out;
  }();
  return *networks;
}

}  // namespace

Result<Network> parse_network(std::string_view text) {
  const auto slash = text.find('/');
  const std::string host(text.substr(0, slash));
  Network network;
  int max_prefix = 128;
  uint8_t v4[4];
  if (inet_pton(AF_INET, host.c_str(), v4) == 1) {
    network.address = mapped_v4(v4);
    max_prefix = 32;
  } else if (inet_pton(AF_INET6, host.c_str(), network.address.data()) != 1) {
    return Status::invalid_argument("'" + std::string(text) +
                                    "' is not a network: write an address with an optional "
                                    "prefix length, e.g. 127.0.0.0/8 or ::1");
  }
  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string bits(text.substr(slash + 1));
    char* end = nullptr;
    const long n = std::strtol(bits.c_str(), &end, 10);
    if (bits.empty() || *end != '\0' || n < 0 || n > max_prefix) {
      return Status::invalid_argument("'" + std::string(text) + "' has a bad prefix length (0 to " +
                                      std::to_string(max_prefix) + ")");
    }
    prefix = static_cast<int>(n);
  }
  network.prefix = prefix + (max_prefix == 32 ? 96 : 0);
  return network;
}

std::string address_text(const Bytes& address) {
  char text[INET6_ADDRSTRLEN] = {};
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(address.data(), kMappedPrefix, 12) == 0) {
    inet_ntop(AF_INET, address.data() + 12, text, sizeof text);
  } else {
    inet_ntop(AF_INET6, address.data(), text, sizeof text);
  }
  return text;
}

std::string NetworkGuard::refusal(const Bytes& address) const {
  for (const auto& network : allowed_) {
    if (in_network(address, network)) return {};
  }
  // Addresses that carry an IPv4 address reach it: judge that one. NAT64 (64:ff9b::/96) and
  // the deprecated IPv4-compatible form (::/96) in their last four bytes, 6to4 (2002::/16) in
  // bytes 2 to 5.
  static constexpr uint8_t kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  static constexpr uint8_t kCompatible[12] = {};
  const uint8_t* inner_v4 = nullptr;
  if (std::memcmp(address.data(), kNat64, 12) == 0) {
    inner_v4 = address.data() + 12;
  } else if (std::memcmp(address.data(), kCompatible, 12) == 0 &&
             (address[12] | address[13] | address[14] | (address[15] & 0xFE)) != 0) {
    // (:: and ::1 are judged as they are)
    inner_v4 = address.data() + 12;
  } else if (address[0] == 0x20 && address[1] == 0x02) {
    inner_v4 = address.data() + 2;
  }
  if (inner_v4 != nullptr) {
    auto inner = refusal(mapped_v4(inner_v4));
    return inner.empty() ? inner : address_text(address) + " reaches " + inner;
  }
  for (const auto& [network, what] : blocked_networks()) {
    if (in_network(address, network)) return address_text(address) + " is " + what;
  }
  return {};
}

std::string NetworkGuard::refusal(const sockaddr* address) const {
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    return refusal(mapped_v4(reinterpret_cast<const uint8_t*>(&v4->sin_addr)));
  }
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    Bytes bytes;
    std::memcpy(bytes.data(), &v6->sin6_addr, 16);
    return refusal(bytes);
  }
  return "only IPv4 and IPv6 addresses are reached";
}

}  // namespace cdp::activation

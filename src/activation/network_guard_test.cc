#include "activation/network_guard.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

namespace cdp::activation {
namespace {

using ::testing::HasSubstr;

// The guard's answer for a textual address.
std::string refusal(const NetworkGuard& guard, const std::string& address) {
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  if (inet_pton(AF_INET, address.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    return guard.refusal(reinterpret_cast<const sockaddr*>(&v4));
  }
  EXPECT_EQ(inet_pton(AF_INET6, address.c_str(), &v6.sin6_addr), 1) << address;
  v6.sin6_family = AF_INET6;
  return guard.refusal(reinterpret_cast<const sockaddr*>(&v6));
}

TEST(NetworkGuardTest, RefusesInternalAddresses) {
  const NetworkGuard guard;
  const std::pair<const char*, const char*> refused[] = {
      {"127.0.0.1", "loopback"},
      {"127.255.0.9", "loopback"},
      {"10.1.2.3", "private"},
      {"172.16.0.1", "private"},
      {"172.31.255.255", "private"},
      {"192.168.1.1", "private"},
      {"169.254.169.254", "metadata"},
      {"100.64.0.1", "carrier-grade NAT"},
      {"0.0.0.0", "unspecified"},
      {"224.0.0.1", "multicast"},
      {"255.255.255.255", "reserved"},
      {"::1", "loopback"},
      {"::", "unspecified"},
      {"fd00:ec2::254", "unique-local"},
      {"fe80::1", "link-local"},
      {"::ffff:127.0.0.1", "loopback"},        // IPv4-mapped
      {"::ffff:169.254.169.254", "metadata"},  // IPv4-mapped
      {"64:ff9b::a9fe:a9fe", "metadata"},      // NAT64 of 169.254.169.254
      {"2002:7f00:1::", "loopback"},           // 6to4 of 127.0.0.1
      {"::10.0.0.1", "private"},               // IPv4-compatible
      {"64:ff9b:1::1", "local-use NAT64"},
      {"fec0::1", "site-local"},
  };
  for (const auto& [address, what] : refused) {
    EXPECT_THAT(refusal(guard, address), HasSubstr(what)) << address;
  }
}

TEST(NetworkGuardTest, AcceptsPublicAddresses) {
  const NetworkGuard guard;
  for (const char* address : {"93.184.216.34", "8.8.8.8", "172.32.0.1", "2606:4700::1111",
                              "64:ff9b::808:808", "2002:808:808::1"}) {
    EXPECT_EQ(refusal(guard, address), "") << address;
  }
}

TEST(NetworkGuardTest, TheAllowListAdmitsNetworks) {
  auto loopback = parse_network("127.0.0.0/8");
  auto v6 = parse_network("fd00::/8");
  ASSERT_TRUE(loopback.has_value() && v6.has_value());
  const NetworkGuard guard({*loopback, *v6});
  EXPECT_EQ(refusal(guard, "127.0.0.1"), "");
  EXPECT_EQ(refusal(guard, "::ffff:127.0.0.1"), "");
  EXPECT_EQ(refusal(guard, "fd12::1"), "");
  EXPECT_THAT(refusal(guard, "10.0.0.1"), HasSubstr("private"));
  EXPECT_THAT(refusal(guard, "::1"), HasSubstr("loopback"));
}

TEST(NetworkGuardTest, ParsesNetworksAndSaysWhatIsWrong) {
  EXPECT_TRUE(parse_network("10.0.0.1").has_value());
  EXPECT_TRUE(parse_network("::1/128").has_value());
  EXPECT_THAT(parse_network("10.0.0.0/33").status().message(), HasSubstr("prefix length"));
  EXPECT_THAT(parse_network("localhost").status().message(), HasSubstr("not a network"));
  EXPECT_THAT(parse_network("10.0.0.0/").status().message(), HasSubstr("prefix length"));
}

}  // namespace
}  // namespace cdp::activation

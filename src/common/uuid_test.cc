#include "common/uuid.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace cdp {
namespace {

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

TEST(UuidTest, HasTheCanonicalVersion4TextForm) {
  for (int i = 0; i < 1000; ++i) {
    const std::string uuid = new_uuid_v4();
    ASSERT_EQ(uuid.size(), 36u) << uuid;
    for (size_t pos = 0; pos < uuid.size(); ++pos) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) {
        ASSERT_EQ(uuid[pos], '-') << uuid;
      } else {
        ASSERT_TRUE(is_lower_hex(uuid[pos])) << uuid;
      }
    }
    EXPECT_EQ(uuid[14], '4') << "version nibble: " << uuid;
    EXPECT_TRUE(uuid[19] == '8' || uuid[19] == '9' || uuid[19] == 'a' || uuid[19] == 'b')
        << "variant nibble: " << uuid;
  }
}

TEST(UuidTest, TenThousandAreAllDistinct) {
  std::unordered_set<std::string> seen;
  for (int i = 0; i < 10000; ++i) seen.insert(new_uuid_v4());
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(UuidTest, ThreadsDoNotProduceTheSameSequence) {
  std::vector<std::vector<std::string>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& out : per_thread) {
    threads.emplace_back([&out] {
      for (int i = 0; i < 1000; ++i) out.push_back(new_uuid_v4());
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> all;
  for (const auto& out : per_thread) all.insert(out.begin(), out.end());
  EXPECT_EQ(all.size(), 4000u);
}

TEST(RandomTokenTest, HasTheRequestedLengthAndOnlyAlphanumerics) {
  for (size_t length : {0u, 1u, 16u, 32u, 100u}) {
    const std::string token = random_token(length);
    ASSERT_EQ(token.size(), length);
    for (char c : token) {
      EXPECT_TRUE((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
          << "unexpected character in " << token;
    }
  }
}

TEST(RandomTokenTest, UsesTheWholeAlphabet) {
  std::set<char> seen;
  for (int i = 0; i < 200; ++i) {
    for (char c : random_token(32)) seen.insert(c);
  }
  // 6400 draws from 62 symbols: every symbol shows up unless the generator is broken.
  EXPECT_EQ(seen.size(), 62u);
}

TEST(RandomTokenTest, TokensAreDistinct) {
  std::unordered_set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(random_token(24));
  EXPECT_EQ(seen.size(), 1000u);
}

}  // namespace
}  // namespace cdp

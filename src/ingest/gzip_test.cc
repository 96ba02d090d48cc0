#include "ingest/gzip.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <string>

namespace cdp::ingest {
namespace {

using ::testing::HasSubstr;

constexpr size_t kLimit = 1 << 20;

std::string random_bytes(size_t size, unsigned seed) {
  std::mt19937 generator(seed);
  std::string bytes(size, '\0');
  for (char& byte : bytes) byte = static_cast<char>(generator() & 0xFF);
  return bytes;
}

TEST(GzipTest, CompressedBodyRoundTrips) {
  const std::string body = R"({"batch":[{"type":"track","event":"Item Purchased","userId":"u1"}]})";
  const std::string compressed = gzip_compress(body);
  ASSERT_GE(compressed.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(compressed[0]), 0x1F) << "gzip magic";
  EXPECT_EQ(static_cast<unsigned char>(compressed[1]), 0x8B) << "gzip magic";
  auto inflated = gunzip(compressed, kLimit);
  ASSERT_TRUE(inflated.has_value()) << inflated.status().to_string();
  EXPECT_EQ(*inflated, body);
}

TEST(GzipTest, EmptyInputCompressesAndRoundTrips) {
  auto inflated = gunzip(gzip_compress(""), kLimit);
  ASSERT_TRUE(inflated.has_value()) << inflated.status().to_string();
  EXPECT_EQ(*inflated, "");
}

TEST(GzipTest, IncompressibleAndHighlyCompressibleDataRoundTrip) {
  // Random bytes barely shrink; repeated text inflates far beyond the first output guess.
  for (const std::string& data : {random_bytes(300 * 1024, 7), std::string(900 * 1024, 'a')}) {
    auto inflated = gunzip(gzip_compress(data), kLimit);
    ASSERT_TRUE(inflated.has_value()) << inflated.status().to_string();
    EXPECT_EQ(inflated->size(), data.size());
    EXPECT_TRUE(*inflated == data);
  }
}

TEST(GzipTest, ConcatenatedMembersInflateToTheirConcatenation) {
  const std::string compressed =
      gzip_compress("first,") + gzip_compress("second,") + gzip_compress("third");
  auto inflated = gunzip(compressed, kLimit);
  ASSERT_TRUE(inflated.has_value()) << inflated.status().to_string();
  EXPECT_EQ(*inflated, "first,second,third");
}

TEST(GzipTest, OutputExactlyAtTheLimitIsAccepted) {
  const std::string data(10000, 'x');
  auto inflated = gunzip(gzip_compress(data), data.size());
  ASSERT_TRUE(inflated.has_value()) << inflated.status().to_string();
  EXPECT_EQ(*inflated, data);
}

TEST(GzipTest, OutputOneByteOverTheLimitIsResourceExhausted) {
  const std::string data(10001, 'x');
  auto inflated = gunzip(gzip_compress(data), 10000);
  ASSERT_FALSE(inflated.has_value());
  EXPECT_EQ(inflated.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(inflated.status().message(), HasSubstr("10000"));
}

TEST(GzipTest, SmallBodyInflatingIntoGigabytesStopsAtTheLimit) {
  // 64 MiB of zeros compress to about 64 KiB; the limit must stop it long before the end.
  const std::string bomb = gzip_compress(std::string(64 << 20, '\0'));
  ASSERT_LT(bomb.size(), 100u * 1024);
  auto inflated = gunzip(bomb, 500 * 1024);
  ASSERT_FALSE(inflated.has_value());
  EXPECT_EQ(inflated.status().code(), StatusCode::kResourceExhausted);
}

TEST(GzipTest, LimitAppliesAcrossConcatenatedMembers) {
  const std::string member = gzip_compress(std::string(6000, 'y'));
  auto inflated = gunzip(member + member, 10000);
  ASSERT_FALSE(inflated.has_value());
  EXPECT_EQ(inflated.status().code(), StatusCode::kResourceExhausted);
}

TEST(GzipTest, TruncatedInputIsInvalidArgument) {
  const std::string compressed = gzip_compress(random_bytes(5000, 3));
  for (size_t keep : {size_t{1}, size_t{5}, size_t{10}, compressed.size() / 2,
                      compressed.size() - 4, compressed.size() - 1}) {
    auto inflated = gunzip(std::string_view(compressed).substr(0, keep), kLimit);
    ASSERT_FALSE(inflated.has_value())
        << "kept " << keep << " of " << compressed.size() << " bytes";
    EXPECT_EQ(inflated.status().code(), StatusCode::kInvalidArgument)
        << inflated.status().to_string();
  }
}

TEST(GzipTest, EmptyInputIsInvalidArgument) {
  auto inflated = gunzip("", kLimit);
  ASSERT_FALSE(inflated.has_value());
  EXPECT_EQ(inflated.status().code(), StatusCode::kInvalidArgument);
}

TEST(GzipTest, UncompressedJsonIsInvalidArgument) {
  auto inflated = gunzip(R"({"type":"track"})", kLimit);
  ASSERT_FALSE(inflated.has_value());
  EXPECT_EQ(inflated.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(inflated.status().message(), HasSubstr("gzip"));
}

TEST(GzipTest, CorruptedDeflateDataIsInvalidArgument) {
  std::string compressed = gzip_compress(std::string(2000, 'z') + random_bytes(2000, 11));
  // Flip bits in the middle of the deflate stream and in the CRC trailer.
  std::string corrupt_body = compressed;
  corrupt_body[compressed.size() / 2] =
      static_cast<char>(corrupt_body[compressed.size() / 2] ^ 0xFF);
  corrupt_body[compressed.size() / 2 + 1] =
      static_cast<char>(corrupt_body[compressed.size() / 2 + 1] ^ 0x5A);
  std::string corrupt_crc = compressed;
  corrupt_crc[compressed.size() - 6] = static_cast<char>(corrupt_crc[compressed.size() - 6] ^ 0x01);
  for (const std::string& corrupt : {corrupt_body, corrupt_crc}) {
    auto inflated = gunzip(corrupt, kLimit);
    ASSERT_FALSE(inflated.has_value());
    EXPECT_EQ(inflated.status().code(), StatusCode::kInvalidArgument)
        << inflated.status().to_string();
  }
}

TEST(GzipTest, GarbageAfterAMemberIsInvalidArgument) {
  auto inflated = gunzip(gzip_compress("data") + "garbage!", kLimit);
  ASSERT_FALSE(inflated.has_value());
  EXPECT_EQ(inflated.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cdp::ingest

#include "profile/state_transaction.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "storage/internal/temp_dir.h"

namespace cdp::profile {
namespace {

class StateTransactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::Database::Options options;
    options.path = dir_.sub("data");
    auto database = storage::Database::open(options);
    ASSERT_TRUE(database.has_value()) << database.status().message();
    database_ = std::move(*database);
  }

  // One batch: `apply` changes state through `txn`, then the batch is written and committed.
  template <typename Apply>
  void batch(StateTransaction& txn, Apply apply) {
    apply();
    ASSERT_TRUE(txn.status().is_ok()) << txn.status().message();
    auto& written = txn.finish();
    ASSERT_TRUE(database_->db().Write(rocksdb::WriteOptions(), &written).ok());
    txn.committed();
  }

  storage::internal::TempDir dir_;
  std::unique_ptr<storage::Database> database_;
};

identity::Identifier user(int n) { return {"user_id", "u" + std::to_string(n)}; }

TEST_F(StateTransactionTest, KeepsTheRecordsUsedLastWithinItsBounds) {
  StateTransaction::CacheLimits limits;
  limits.identifiers = 40;
  limits.profiles = 20;
  StateTransaction txn(*database_, nullptr, limits);
  ASSERT_TRUE(txn.load_blocks().is_ok());
  // 100 profiles with an identifier each, 5 per batch; profile 1 is read again in every batch.
  for (int b = 0; b < 20; ++b) {
    batch(txn, [&] {
      for (int n = b * 5 + 1; n <= b * 5 + 5; ++n) {
        auto& profile = txn.create_profile(n);
        profile.event_count = static_cast<uint64_t>(n);
        txn.link_identifier(user(n), n);
      }
      if (b > 0) {
        ++txn.profile(1).event_count;
        EXPECT_EQ(txn.holder(user(1)), ProfileId{1});
      }
      EXPECT_LE(txn.cached_profiles(), 25u);
    });
    EXPECT_LE(txn.cached_profiles(), 20u);
    EXPECT_LE(txn.cached_identifiers(), 40u);
  }
  // Dropped at a bound are the least recently used, a quarter of it at a time: profile 1 and
  // its identifier were read in every batch, so they never left; none of the others was read
  // again, so what is left of them are the newest. The only reads that missed were those of
  // the new identifiers (none stored yet); new profiles are not read.
  const auto before = txn.cache_stats();
  EXPECT_EQ(before.identifier_misses, 100u);
  EXPECT_EQ(before.profile_misses, 0u);
  batch(txn, [&] {
    EXPECT_EQ(txn.profile(1).event_count, 20u);  // 1, then one more in each of 19 batches
    EXPECT_EQ(txn.holder(user(1)), ProfileId{1});
    EXPECT_EQ(txn.profile(100).event_count, 100u);
    EXPECT_EQ(txn.holder(user(100)), ProfileId{100});
  });
  EXPECT_EQ(txn.cache_stats().profile_hits - before.profile_hits, 4u);  // holder() reads too
  EXPECT_EQ(txn.cache_stats().profile_misses, before.profile_misses);
  EXPECT_EQ(txn.cache_stats().identifier_misses, before.identifier_misses);
  // The oldest ones were dropped, and are read back from the database as they were written.
  const auto misses = txn.cache_stats().profile_misses;
  batch(txn, [&] {
    EXPECT_EQ(txn.profile(2).event_count, 2u);
    EXPECT_EQ(txn.holder(user(3)), ProfileId{3});
  });
  EXPECT_EQ(txn.cache_stats().profile_misses, misses + 2);
}

TEST_F(StateTransactionTest, ProfilesAreBoundedByTheirStoredSizeToo) {
  StateTransaction::CacheLimits limits;
  limits.profile_bytes = 4'000;
  StateTransaction txn(*database_, nullptr, limits);
  ASSERT_TRUE(txn.load_blocks().is_ok());
  size_t record_bytes = 0;
  for (int n = 1; n <= 200; ++n) {
    batch(txn, [&] {
      auto& profile = txn.create_profile(n);
      profile.traits["bio"].json = '"' + std::string(100, 'x') + '"';
      if (n > 1) ++txn.profile(1).event_count;  // profile 1 is used in every batch
    });
    if (n == 1) record_bytes = txn.cached_profile_bytes();
    EXPECT_LE(txn.cached_profile_bytes(), 4'000u);
  }
  ASSERT_GT(record_bytes, 100u);
  // Eviction stops once a quarter of the bound is free: the cache never falls below 3,000
  // bytes less one record, and holds the records used last.
  EXPECT_GE(txn.cached_profile_bytes(), 3'000 - record_bytes);
  const auto misses = txn.cache_stats().profile_misses;
  EXPECT_EQ(misses, 0u);
  const auto kept = txn.cached_profiles();
  batch(txn, [&] {
    EXPECT_EQ(txn.profile(1).event_count, 199u);
    for (int n = 200; n > 200 - static_cast<int>(kept) + 1; --n) txn.profile(n);
  });
  EXPECT_EQ(txn.cache_stats().profile_misses, misses) << "profile 1 and the newest stayed";
  // Every record is still there to read, cached or not.
  batch(txn, [&] {
    for (int n = 2; n <= 200; ++n) {
      EXPECT_EQ(txn.profile(n).traits.at("bio").json.size(), 102u) << n;
    }
  });
  EXPECT_GT(txn.cache_stats().profile_misses, misses + 150);
}

}  // namespace
}  // namespace cdp::profile

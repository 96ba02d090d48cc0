#include "storage/sorted_batch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "storage/database.h"
#include "storage/internal/temp_dir.h"

namespace cdp::storage {
namespace {

// Every key and value of the families that the tests write.
std::map<std::pair<uint32_t, std::string>, std::string> contents(Database& database) {
  std::map<std::pair<uint32_t, std::string>, std::string> all;
  for (auto* family : {database.profiles(), database.audiences(), database.meta()}) {
    std::unique_ptr<rocksdb::Iterator> it(
        database.db().NewIterator(rocksdb::ReadOptions(), family));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      all[{family->GetID(), it->key().ToString()}] = it->value().ToString();
    }
  }
  return all;
}

// The (family, key) of each write in a batch, in order.
class Keys final : public rocksdb::WriteBatch::Handler {
 public:
  rocksdb::Status PutCF(uint32_t family, const rocksdb::Slice& key,
                        const rocksdb::Slice&) override {
    keys.emplace_back(family, key.ToString());
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(uint32_t family, const rocksdb::Slice& key) override {
    keys.emplace_back(family, key.ToString());
    return rocksdb::Status::OK();
  }
  std::vector<std::pair<uint32_t, std::string>> keys;
};

class SortedBatchTest : public ::testing::Test {
 protected:
  std::unique_ptr<Database> open(const std::string& name) {
    Database::Options options;
    options.path = dir_.sub(name);
    auto database = Database::open(options);
    EXPECT_TRUE(database.has_value()) << database.status().message();
    return database ? std::move(*database) : nullptr;
  }

  internal::TempDir dir_;
};

TEST_F(SortedBatchTest, LeavesTheDatabaseAsTheBatchWouldWithItsWritesInKeyOrder) {
  auto as_written = open("as_written");
  auto as_sorted = open("as_sorted");
  ASSERT_TRUE(as_written && as_sorted);
  std::mt19937 random(7);
  for (int round = 0; round < 20; ++round) {
    // Few keys, many writes: most keys are written several times in a batch, and only the last
    // write to each may count.
    rocksdb::WriteBatch batches[2];
    for (int i = 0; i < 500; ++i) {
      const auto pick = random() % 3;
      const std::string key = "k" + std::to_string(random() % 60);
      const std::string value = "v" + std::to_string(round) + "." + std::to_string(i);
      const bool remove = random() % 4 == 0;
      for (int d = 0; d < 2; ++d) {
        auto& database = d == 0 ? *as_written : *as_sorted;
        auto* family = pick == 0   ? database.profiles()
                       : pick == 1 ? database.audiences()
                                   : database.meta();
        ASSERT_TRUE(
            (remove ? batches[d].Delete(family, key) : batches[d].Put(family, key, value)).ok());
      }
    }
    auto sorted = sorted_batch(batches[1], as_sorted->all_column_families());
    ASSERT_TRUE(sorted.has_value());
    EXPECT_EQ(sorted->Count(), batches[1].Count());
    Keys keys;
    ASSERT_TRUE(sorted->Iterate(&keys).ok());
    EXPECT_TRUE(std::is_sorted(keys.keys.begin(), keys.keys.end()));
    ASSERT_TRUE(as_written->db().Write(rocksdb::WriteOptions(), &batches[0]).ok());
    ASSERT_TRUE(as_sorted->db().Write(rocksdb::WriteOptions(), &*sorted).ok());
    ASSERT_EQ(contents(*as_written), contents(*as_sorted)) << "round " << round;
  }
  EXPECT_FALSE(contents(*as_sorted).empty());
}

TEST_F(SortedBatchTest, ARangeDeletionLogDataOrAnUnknownFamilyKeepTheBatchAsItIs) {
  auto database = open("data");
  ASSERT_TRUE(database);
  rocksdb::WriteBatch ranged;
  ASSERT_TRUE(ranged.Put(database->meta(), "b", "1").ok());
  // Deletes "b" only because it comes after the put: sorting could not keep that.
  ASSERT_TRUE(ranged.DeleteRange(database->meta(), "a", "c").ok());
  ASSERT_TRUE(ranged.Put(database->meta(), "a", "2").ok());
  EXPECT_FALSE(sorted_batch(ranged, database->all_column_families()).has_value());

  rocksdb::WriteBatch logged;
  ASSERT_TRUE(logged.Put(database->meta(), "b", "1").ok());
  ASSERT_TRUE(logged.PutLogData("a blob for WAL readers, in its place").ok());
  EXPECT_FALSE(sorted_batch(logged, database->all_column_families()).has_value());

  // Out of order (else there is nothing to sort): "kb" before "ka" in each.
  rocksdb::WriteBatch in_default;  // the default family is not one of all_column_families()
  ASSERT_TRUE(in_default.Put(database->db().DefaultColumnFamily(), "kb", "1").ok());
  ASSERT_TRUE(in_default.Put(database->db().DefaultColumnFamily(), "ka", "1").ok());
  EXPECT_FALSE(sorted_batch(in_default, database->all_column_families()).has_value());

  rocksdb::WriteBatch unknown;
  ASSERT_TRUE(unknown.Put(database->meta(), "kb", "1").ok());
  ASSERT_TRUE(unknown.Put(database->meta(), "ka", "1").ok());
  ASSERT_TRUE(unknown.Put(database->profiles(), "a", "1").ok());
  const std::vector<rocksdb::ColumnFamilyHandle*> only_meta{database->meta()};
  EXPECT_FALSE(sorted_batch(unknown, only_meta).has_value());
  auto sorted = sorted_batch(unknown, database->all_column_families());
  ASSERT_TRUE(sorted.has_value());
  EXPECT_EQ(sorted->Count(), 3u);
}

TEST_F(SortedBatchTest, ABatchInKeyOrderPerFamilyAndFirstByteIsKeptAsItIs) {
  auto database = open("data");
  ASSERT_TRUE(database);
  // A definition's part: each profile's record, member key and history key, in id order; the
  // families interleave, and so do the member and history keys of one family.
  rocksdb::WriteBatch part;
  for (int id = 100; id < 400; ++id) {
    ASSERT_TRUE(part.Put(database->profiles(), "p" + std::to_string(id), "record").ok());
    ASSERT_TRUE(part.Put(database->audiences(), "m/a" + std::to_string(id), "").ok());
    ASSERT_TRUE(part.Put(database->audiences(), "h/a" + std::to_string(id), "").ok());
  }
  // Two cursor keys out of order: at most 1% of the writes.
  ASSERT_TRUE(part.Put(database->meta(), "processor/resume", "1").ok());
  ASSERT_TRUE(part.Put(database->meta(), "processor/last", "1").ok());
  EXPECT_FALSE(sorted_batch(part, database->all_column_families()).has_value());

  // Past 1%: sorted.
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(part.Put(database->meta(), "processor/resume" + std::to_string(i), "1").ok());
    ASSERT_TRUE(part.Put(database->meta(), "processor/last" + std::to_string(i), "1").ok());
  }
  auto sorted = sorted_batch(part, database->all_column_families());
  ASSERT_TRUE(sorted.has_value());
  EXPECT_EQ(sorted->Count(), part.Count());
}

}  // namespace
}  // namespace cdp::storage

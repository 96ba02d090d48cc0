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

TEST_F(SortedBatchTest, ABatchInKeyOrderPerFamilyAndFirstByteIsGroupedNotSorted) {
  auto as_written = open("as_written");
  auto as_grouped = open("as_grouped");
  ASSERT_TRUE(as_written && as_grouped);
  // A definition's part: each profile's operand, member key and history key, in id order; the
  // families interleave, and so do the member and history keys of one family.
  auto part_of = [](Database& database, int cursors) {
    rocksdb::WriteBatch part;
    for (int id = 100; id < 400; ++id) {
      EXPECT_TRUE(part.Put(database.profiles(), "p" + std::to_string(id), "record").ok());
      EXPECT_TRUE(part.Put(database.audiences(), "m/a" + std::to_string(id), "in").ok());
      EXPECT_TRUE(part.Put(database.audiences(), "h/a" + std::to_string(id), "").ok());
    }
    // Out of order: a key written again (the later write must win) and cursor keys.
    EXPECT_TRUE(part.Delete(database.audiences(), "m/a150").ok());
    for (int i = 0; i < cursors; ++i) {
      EXPECT_TRUE(part.Put(database.meta(), "processor/resume" + std::to_string(i), "1").ok());
      EXPECT_TRUE(part.Put(database.meta(), "processor/last" + std::to_string(i), "1").ok());
    }
    return part;
  };
  // Up to 1% of the writes out of order: grouped, each group in its own order.
  auto part = part_of(*as_grouped, 1);
  auto grouped = sorted_batch(part, as_grouped->all_column_families());
  ASSERT_TRUE(grouped.has_value());
  Keys keys;
  ASSERT_TRUE(grouped->Iterate(&keys).ok());
  ASSERT_EQ(keys.keys.size(), part.Count());
  const auto audiences = as_grouped->audiences()->GetID();
  const auto meta = as_grouped->meta()->GetID();
  // `meta` has the lowest id of the three: its group comes first, in the order written.
  const std::vector<std::pair<uint32_t, std::string>> cursors = {{meta, "processor/resume0"},
                                                                 {meta, "processor/last0"}};
  EXPECT_TRUE(std::equal(cursors.begin(), cursors.end(), keys.keys.begin()));
  size_t out_of_order = 0;
  for (size_t i = 1; i < keys.keys.size(); ++i) out_of_order += keys.keys[i] < keys.keys[i - 1];
  EXPECT_EQ(out_of_order, 2u);  // the second cursor key, and m/a150's delete after m/a399
  EXPECT_EQ(std::count(keys.keys.begin(), keys.keys.end(),
                       std::pair<uint32_t, std::string>(audiences, "m/a150")),
            2);
  ASSERT_TRUE(as_grouped->db().Write(rocksdb::WriteOptions(), &*grouped).ok());
  auto original = part_of(*as_written, 1);
  ASSERT_TRUE(as_written->db().Write(rocksdb::WriteOptions(), &original).ok());
  EXPECT_EQ(contents(*as_written), contents(*as_grouped));

  // In key order already: written as it is.
  rocksdb::WriteBatch in_order;
  for (int id = 100; id < 400; ++id) {
    ASSERT_TRUE(in_order.Put(as_written->profiles(), "p" + std::to_string(id), "").ok());
  }
  EXPECT_FALSE(sorted_batch(in_order, as_written->all_column_families()).has_value());

  // Past 1%: sorted.
  auto sorted = sorted_batch(part_of(*as_grouped, 10), as_grouped->all_column_families());
  ASSERT_TRUE(sorted.has_value());
  Keys sorted_keys;
  ASSERT_TRUE(sorted->Iterate(&sorted_keys).ok());
  EXPECT_TRUE(std::is_sorted(sorted_keys.keys.begin(), sorted_keys.keys.end()));
}

}  // namespace
}  // namespace cdp::storage

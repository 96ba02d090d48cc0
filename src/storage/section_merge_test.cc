#include "storage/section_merge.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "storage/database.h"
#include "storage/internal/temp_dir.h"

namespace cdp::storage {
namespace {

using namespace std::string_literals;

class SectionMergeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Database::Options options;
    options.path = dir_.sub("data");
    auto opened = Database::open(options);
    ASSERT_TRUE(opened) << opened.status().message();
    database_ = std::move(*opened);
  }

  void reopen() {
    database_.reset();
    SetUp();
  }

  std::string get(const std::string& key) {
    std::string value;
    const auto status =
        database_->db().Get(rocksdb::ReadOptions(), database_->profiles(), key, &value);
    return status.ok() ? value : "<" + status.ToString() + ">";
  }

  // Every value, as an iterator reads it.
  std::string scanned() {
    std::unique_ptr<rocksdb::Iterator> it(
        database_->db().NewIterator(rocksdb::ReadOptions(), database_->profiles()));
    std::string all;
    for (it->SeekToFirst(); it->Valid(); it->Next()) all += it->value().ToString() + "|";
    return all;
  }

  void put(const std::string& key, const std::string& value) {
    ASSERT_TRUE(
        database_->db().Put(rocksdb::WriteOptions(), database_->profiles(), key, value).ok());
  }
  void merge(const std::string& key, const std::string& section) {
    ASSERT_TRUE(
        database_->db().Merge(rocksdb::WriteOptions(), database_->profiles(), key, section).ok());
  }
  void compact() {
    ASSERT_TRUE(database_->db().Flush(rocksdb::FlushOptions(), database_->profiles()).ok());
    rocksdb::CompactRangeOptions everything;
    everything.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    ASSERT_TRUE(
        database_->db().CompactRange(everything, database_->profiles(), nullptr, nullptr).ok());
  }

  internal::TempDir dir_;
  std::unique_ptr<Database> database_;
};

TEST_F(SectionMergeTest, TheNewestOperandReplacesTheSection) {
  put("a", "{\"head\":1}\0old"s);
  put("b", "{\"head\":2}");  // no section yet
  merge("a", "first");
  merge("a", "second");
  merge("b", "new\0with a NUL"s);  // a section may hold any bytes
  EXPECT_EQ(get("a"), "{\"head\":1}\0second"s);
  EXPECT_EQ(get("b"), "{\"head\":2}\0new\0with a NUL"s);
  EXPECT_EQ(scanned(), "{\"head\":1}\0second|{\"head\":2}\0new\0with a NUL|"s);
}

// Operands in the memtable, in files beside the record's and folded into it by compaction read
// the same, after a restart too; a later put or delete supersedes them.
TEST_F(SectionMergeTest, OperandsReadTheSameWhereverTheyAre) {
  put("a", "{}\0s0"s);
  compact();
  merge("a", "s1");
  ASSERT_TRUE(database_->db().Flush(rocksdb::FlushOptions(), database_->profiles()).ok());
  merge("a", "s2");
  EXPECT_EQ(get("a"), "{}\0s2"s);
  reopen();
  EXPECT_EQ(get("a"), "{}\0s2"s);
  compact();
  EXPECT_EQ(get("a"), "{}\0s2"s);
  merge("a", "s3");
  put("a", "{\"whole\":true}");
  EXPECT_EQ(get("a"), "{\"whole\":true}");
  ASSERT_TRUE(database_->db().Delete(rocksdb::WriteOptions(), database_->profiles(), "a").ok());
  EXPECT_EQ(get("a"), "<NotFound: >");
}

TEST_F(SectionMergeTest, AnOperandWithoutARecordIsCorruptionNotAnInventedRecord) {
  merge("orphan", "section");
  EXPECT_EQ(get("orphan").substr(0, 11), "<Corruption");
}

}  // namespace
}  // namespace cdp::storage

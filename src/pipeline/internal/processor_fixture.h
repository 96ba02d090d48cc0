#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "pipeline/processor.h"
#include "profile/profile_store.h"
#include "profile/state_records.h"
#include "storage/big_endian.h"
#include "storage/internal/temp_dir.h"
#include "storage/raw_log_record.h"

namespace cdp::pipeline::internal {

// Every key and value of the profile state (and the unmerge records), to compare two databases.
inline std::map<std::string, std::string> dump_state(storage::Database& database) {
  std::map<std::string, std::string> out;
  for (auto* family :
       {database.identifiers(), database.profiles(), database.profile_events(),
        database.identity_edges(), database.accounts(), database.audiences(), database.changes()}) {
    std::unique_ptr<rocksdb::Iterator> it(
        database.db().NewIterator(rocksdb::ReadOptions(), family));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out[family->GetName() + "/" + it->key().ToString()] = it->value().ToString();
    }
  }
  auto meta = database.scan_meta(std::string(profile::kUnmergePrefix));
  for (const auto& [key, value] : *meta) out[key] = value;
  return out;
}

// Copies the raw log of `from` into a new data directory at `path`, applies it there under
// `rules` and returns the state that builds (dump_state).
inline std::map<std::string, std::string> replay_log(
    storage::Database& from, const std::string& path,
    std::shared_ptr<const identity::CompiledRules> rules,
    Processor::Options processor_options = {}) {
  storage::Database::Options options;
  options.path = path;
  auto replica = storage::Database::open(options);
  EXPECT_TRUE(replica.has_value()) << replica.status().to_string();
  if (!replica) return {};
  std::unique_ptr<rocksdb::Iterator> it(
      from.db().NewIterator(rocksdb::ReadOptions(), from.raw_log()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    EXPECT_TRUE((*replica)
                    ->db()
                    .Put(rocksdb::WriteOptions(), (*replica)->raw_log(), it->key(), it->value())
                    .ok());
  }
  auto processor = Processor::open(**replica, std::move(rules), std::move(processor_options));
  EXPECT_TRUE(processor.has_value());
  if (!processor) return {};
  EXPECT_TRUE((*processor)->process_available().is_ok());
  return dump_state(**replica);
}

// A data directory with a raw log the test appends to and a processor over it. For tests.
class ProcessorFixture : public ::testing::Test {
 protected:
  void SetUp() override { reopen(); }

  // Closes and reopens the database and the processor (a restart).
  void reopen(identity::IdentityRules rules = identity::IdentityRules::defaults(),
              Processor::Options processor_options = {}) {
    processor_.reset();
    store_.reset();
    database_.reset();
    storage::Database::Options options;
    options.path = dir_.sub("data");
    auto database = storage::Database::open(options);
    ASSERT_TRUE(database.has_value()) << database.status().to_string();
    database_ = std::move(*database);
    auto compiled = identity::CompiledRules::compile(std::move(rules));
    ASSERT_TRUE(compiled.has_value()) << compiled.status().to_string();
    auto processor = Processor::open(*database_, *compiled, std::move(processor_options));
    ASSERT_TRUE(processor.has_value()) << processor.status().to_string();
    processor_ = std::move(*processor);
    store_ = std::make_unique<profile::ProfileStore>(*database_);
  }

  // Appends one event (a JSON object) to the raw log as ingest would store it, received at
  // `received_at_ms` (0: a millisecond after the previous one).
  uint64_t append(const std::string& event_json, const std::string& source = "web",
                  int64_t received_at_ms = 0) {
    ++seq_;
    received_at_ms_ = received_at_ms != 0 ? received_at_ms : received_at_ms_ + 1;
    std::string value;
    storage::encode_raw_log_value(value, source, received_at_ms_, event_json);
    EXPECT_TRUE(
        database_->db()
            .Put(rocksdb::WriteOptions(), database_->raw_log(), storage::u64_be(seq_), value)
            .ok());
    return seq_;
  }

  void process() {
    auto status = processor_->process_available();
    ASSERT_TRUE(status.is_ok()) << status.to_string();
  }

  // The live profile holding `type:value`, or 0.
  profile::ProfileId find(const std::string& type, const std::string& value) {
    auto found = store_->find({type, value});
    EXPECT_TRUE(found.has_value()) << found.status().to_string();
    return found && found->has_value() ? (*found)->id : 0;
  }

  profile::Profile get(profile::ProfileId id) {
    auto profile = store_->get(id);
    EXPECT_TRUE(profile.has_value() && profile->has_value());
    return profile && profile->has_value() ? **profile : profile::Profile{};
  }

  storage::internal::TempDir dir_;
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<Processor> processor_;
  std::unique_ptr<profile::ProfileStore> store_;
  uint64_t seq_ = 0;
  int64_t received_at_ms_ = 1'700'000'000'000;
};

}  // namespace cdp::pipeline::internal

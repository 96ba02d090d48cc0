#include "activation/file_export.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "activation/file_export_worker.h"
#include "profile/audience_records.h"
#include "profile/profile.h"
#include "storage/big_endian.h"
#include "storage/internal/temp_dir.h"

namespace cdp::activation {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kT1 = 1'800'000'000'000;  // 2027-01-15T08:00:00Z

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class FileExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::Database::Options options;
    options.path = dir_.sub("data");
    database_ = std::move(storage::Database::open(options)).value();
  }
  void profile(profile::ProfileId id, std::vector<std::pair<std::string, std::string>> ids) {
    profile::Profile p;
    p.id = id;
    for (auto& [type, value] : ids) p.identifiers.push_back({{type, value}, 0, 0, "m"});
    ASSERT_TRUE(database_->db()
                    .Put(rocksdb::WriteOptions(), database_->profiles(), storage::u64_be(id),
                         profile::encode_profile(p))
                    .ok());
  }
  void member(const std::string& audience, profile::ProfileId id, bool in = true) {
    const auto key = profile::member_key(audience, id);
    auto status = in ? database_->db().Put(rocksdb::WriteOptions(), database_->audiences(), key,
                                           storage::u64_be(0))
                     : database_->db().Delete(rocksdb::WriteOptions(), database_->audiences(), key);
    ASSERT_TRUE(status.ok());
  }
  DestinationSpec spec(const std::string& extra) {
    auto parsed = parse_destination_text(
        "ads", R"({"type":"files","path":"google","audiences":{"names":["vip"]})" + extra + "}");
    EXPECT_TRUE(parsed.has_value()) << parsed.status().message();
    return *parsed;
  }
  std::string folder() const { return dir_.sub("exports/google/vip"); }

  storage::internal::TempDir dir_;
  std::unique_ptr<storage::Database> database_;
};

TEST_F(FileExportTest, SnapshotsAndDiffsWithGoogleHashing) {
  profile(1, {{"user_id", "u1"}, {"email", "test@example.com"}, {"phone", "+15551234567"}});
  profile(2, {{"email", "John.Doe@gmail.com"}, {"email", "second@example.com"}});
  profile(3, {{"phone", "+15551234567"}});
  member("vip", 1);
  member("vip", 2);
  const auto destination = spec(R"(,"hashing":"google")");

  auto first = export_audience(*database_, destination, "vip", folder(), kT1);
  ASSERT_TRUE(first.has_value()) << first.status().message();
  EXPECT_EQ(first->members, 2u);
  EXPECT_EQ(first->added, 2u);
  EXPECT_EQ(first->removed, 0u);
  const std::string p1 =
      "p_1,973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b,"
      "8a59780bb8cd2ba022bfa5ba2ea3b6e07af17a7d8b30c1f9b3390e36f69019e4\n";
  // Google: the gmail address without its dots; the profile's first email only.
  const std::string p2 = "p_2," + sha256_hex("johndoe@gmail.com") + ",\n";
  EXPECT_EQ(read(folder() + "/20270115T080000Z-snapshot.csv"), "profile,email,phone\n" + p1 + p2);
  EXPECT_EQ(read(folder() + "/20270115T080000Z-added.csv"), "profile,email,phone\n" + p1 + p2);
  EXPECT_EQ(read(folder() + "/20270115T080000Z-removed.csv"), "profile,email,phone\n");
  EXPECT_EQ(last_export_ms(folder()), kT1);

  // A day later p_1 left and p_3 entered: the diff says so, the removed row as it was written.
  member("vip", 1, false);
  member("vip", 3);
  const int64_t t2 = kT1 + 24 * 3600 * 1000;
  auto second = export_audience(*database_, destination, "vip", folder(), t2);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->added, 1u);
  EXPECT_EQ(second->removed, 1u);
  const std::string p3 = "p_3,,8a59780bb8cd2ba022bfa5ba2ea3b6e07af17a7d8b30c1f9b3390e36f69019e4\n";
  EXPECT_EQ(read(folder() + "/20270116T080000Z-added.csv"), "profile,email,phone\n" + p3);
  EXPECT_EQ(read(folder() + "/20270116T080000Z-removed.csv"), "profile,email,phone\n" + p1);
  EXPECT_EQ(read(folder() + "/20270116T080000Z-snapshot.csv"), "profile,email,phone\n" + p2 + p3);
  EXPECT_EQ(last_export_ms(folder()), t2);
  for (const auto& entry : fs::directory_iterator(folder())) {
    EXPECT_FALSE(entry.path().string().ends_with(".tmp")) << entry.path();
  }
}

TEST_F(FileExportTest, JsonLinesMetaHashingAndOtherIdentifiers) {
  profile(1, {{"user_id", "u1"}, {"email", " Test@Example.com"}, {"phone", "+15551234567"}});
  member("vip", 1);
  auto meta = export_audience(
      *database_, spec(R"(,"format":"jsonl","hashing":"meta","identifiers":["phone","user_id"])"),
      "vip", folder(), kT1);
  ASSERT_TRUE(meta.has_value()) << meta.status().message();
  EXPECT_EQ(
      read(folder() + "/20270115T080000Z-snapshot.jsonl"),
      R"({"profile":"p_1","phone":"d6736136ea896c1bfdc553e0e86e702c70d060d805696ca3e4e9e0961353860a",)"
      R"("user_id":")" +
          sha256_hex("u1") + "\"}\n");
  auto plain = export_audience(*database_, spec(R"(,"format":"jsonl","hashing":"none")"), "vip",
                               dir_.sub("plain"), kT1);
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(read(dir_.sub("plain") + "/20270115T080000Z-snapshot.jsonl"),
            R"({"profile":"p_1","email":"test@example.com","phone":"+15551234567"})"
            "\n");
}

TEST_F(FileExportTest, ChangedRowsSameSecondExportsAndUnfinishedExports) {
  profile(1, {{"email", "a@example.com"}});
  profile(2, {{"email", "b@example.com"}});
  member("vip", 1);
  member("vip", 2);
  const auto destination = spec(R"(,"hashing":"none")");
  ASSERT_TRUE(export_audience(*database_, destination, "vip", folder(), kT1).has_value());
  // An interrupted export's diff without its snapshot is removed by the next one.
  std::ofstream(folder() + "/20270115T080500Z-added.csv") << "profile,email,phone\np_9,x,\n";
  // p_1's email changed: the old row is removed and the new one added. Same second as before:
  // the export takes the next second's name instead of overwriting.
  profile(1, {{"email", "new@example.com"}});
  auto again = export_audience(*database_, destination, "vip", folder(), kT1);
  ASSERT_TRUE(again.has_value()) << again.status().message();
  EXPECT_EQ(again->added, 1u);
  EXPECT_EQ(again->removed, 1u);
  EXPECT_EQ(read(folder() + "/20270115T080001Z-added.csv"),
            "profile,email,phone\np_1,new@example.com,\n");
  EXPECT_EQ(read(folder() + "/20270115T080001Z-removed.csv"),
            "profile,email,phone\np_1,a@example.com,\n");
  EXPECT_EQ(read(folder() + "/20270115T080000Z-added.csv"),
            "profile,email,phone\np_1,a@example.com,\np_2,b@example.com,\n")
      << "the first export's files are untouched";
  EXPECT_FALSE(fs::exists(folder() + "/20270115T080500Z-added.csv"));

  // Other identifiers: another header, so the export starts over (all added, none removed).
  auto other = export_audience(*database_, spec(R"(,"hashing":"none","identifiers":["email"])"),
                               "vip", folder(), kT1 + 60'000);
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->added, 2u);
  EXPECT_EQ(other->removed, 0u);
}

TEST_F(FileExportTest, AudienceFoldersAreSafeNames) {
  EXPECT_EQ(audience_folder("vip_users-2"), "vip_users-2");
  const auto odd = audience_folder("../etc/passwd");
  EXPECT_EQ(odd.find('/'), std::string::npos);
  EXPECT_NE(odd, audience_folder("__etc_passwd")) << "distinct names, distinct folders";
  EXPECT_NE(audience_folder(".."), "..");
}

TEST_F(FileExportTest, TheWorkerExportsOnItsScheduleAcrossRestarts) {
  profile(1, {{"email", "a@example.com"}});
  member("vip", 1);
  FakeClock clock(kT1);
  const auto destination = spec(R"(,"every":"1 hour")");
  const auto snapshots = [&] {
    std::vector<std::string> out;
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(folder(), error)) {
      const auto name = entry.path().filename().string();
      if (name.find("-snapshot.") != std::string::npos) out.push_back(name);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  const auto wait_for = [&](size_t n) {
    for (int i = 0; i < 1000 && snapshots().size() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return snapshots().size();
  };
  {
    auto worker = FileExportWorker::start(*database_, clock, destination, dir_.sub("exports"));
    EXPECT_EQ(wait_for(1), 1u) << "a new destination exports at once";
    clock.advance_ms(30 * 60 * 1000);
    worker->notify();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(snapshots().size(), 1u) << "not before the hour";
    EXPECT_EQ(worker->stats().delivered, 1u);
  }
  // A restart keeps the schedule: it is read from the newest snapshot's name.
  auto worker = FileExportWorker::start(*database_, clock, destination, dir_.sub("exports"));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(snapshots().size(), 1u);
  clock.advance_ms(30 * 60 * 1000);
  worker->notify();
  EXPECT_EQ(wait_for(2), 2u);
  EXPECT_THAT(snapshots(),
              ElementsAre("20270115T080000Z-snapshot.csv", "20270115T090000Z-snapshot.csv"));
  // export_now ignores the schedule.
  auto now = worker->export_now();
  ASSERT_TRUE(now.has_value());
  ASSERT_EQ(now->size(), 1u);
  EXPECT_EQ((*now)[0].members, 1u);
  EXPECT_THAT(worker->replay_dead_letters({}).status().message(), HasSubstr("no dead letters"));
}

}  // namespace
}  // namespace cdp::activation

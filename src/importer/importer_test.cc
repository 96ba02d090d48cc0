#include "importer/importer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "storage/internal/temp_dir.h"
#include "storage/raw_log_reader.h"

namespace cdp::importer {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

const char* kMapping = R"(
  source = "crm"
  [columns]
  id = { identifier = "user_id" }
  email = { identifier = "email" }
  dob = { trait = "birthday", type = "date" }
)";

class ImporterTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }
  void TearDown() override { close(); }

  void open() {
    storage::Database::Options options;
    options.path = dir_.sub("data");
    auto database = storage::Database::open(options);
    ASSERT_TRUE(database.has_value()) << database.status().message();
    database_ = std::move(*database);
    writer_ = std::make_unique<storage::RawLogWriter>(*database_, storage::RawLogWriter::Options{},
                                                      SystemClock::instance());
    ASSERT_TRUE(writer_->start().is_ok());
    Importer::Options options_importer;
    options_importer.data_dir = dir_.sub("data");
    options_importer.batch_events = 2;  // several appends per file
    auto importer = Importer::open(*database_, *writer_, options_importer);
    ASSERT_TRUE(importer.has_value()) << importer.status().message();
    importer_ = std::move(*importer);
  }

  void close() {
    if (importer_) importer_->stop();
    importer_.reset();
    if (writer_) writer_->stop();
    writer_.reset();
    database_.reset();
  }

  // Writes `content` to a file and submits it; returns the finished record.
  ImportRecord import(const std::string& content, const std::string& name = "people.csv") {
    const std::string path = dir_.sub("upload-" + std::to_string(++uploads_));
    std::ofstream(path, std::ios::binary) << content;
    auto mapping = ImportMapping::parse_toml(kMapping, "test");
    EXPECT_TRUE(mapping.has_value());
    mapping->name = "people";
    auto record = importer_->submit(path, name, "test", *mapping);
    EXPECT_TRUE(record.has_value()) << record.status().message();
    return wait(record->id);
  }

  ImportRecord wait(uint64_t id) {
    for (int i = 0; i < 500; ++i) {
      auto record = importer_->store().get(id);
      if (record && record->has_value() && is_finished((*record)->state)) return **record;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "import " << id << " did not finish";
    return {};
  }

  // With the server stopped: changes the stored record of `done` as a crash would have left it,
  // and forgets the checksum index the finished import wrote.
  void rewind(const ImportRecord& done, const std::function<void(ImportRecord&)>& change) {
    storage::Database::Options options;
    options.path = dir_.sub("data");
    auto database = storage::Database::open(options);
    ASSERT_TRUE(database.has_value());
    ImportStore store(**database);
    auto record = store.get(done.id);
    ASSERT_TRUE(record.has_value() && record->has_value());
    ImportRecord rewound = **record;
    change(rewound);
    ASSERT_TRUE(store.put(rewound).is_ok());
    ASSERT_TRUE((*database)->db().Delete({}, (*database)->imports(), "c" + done.checksum).ok());
  }

  std::vector<std::string> log_message_ids() {
    std::vector<std::string> out;
    storage::RawLogReader reader(*database_);
    EXPECT_TRUE(reader
                    .scan(1, 1000,
                          [&](const storage::RawLogRecord& record) {
                            EXPECT_EQ(record.source, "crm");
                            const auto at = record.event_json.find("\"messageId\":\"");
                            const auto start = at + 13;
                            out.push_back(record.event_json.substr(
                                start, record.event_json.find('"', start) - start));
                            return true;
                          })
                    .has_value());
    return out;
  }

  storage::internal::TempDir dir_;
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<storage::RawLogWriter> writer_;
  std::unique_ptr<Importer> importer_;
  int uploads_ = 0;
};

const char* kFile =
    "id,email,dob\n"
    "1,ann@example.com,1980-01-01\n"
    "2,bad-email,1981-01-01\n"
    "3,cy@example.com,1982-13-01\n"
    "4,di@example.com,\n"
    "5,ed@example.com,1984-01-01\n";

TEST_F(ImporterTest, GoodRowsEnterTheLogAndBadRowsAreQuarantinedWithRowColumnAndReason) {
  const auto record = import(kFile);
  EXPECT_EQ(record.state, ImportState::kDone) << record.error;
  EXPECT_EQ(record.rows, 5u);
  EXPECT_EQ(record.rows_accepted, 3u);
  EXPECT_EQ(record.rows_quarantined, 2u);
  EXPECT_EQ(record.events_stored, 3u);
  EXPECT_EQ(record.format, "csv");
  EXPECT_EQ(record.checksum.size(), 64u);
  EXPECT_EQ(record.size, std::string(kFile).size());
  EXPECT_EQ(record.raw_path, "imports/raw/" + record.checksum);

  const auto short_key = record.checksum.substr(0, 16);
  EXPECT_THAT(log_message_ids(),
              ElementsAre("import-" + short_key + "-2", "import-" + short_key + "-5",
                          "import-" + short_key + "-6"));
  auto page = importer_->store().problems(record.id, 0, 100);
  ASSERT_TRUE(page.has_value());
  EXPECT_FALSE(page->next_row.has_value());
  const auto* problems = &page->entries;
  ASSERT_THAT(*problems, SizeIs(2));
  EXPECT_EQ((*problems)[0].row, 3u);
  EXPECT_EQ((*problems)[0].problem.column, "email");
  EXPECT_EQ((*problems)[0].problem.value, "bad-email");
  EXPECT_EQ((*problems)[1].row, 4u);
  EXPECT_EQ((*problems)[1].problem.column, "dob");
  EXPECT_THAT((*problems)[1].problem.reason, HasSubstr("calendar date"));

  auto first = importer_->store().problems(record.id, 0, 1);
  ASSERT_TRUE(first.has_value());
  EXPECT_THAT(first->entries, SizeIs(1));
  EXPECT_EQ(first->next_row, 4u) << "pages end at rows";

  std::ifstream raw(dir_.sub("data/" + record.raw_path), std::ios::binary);
  std::string kept((std::istreambuf_iterator<char>(raw)), {});
  EXPECT_EQ(kept, kFile) << "the raw zone keeps the file as received";
}

TEST_F(ImporterTest, ImportingTheSameBytesAgainAddsNothing) {
  const auto first = import(kFile, "people.csv");
  const auto again = import(kFile, "people-copy.csv");
  EXPECT_EQ(again.state, ImportState::kDuplicate);
  EXPECT_EQ(again.duplicate_of, first.id);
  EXPECT_EQ(again.events_stored, 0u);
  EXPECT_THAT(log_message_ids(), SizeIs(3));
  const auto changed = import(std::string(kFile) + "6,fay@example.com,1990-01-01\n");
  EXPECT_EQ(changed.state, ImportState::kDone);
  EXPECT_EQ(changed.events_stored, 4u) << "a different file is a new import";
}

TEST_F(ImporterTest, AFileThatCannotBeReadFailsWithNothingInTheLogAndCanBeRetried) {
  const auto broken = import("id,email\n1,a@example.com\n");
  EXPECT_EQ(broken.state, ImportState::kFailed);
  EXPECT_THAT(broken.error, HasSubstr("\"dob\" is not in the file's header"));
  EXPECT_THAT(log_message_ids(), SizeIs(0));
  const auto quoted = import("id,email,dob\n1,\"a@example.com,1980-01-01\n");
  EXPECT_EQ(quoted.state, ImportState::kFailed);
  EXPECT_THAT(log_message_ids(), SizeIs(0));
  EXPECT_EQ(import("id,email\n1,a@example.com\n").state, ImportState::kFailed)
      << "a failed import does not make its bytes a duplicate";
}

TEST_F(ImporterTest, AnImportInterruptedAfterItsFileMovedToTheRawZoneFindsItThere) {
  const auto done = import(kFile);
  ASSERT_EQ(done.state, ImportState::kDone);
  close();
  // As a crash right after the move would leave it: received, checksum known, the record still
  // naming the incoming path, the file in raw/.
  rewind(done, [&](ImportRecord& record) {
    record.state = ImportState::kReceived;
    record.raw_path = "imports/incoming/" + std::to_string(done.id);
    record.loaded_through_row = 0;
    record.events_stored = 0;
  });
  // A stale upload a crash cut off is cleaned away at start.
  std::ofstream(dir_.sub("data/imports/incoming/upload-stale"), std::ios::binary) << "partial";
  open();
  const auto resumed = wait(done.id);
  EXPECT_EQ(resumed.state, ImportState::kDone) << resumed.error;
  EXPECT_EQ(resumed.raw_path, "imports/raw/" + done.checksum);
  EXPECT_THAT(log_message_ids(), SizeIs(3)) << "the rows were in the log already";
  EXPECT_FALSE(std::filesystem::exists(dir_.sub("data/imports/incoming/upload-stale")));
}

TEST_F(ImporterTest, AnImportInterruptedWhileLoadingResumesAfterTheRowsAlreadyStored) {
  const auto done = import(kFile);
  ASSERT_EQ(done.state, ImportState::kDone);
  close();
  // "Loading, durable through row 2", as a crash after the first append would leave it.
  rewind(done, [](ImportRecord& record) {
    record.state = ImportState::kLoading;
    record.loaded_through_row = 2;
    record.events_stored = 1;
  });
  open();
  const auto resumed = wait(done.id);
  EXPECT_EQ(resumed.state, ImportState::kDone);
  EXPECT_EQ(resumed.events_stored, 1u) << "rows 5 and 6 were within the dedup window";
  EXPECT_EQ(resumed.events_duplicate, 2u);
  EXPECT_THAT(log_message_ids(), SizeIs(3)) << "no row is stored twice";
}

}  // namespace
}  // namespace cdp::importer

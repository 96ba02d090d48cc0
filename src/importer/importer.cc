#include "importer/importer.h"

#include <openssl/evp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>

#include "common/log.h"
#include "importer/row_converter.h"
#include "importer/row_reader.h"

namespace cdp::importer {
namespace {

namespace fs = std::filesystem;

constexpr size_t kBatchBytes = 2 << 20;

// Moves `from` to `to`; across file systems (a watched folder elsewhere) by copying.
Status move_file(const fs::path& from, const fs::path& to) {
  std::error_code error;
  fs::rename(from, to, error);
  if (!error) return Status::ok();
  if (error != std::errc::cross_device_link) {
    return Status::unavailable("cannot move " + from.string() + " to " + to.string() + ": " +
                               error.message());
  }
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, error);
  if (error) {
    return Status::unavailable("cannot copy " + from.string() + " to " + to.string() + ": " +
                               error.message());
  }
  fs::remove(from, error);
  return Status::ok();
}

Result<std::string> sha256_hex(const std::string& path, uint64_t& size,
                               const std::function<bool(uint64_t)>& on_progress) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Status::not_found("cannot open " + path);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                  &EVP_MD_CTX_free);
  EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr);
  std::string buffer(1 << 20, '\0');
  size = 0;
  while (file) {
    file.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto read = static_cast<size_t>(file.gcount());
    if (read == 0) break;
    EVP_DigestUpdate(context.get(), buffer.data(), read);
    size += read;
    if (!on_progress(size)) return Status::unavailable("the server is stopping");
  }
  if (file.bad()) return Status::unavailable("reading " + path + " failed");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(context.get(), digest, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 15]);
  }
  return hex;
}

}  // namespace

Importer::Importer(storage::Database& database, storage::RawLogWriter& writer, Options options)
    : database_(database), writer_(writer), options_(std::move(options)), store_(database) {}

Result<std::unique_ptr<Importer>> Importer::open(storage::Database& database,
                                                 storage::RawLogWriter& writer, Options options) {
  std::unique_ptr<Importer> importer(new Importer(database, writer, std::move(options)));
  std::error_code error;
  for (const char* dir : {"imports/incoming", "imports/raw"}) {
    fs::create_directories(fs::path(importer->options_.data_dir) / dir, error);
    if (error) {
      return Status::unavailable("cannot create " + importer->options_.data_dir + "/" + dir + ": " +
                                 error.message());
    }
  }
  // Imports a stopped server left unfinished resume, oldest first.
  uint64_t before = 0;
  std::vector<uint64_t> unfinished;
  while (true) {
    auto page = importer->store_.list(before, 1000);
    if (!page) return page.status();
    for (const auto& record : *page) {
      if (!is_finished(record.state)) unfinished.push_back(record.id);
    }
    if (page->size() < 1000) break;
    before = page->back().id;
  }
  importer->queue_.assign(unfinished.rbegin(), unfinished.rend());
  // Uploads cut off by a crash, and received files whose import record was never written.
  const std::set<uint64_t> pending(unfinished.begin(), unfinished.end());
  for (fs::directory_iterator
           it(fs::path(importer->options_.data_dir) / "imports" / "incoming", error),
       end;
       !error && it != end; it.increment(error)) {
    const auto& entry = *it;
    const std::string name = entry.path().filename().string();
    uint64_t id = 0;
    const auto [last, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
    const bool held = ec == std::errc() && last == name.data() + name.size() && pending.count(id);
    if (!held) {
      std::error_code ignored;
      fs::remove(entry.path(), ignored);
    }
  }
  if (!unfinished.empty()) {
    log::info("imports_resumed", {{"count", std::to_string(unfinished.size())}});
  }
  importer->thread_ = std::thread([raw = importer.get()] { raw->run(); });
  return importer;
}

Importer::~Importer() { stop(); }

void Importer::stop() {
  stopping_ = true;
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string Importer::incoming_dir() const {
  return (fs::path(options_.data_dir) / "imports" / "incoming").string();
}

std::string Importer::raw_file(const ImportRecord& record) const {
  return (fs::path(options_.data_dir) / record.raw_path).string();
}

Result<ImportRecord> Importer::submit(const std::string& path, std::string file_name,
                                      std::string origin, const ImportMapping& mapping) {
  auto id = store_.next_id();
  if (!id) return id.status();
  ImportRecord record;
  record.id = *id;
  record.file_name = fs::path(file_name).filename().string();
  if (record.file_name.empty()) record.file_name = "upload";
  record.origin = std::move(origin);
  record.mapping_name = mapping.name;
  record.mapping_text = mapping.text;
  record.received_at_ms = options_.clock->now_ms();
  record.raw_path = "imports/incoming/" + std::to_string(record.id);
  CDP_RETURN_IF_ERROR(move_file(path, raw_file(record)));
  std::error_code error;
  record.size = fs::file_size(raw_file(record), error);
  if (auto stored = store_.put(record); !stored.is_ok()) {
    // Give the file back (a watched folder keeps what it could not hand over).
    (void)move_file(raw_file(record), path);
    return stored;
  }
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(record.id);
  }
  wake_.notify_all();
  log::info("import_received", {{"import", std::to_string(record.id)},
                                {"file", record.file_name},
                                {"origin", record.origin},
                                {"bytes", std::to_string(record.size)}});
  return record;
}

void Importer::run() {
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
  while (true) {
    uint64_t id = 0;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping() || !queue_.empty(); });
      if (stopping()) return;
      id = queue_.front();
      queue_.pop_front();
    }
    auto record = store_.get(id);
    if (!record || !record->has_value()) {
      log::error("import_lost", {{"import", std::to_string(id)},
                                 {"error", record ? "no record" : record.status().message()}});
      continue;
    }
    run_import(**record);
  }
}

void Importer::run_import(ImportRecord& record) {
  auto mapping = ImportMapping::parse_toml(record.mapping_text, "mapping " + record.mapping_name);
  Status status = mapping ? Status::ok() : mapping.status();
  if (mapping) {
    mapping->name = record.mapping_name;
    if (mapping->phone_region.empty()) mapping->phone_region = options_.phone_region;
    if (record.state == ImportState::kReceived) status = hash(record);
    if (status.is_ok() && record.state == ImportState::kValidating)
      status = validate(record, *mapping);
    if (status.is_ok() && record.state == ImportState::kLoading) status = load(record, *mapping);
  }
  if (stopping()) {
    (void)save(record, true);
    return;
  }
  if (!status.is_ok() && !is_finished(record.state)) {
    record.state = ImportState::kFailed;
    record.error = status.message();
  }
  record.finished_at_ms = options_.clock->now_ms();
  if (auto saved = save(record, true); !saved.is_ok()) {
    log::error("import_not_saved",
               {{"import", std::to_string(record.id)}, {"error", saved.message()}});
  }
  if (record.state == ImportState::kDone && options_.on_done) options_.on_done(record);
  log::info("import_finished", {{"import", std::to_string(record.id)},
                                {"state", std::string(import_state_name(record.state))},
                                {"rows", std::to_string(record.rows)},
                                {"quarantined", std::to_string(record.rows_quarantined)},
                                {"stored", std::to_string(record.events_stored)},
                                {"error", record.error}});
}

Status Importer::hash(ImportRecord& record) {
  std::string source = raw_file(record);
  if (!record.checksum.empty() && !fs::exists(source)) {
    // A crash after the move below and before the record said so: the file is in the raw zone.
    record.raw_path = "imports/raw/" + record.checksum;
    source = raw_file(record);
  }
  auto checksum = sha256_hex(source, record.size, [&](uint64_t bytes) {
    record.bytes_done = bytes;
    (void)save(record, false);
    return !stopping();
  });
  if (!checksum) return checksum.status();
  // The raw zone holds each distinct file once, named by its checksum. The checksum is stored
  // before the file moves, so a resume can always find it.
  record.checksum = *checksum;
  CDP_RETURN_IF_ERROR(save(record, true));
  const std::string raw_path = "imports/raw/" + record.checksum;
  if (record.raw_path != raw_path) {
    const fs::path raw = fs::path(options_.data_dir) / raw_path;
    if (fs::exists(raw)) {
      std::error_code error;
      fs::remove(source, error);
    } else {
      CDP_RETURN_IF_ERROR(move_file(source, raw));
    }
    record.raw_path = raw_path;
  }
  auto earlier = store_.find_checksum(record.checksum);
  if (!earlier) return earlier.status();
  if (earlier->has_value()) {
    record.state = ImportState::kDuplicate;
    record.duplicate_of = **earlier;
    return Status::ok();
  }
  record.state = ImportState::kValidating;
  record.bytes_done = 0;
  return save(record, true);
}

Status Importer::validate(ImportRecord& record, const ImportMapping& mapping) {
  CDP_RETURN_IF_ERROR(store_.clear_problems(record.id));
  record.rows = record.rows_accepted = record.rows_quarantined = 0;
  RowConverter converter(
      mapping, {record.checksum.substr(0, 16), record.received_at_ms, options_.max_event_bytes});
  RowEvent event;
  std::vector<RowProblem> problems;
  Status stored;
  auto shape = RowReader::read(
      raw_file(record), record.file_name, mapping,
      [&](const Row& row) {
        ++record.rows;
        if (converter.convert(row, event, problems)) {
          ++record.rows_accepted;
          return !stopping();
        }
        ++record.rows_quarantined;
        stored = store_.put_problems(record.id, row.number, problems);
        return stored.is_ok() && !stopping();
      },
      [&](uint64_t bytes) {
        record.bytes_done = bytes;
        (void)save(record, false);
      });
  CDP_RETURN_IF_ERROR(stored);
  if (stopping()) return Status::unavailable("the server is stopping");
  if (!shape) {
    // Nothing of a file that cannot be read as a whole enters the log; its quarantine would
    // only repeat the reason.
    (void)store_.clear_problems(record.id);
    return shape.status();
  }
  record.format = shape->format == FileFormat::kJsonLines ? "jsonl" : "csv";
  record.unmapped_columns = shape->unmapped_columns;
  record.state = ImportState::kLoading;
  record.bytes_done = 0;
  return save(record, true);
}

Status Importer::load(ImportRecord& record, const ImportMapping& mapping) {
  RowConverter converter(
      mapping, {record.checksum.substr(0, 16), record.received_at_ms, options_.max_event_bytes});
  RowEvent event;
  std::vector<RowProblem> problems;
  std::vector<storage::AppendEvent> batch;
  size_t batch_bytes = 0;
  uint64_t batch_last_row = 0;
  Status appended;
  auto flush = [&]() {
    if (batch.empty()) return true;
    appended = append(record, mapping.source, batch);
    if (!appended.is_ok()) return false;
    record.loaded_through_row = batch_last_row;
    batch.clear();
    batch_bytes = 0;
    appended = save(record, true);
    return appended.is_ok() && !stopping();
  };
  auto shape = RowReader::read(
      raw_file(record), record.file_name, mapping,
      [&](const Row& row) {
        if (row.number <= record.loaded_through_row) return true;
        if (converter.convert(row, event, problems)) {
          batch_bytes += event.json.size();
          batch.push_back({std::move(event.message_id), std::move(event.json)});
        }
        batch_last_row = row.number;
        if (batch.size() >= options_.batch_events || batch_bytes >= kBatchBytes) return flush();
        return true;
      },
      [&](uint64_t bytes) { record.bytes_done = bytes; });
  if (!appended.is_ok()) return appended;
  if (stopping()) return Status::unavailable("the server is stopping");
  if (!shape) return shape.status();
  if (!flush()) return appended.is_ok() ? Status::unavailable("the server is stopping") : appended;
  record.state = ImportState::kDone;
  record.bytes_done = record.size;
  CDP_RETURN_IF_ERROR(store_.put_checksum(record.checksum, record.id));
  return Status::ok();
}

Status Importer::append(ImportRecord& record, const std::string& source,
                        std::vector<storage::AppendEvent>& events) {
  storage::AppendRequest request;
  request.source = source;
  // Deduplicated as of now, not as of the file's arrival: a resume days later must still find
  // the in-flight append's entries (the dedup window counts from this time).
  request.received_at_ms = options_.clock->now_ms();
  request.events = events;
  auto outcome = storage::append_and_wait(writer_, request, [this] { return !stopping(); });
  if (!outcome) return outcome.status();
  record.events_stored += outcome->stored;
  record.events_duplicate += outcome->duplicates;
  return Status::ok();
}

Status Importer::save(ImportRecord& record, bool force) {
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_save_ < std::chrono::milliseconds(200)) return Status::ok();
  last_save_ = now;
  return store_.put(record);
}

}  // namespace cdp::importer

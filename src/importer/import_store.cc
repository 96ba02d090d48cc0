#include "importer/import_store.h"

#include <rocksdb/write_batch.h>

#include "common/json_writer.h"
#include "ingest/json_tree.h"
#include "storage/big_endian.h"

namespace cdp::importer {
namespace {

constexpr const char* kLastIdKey = "import/last_id";

std::string record_key(uint64_t id) {
  std::string key = "f";
  storage::append_u64_be(key, id);
  return key;
}

std::string problem_prefix(uint64_t id) {
  std::string key = "q";
  storage::append_u64_be(key, id);
  return key;
}

Status failed(const rocksdb::Status& status, const std::string& what) {
  return Status::unavailable(what + ": " + status.ToString());
}

std::string problem_json(const RowProblem& problem) {
  JsonWriter out;
  out.begin_object();
  out.key("column").string(problem.column);
  out.key("value").string(problem.value);
  out.key("reason").string(problem.reason);
  out.end_object();
  return out.take();
}

}  // namespace

Result<uint64_t> ImportStore::next_id() {
  std::lock_guard lock(id_mutex_);
  if (last_id_ == 0) {
    auto stored = database_.get_meta(kLastIdKey);
    if (!stored) return stored.status();
    last_id_ = stored->has_value() ? std::stoull(**stored) : 0;
  }
  CDP_RETURN_IF_ERROR(database_.put_meta(kLastIdKey, std::to_string(last_id_ + 1)));
  return ++last_id_;
}

Status ImportStore::put(const ImportRecord& record) {
  auto status = database_.db().Put(rocksdb::WriteOptions(), database_.imports(),
                                   record_key(record.id), import_record_json(record));
  if (!status.ok()) return failed(status, "storing import " + std::to_string(record.id));
  return Status::ok();
}

Result<std::optional<ImportRecord>> ImportStore::get(uint64_t id) {
  std::string value;
  auto status =
      database_.db().Get(rocksdb::ReadOptions(), database_.imports(), record_key(id), &value);
  if (status.IsNotFound()) return std::optional<ImportRecord>();
  if (!status.ok()) return failed(status, "reading import " + std::to_string(id));
  auto record = parse_import_record(value);
  if (!record) return record.status();
  return std::optional<ImportRecord>(std::move(*record));
}

Result<std::vector<ImportRecord>> ImportStore::list(uint64_t before, size_t limit) {
  std::vector<ImportRecord> out;
  std::unique_ptr<rocksdb::Iterator> it(
      database_.db().NewIterator(rocksdb::ReadOptions(), database_.imports()));
  if (before == 0) {
    it->SeekForPrev(std::string("f\xff", 2));
  } else {
    it->SeekForPrev(record_key(before - 1));
  }
  for (; it->Valid() && out.size() < limit; it->Prev()) {
    if (!it->key().starts_with("f")) break;
    auto record = parse_import_record(it->value().ToStringView());
    if (!record) return record.status();
    out.push_back(std::move(*record));
  }
  if (!it->status().ok()) return failed(it->status(), "listing imports");
  return out;
}

Result<std::optional<uint64_t>> ImportStore::find_checksum(const std::string& checksum) {
  std::string value;
  auto status =
      database_.db().Get(rocksdb::ReadOptions(), database_.imports(), "c" + checksum, &value);
  if (status.IsNotFound()) return std::optional<uint64_t>();
  if (!status.ok()) return failed(status, "reading the checksum index");
  return std::optional<uint64_t>(storage::read_u64_be(value));
}

Status ImportStore::put_checksum(const std::string& checksum, uint64_t id) {
  auto status = database_.db().Put(rocksdb::WriteOptions(), database_.imports(), "c" + checksum,
                                   storage::u64_be(id));
  if (!status.ok()) return failed(status, "storing the checksum index");
  return Status::ok();
}

Status ImportStore::put_problems(uint64_t id, uint64_t row,
                                 const std::vector<RowProblem>& problems) {
  rocksdb::WriteBatch batch;
  std::string prefix = problem_prefix(id);
  storage::append_u64_be(prefix, row);
  for (size_t i = 0; i < problems.size() && i < 0xFFFF; ++i) {
    std::string key = prefix;
    key.push_back(static_cast<char>(i >> 8));
    key.push_back(static_cast<char>(i & 0xFF));
    batch.Put(database_.imports(), key, problem_json(problems[i]));
  }
  auto status = database_.db().Write(rocksdb::WriteOptions(), &batch);
  if (!status.ok()) return failed(status, "storing quarantined row " + std::to_string(row));
  return Status::ok();
}

Status ImportStore::clear_problems(uint64_t id) {
  const std::string begin = problem_prefix(id);
  const std::string end = problem_prefix(id + 1);
  auto status =
      database_.db().DeleteRange(rocksdb::WriteOptions(), database_.imports(), begin, end);
  if (!status.ok())
    return failed(status, "clearing the quarantine of import " + std::to_string(id));
  return Status::ok();
}

Result<ImportStore::QuarantinePage> ImportStore::problems(uint64_t id, uint64_t from_row,
                                                          size_t max_rows) {
  QuarantinePage page;
  const std::string prefix = problem_prefix(id);
  std::string start = prefix;
  storage::append_u64_be(start, from_row);
  std::unique_ptr<rocksdb::Iterator> it(
      database_.db().NewIterator(rocksdb::ReadOptions(), database_.imports()));
  ingest::JsonParser parser;
  size_t rows = 0;
  for (it->Seek(start); it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    if (!key.starts_with(prefix) || key.size() != prefix.size() + 10) break;
    QuarantineEntry entry;
    entry.import_id = id;
    entry.row = storage::read_u64_be(key.substr(prefix.size(), 8));
    if (page.entries.empty() || page.entries.back().row != entry.row) {
      if (rows == max_rows) {
        page.next_row = entry.row;
        break;
      }
      ++rows;
    }
    auto root = parser.parse(it->value().ToStringView());
    if (!root || !(*root)->is_object()) {
      return Status::corruption("quarantined row " + std::to_string(entry.row) + " of import " +
                                std::to_string(id) + " is not JSON");
    }
    for (auto [name, field] :
         {std::pair<std::string_view, std::string*>{"column", &entry.problem.column},
          {"value", &entry.problem.value},
          {"reason", &entry.problem.reason}}) {
      const auto* value = (*root)->find(name);
      if (value != nullptr && value->is_string()) field->assign(value->text);
    }
    page.entries.push_back(std::move(entry));
  }
  if (!it->status().ok()) return failed(it->status(), "reading the quarantine");
  return page;
}

Status ImportStore::put_mapping(const std::string& name, const std::string& text) {
  auto status = database_.db().Put(rocksdb::WriteOptions(), database_.imports(), "m" + name, text);
  if (!status.ok()) return failed(status, "storing mapping " + name);
  return Status::ok();
}

Result<std::optional<std::string>> ImportStore::get_mapping(const std::string& name) {
  std::string value;
  auto status = database_.db().Get(rocksdb::ReadOptions(), database_.imports(), "m" + name, &value);
  if (status.IsNotFound()) return std::optional<std::string>();
  if (!status.ok()) return failed(status, "reading mapping " + name);
  return std::optional<std::string>(std::move(value));
}

Result<std::vector<std::pair<std::string, std::string>>> ImportStore::mappings() {
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(
      database_.db().NewIterator(rocksdb::ReadOptions(), database_.imports()));
  for (it->Seek("m"); it->Valid() && it->key().starts_with("m"); it->Next()) {
    out.emplace_back(it->key().ToString().substr(1), it->value().ToString());
  }
  if (!it->status().ok()) return failed(it->status(), "listing mappings");
  return out;
}

Status ImportStore::delete_mapping(const std::string& name) {
  auto status = database_.db().Delete(rocksdb::WriteOptions(), database_.imports(), "m" + name);
  if (!status.ok()) return failed(status, "deleting mapping " + name);
  return Status::ok();
}

}  // namespace cdp::importer

#include "activation/activation_store.h"

#include <memory>

#include "common/json_writer.h"
#include "common/time_format.h"
#include "ingest/json_tree.h"
#include "storage/big_endian.h"

namespace cdp::activation {
namespace {

std::string prefix(char tag, const std::string& name) {
  std::string key(1, tag);
  key += '/';
  key += name;
  key += '\0';
  return key;
}
std::string id_key(char tag, const std::string& name, uint64_t id) {
  return prefix(tag, name) + storage::u64_be(id);
}
std::string name_key(char tag, const std::string& name) { return std::string(1, tag) + "/" + name; }

void write_attempts(JsonWriter& out, const std::vector<Attempt>& attempts, bool iso) {
  out.key("attempts").begin_array();
  for (const auto& a : attempts) {
    out.begin_object();
    if (iso) {
      out.key("at").string(format_iso8601_ms(a.at_ms));
    } else {
      out.key("at").number(a.at_ms);
    }
    if (a.status != 0) out.key("status").number(static_cast<int64_t>(a.status));
    if (!a.error.empty()) out.key("error").string(a.error);
    out.end_object();
  }
  out.end_array();
}

int64_t number(const ingest::JsonValue* value) {
  if (value == nullptr || value->kind != ingest::JsonKind::kNumber) return 0;
  return std::strtoll(std::string(value->text).c_str(), nullptr, 10);
}
std::string text(const ingest::JsonValue* value) {
  return value != nullptr && value->is_string() ? std::string(value->text) : std::string();
}

std::vector<Attempt> read_attempts(const ingest::JsonValue* array) {
  std::vector<Attempt> out;
  if (array == nullptr || array->kind != ingest::JsonKind::kArray) return out;
  for (const auto* a : array->elements) {
    if (!a->is_object()) continue;
    out.push_back({number(a->find("at")), static_cast<int>(number(a->find("status"))),
                   text(a->find("error"))});
  }
  return out;
}

std::string encode_entry(const OutboxEntry& e) {
  JsonWriter out;
  out.begin_object();
  out.key("messageId").string(e.message_id);
  out.key("key").string(e.key);
  out.key("first").number(e.first_ms);
  out.key("next").number(e.next_ms);
  write_attempts(out, e.attempts, false);
  if (!e.reason.empty()) out.key("reason").string(e.reason);
  out.key("message").raw(e.json);
  out.end_object();
  return out.take();
}

Result<OutboxEntry> decode_entry(uint64_t id, std::string_view value) {
  ingest::JsonParser parser;
  auto root = parser.parse(value);
  if (!root || !(*root)->is_object() || (*root)->find("message") == nullptr) {
    return Status::corruption("outbox entry " + std::to_string(id) + " is unreadable");
  }
  const auto& r = **root;
  OutboxEntry e;
  e.id = id;
  e.message_id = text(r.find("messageId"));
  e.key = text(r.find("key"));
  e.first_ms = number(r.find("first"));
  e.next_ms = number(r.find("next"));
  e.attempts = read_attempts(r.find("attempts"));
  e.reason = text(r.find("reason"));
  ingest::write_json(e.json, *r.find("message"));
  return e;
}

Result<std::vector<OutboxEntry>> scan_entries(storage::Database& database, const std::string& start,
                                              const std::string& prefix, size_t limit) {
  std::vector<OutboxEntry> out;
  std::unique_ptr<rocksdb::Iterator> it(
      database.db().NewIterator(rocksdb::ReadOptions(), database.activation()));
  for (it->Seek(start); it->Valid() && it->key().starts_with(prefix) && out.size() < limit;
       it->Next()) {
    const auto key = it->key().ToStringView();
    if (key.size() != prefix.size() + 8) continue;
    auto entry =
        decode_entry(storage::read_u64_be(key.substr(prefix.size())), it->value().ToStringView());
    if (!entry) return entry.status();
    out.push_back(std::move(*entry));
  }
  if (!it->status().ok()) return storage::from_rocksdb(it->status(), "reading the outbox");
  return out;
}

}  // namespace

std::string outbox_entry_json(const OutboxEntry& e) {
  JsonWriter out;
  out.begin_object();
  out.key("id").number(static_cast<int64_t>(e.id));
  out.key("messageId").string(e.message_id);
  out.key("first_attempt").string(format_iso8601_ms(e.first_ms));
  if (e.reason.empty()) out.key("next_attempt").string(format_iso8601_ms(e.next_ms));
  if (!e.reason.empty()) out.key("reason").string(e.reason);
  write_attempts(out, e.attempts, true);
  out.key("message").raw(e.json);
  out.end_object();
  return out.take();
}

std::string delivery_record_json(const DeliveryRecord& r) {
  JsonWriter out;
  out.begin_object();
  out.key("messageId").string(r.message_id);
  out.key("state").string(r.state);
  out.key("first_attempt").string(format_iso8601_ms(r.first_ms));
  out.key("last_attempt").string(format_iso8601_ms(r.last_ms));
  if (!r.reason.empty()) out.key("reason").string(r.reason);
  write_attempts(out, r.attempts, true);
  out.end_object();
  return out.take();
}

Result<std::vector<std::pair<std::string, std::string>>> ActivationStore::definitions() {
  std::vector<std::pair<std::string, std::string>> out;
  std::unique_ptr<rocksdb::Iterator> it(
      database_.db().NewIterator(rocksdb::ReadOptions(), database_.activation()));
  for (it->Seek("d/"); it->Valid() && it->key().starts_with("d/"); it->Next()) {
    out.emplace_back(it->key().ToString().substr(2), it->value().ToString());
  }
  if (!it->status().ok()) return storage::from_rocksdb(it->status(), "reading destinations");
  return out;
}

Status ActivationStore::put_definition(const std::string& name, const std::string& json) {
  return storage::from_rocksdb(database_.db().Put(rocksdb::WriteOptions(), database_.activation(),
                                                  name_key('d', name), json),
                               "storing a destination");
}

Status ActivationStore::remove(const std::string& name) {
  rocksdb::WriteBatch batch;
  batch.Delete(database_.activation(), name_key('d', name));
  batch.Delete(database_.activation(), name_key('c', name));
  for (const char tag : {'o', 'x', 'l'}) {
    std::string end = std::string(1, tag) + "/" + name + '\1';
    batch.DeleteRange(database_.activation(), prefix(tag, name), end);
  }
  return write(batch);
}

namespace {

// u64 BE next event seq | u8 has changes | u64 BE change seq | u32 BE change index
std::optional<DeliveryCursor> decode_cursor(std::string_view value) {
  if (value.size() != 21) return std::nullopt;
  DeliveryCursor c;
  c.events = storage::read_u64_be(value.substr(0, 8));
  if (value[8] != 0) {
    profile::ChangeCursor changes;
    changes.seq = storage::read_u64_be(value.substr(9, 8));
    changes.index = storage::read_u32_be(value.substr(17, 4));
    c.changes = changes;
  }
  return c;
}

}  // namespace

Result<std::optional<DeliveryCursor>> ActivationStore::cursor(const std::string& name) {
  std::string value;
  const auto status = database_.db().Get(rocksdb::ReadOptions(), database_.activation(),
                                         name_key('c', name), &value);
  if (status.IsNotFound()) return std::optional<DeliveryCursor>();
  if (!status.ok()) return storage::from_rocksdb(status, "reading a destination cursor");
  auto cursor = decode_cursor(value);
  if (!cursor) return Status::corruption("destination cursor of '" + name + "' is unreadable");
  return cursor;
}

Result<std::vector<std::pair<std::string, DeliveryCursor>>> ActivationStore::cursors() {
  std::vector<std::pair<std::string, DeliveryCursor>> out;
  std::unique_ptr<rocksdb::Iterator> it(
      database_.db().NewIterator(rocksdb::ReadOptions(), database_.activation()));
  for (it->Seek("c/"); it->Valid() && it->key().starts_with("c/"); it->Next()) {
    auto cursor = decode_cursor(it->value().ToStringView());
    if (!cursor) {
      return Status::corruption("destination cursor '" + it->key().ToString() + "' is unreadable");
    }
    out.emplace_back(it->key().ToString().substr(2), *cursor);
  }
  if (!it->status().ok()) return storage::from_rocksdb(it->status(), "reading destination cursors");
  return out;
}

void ActivationStore::put_cursor(rocksdb::WriteBatch& batch, const std::string& name,
                                 const DeliveryCursor& c) {
  std::string value = storage::u64_be(c.events);
  value.push_back(c.changes ? 1 : 0);
  value += storage::u64_be(c.changes ? c.changes->seq : 0);
  storage::append_u32_be(value, c.changes ? c.changes->index : 0);
  batch.Put(database_.activation(), name_key('c', name), value);
}

Result<std::vector<OutboxEntry>> ActivationStore::outbox(const std::string& name) {
  const auto p = prefix('o', name);
  return scan_entries(database_, p, p, SIZE_MAX);
}

void ActivationStore::put_outbox(rocksdb::WriteBatch& batch, const std::string& name,
                                 const OutboxEntry& entry) {
  batch.Put(database_.activation(), id_key('o', name, entry.id), encode_entry(entry));
}

void ActivationStore::delete_outbox(rocksdb::WriteBatch& batch, const std::string& name,
                                    uint64_t id) {
  batch.Delete(database_.activation(), id_key('o', name, id));
}

Result<std::vector<OutboxEntry>> ActivationStore::dead_letters(const std::string& name,
                                                               uint64_t after, size_t limit) {
  const auto p = prefix('x', name);
  return scan_entries(database_, id_key('x', name, after + 1), p, limit);
}

Result<uint64_t> ActivationStore::count_dead_letters(const std::string& name) {
  const auto p = prefix('x', name);
  uint64_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      database_.db().NewIterator(rocksdb::ReadOptions(), database_.activation()));
  for (it->Seek(p); it->Valid() && it->key().starts_with(p); it->Next()) ++n;
  if (!it->status().ok()) return storage::from_rocksdb(it->status(), "counting dead letters");
  return n;
}

void ActivationStore::put_dead_letter(rocksdb::WriteBatch& batch, const std::string& name,
                                      const OutboxEntry& entry) {
  batch.Put(database_.activation(), id_key('x', name, entry.id), encode_entry(entry));
}

void ActivationStore::delete_dead_letter(rocksdb::WriteBatch& batch, const std::string& name,
                                         uint64_t id) {
  batch.Delete(database_.activation(), id_key('x', name, id));
}

Result<uint64_t> ActivationStore::last_id(const std::string& name) {
  uint64_t last = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      database_.db().NewIterator(rocksdb::ReadOptions(), database_.activation()));
  for (const char tag : {'o', 'x'}) {
    const auto p = prefix(tag, name);
    it->SeekForPrev(p + std::string(8, '\xff'));
    if (it->Valid() && it->key().starts_with(p) && it->key().size() == p.size() + 8) {
      last = std::max(last, storage::read_u64_be(it->key().ToStringView().substr(p.size())));
    }
  }
  if (!it->status().ok()) return storage::from_rocksdb(it->status(), "reading the outbox");
  return last;
}

void ActivationStore::put_history(rocksdb::WriteBatch& batch, const std::string& name,
                                  const DeliveryRecord& r) {
  JsonWriter out;
  out.begin_object();
  out.key("state").string(r.state);
  out.key("first").number(r.first_ms);
  write_attempts(out, r.attempts, false);
  if (!r.reason.empty()) out.key("reason").string(r.reason);
  out.end_object();
  batch.Put(database_.activation(), prefix('l', name) + r.message_id,
            storage::u64_be(static_cast<uint64_t>(r.last_ms)) + out.str());
}

Result<std::optional<DeliveryRecord>> ActivationStore::history(const std::string& name,
                                                               const std::string& message_id) {
  std::string value;
  const auto status = database_.db().Get(rocksdb::ReadOptions(), database_.activation(),
                                         prefix('l', name) + message_id, &value);
  if (status.IsNotFound()) return std::optional<DeliveryRecord>();
  if (!status.ok()) return storage::from_rocksdb(status, "reading a delivery record");
  ingest::JsonParser parser;
  auto root = value.size() > 8 ? parser.parse(std::string_view(value).substr(8))
                               : Result<const ingest::JsonValue*>(Status::corruption(""));
  if (!root || !(*root)->is_object()) {
    return Status::corruption("delivery record of '" + message_id + "' is unreadable");
  }
  DeliveryRecord r;
  r.message_id = message_id;
  r.last_ms = static_cast<int64_t>(storage::read_u64_be(std::string_view(value).substr(0, 8)));
  r.state = text((*root)->find("state"));
  r.first_ms = number((*root)->find("first"));
  r.attempts = read_attempts((*root)->find("attempts"));
  r.reason = text((*root)->find("reason"));
  return std::optional<DeliveryRecord>(std::move(r));
}

Status ActivationStore::write(rocksdb::WriteBatch& batch) {
  return storage::from_rocksdb(database_.db().Write(rocksdb::WriteOptions(), &batch),
                               "writing delivery state");
}

}  // namespace cdp::activation

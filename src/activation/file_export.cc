#include "activation/file_export.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>

#include "activation/identifier_hashing.h"
#include "common/json_writer.h"
#include "common/time_format.h"
#include "profile/audience_records.h"
#include "profile/profile_store.h"
#include "storage/big_endian.h"

namespace cdp::activation {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSnapshot = "-snapshot.";

std::string extension(const DestinationSpec& spec) {
  return spec.files.format == FileFormat::kCsv ? "csv" : "jsonl";
}

// 2026-11-26T16:45:00.000Z -> 20261126T164500Z (sorts like the time, safe in file names).
std::string stamp(int64_t ms) {
  std::string iso = format_iso8601_ms(ms);
  std::string out;
  for (const char c : iso.substr(0, 19)) {
    if (c != '-' && c != ':') out += c;
  }
  return out + "Z";
}

std::optional<int64_t> parse_stamp(std::string_view text) {
  // 20261126T164500Z
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  const std::string iso = std::string(text.substr(0, 4)) + "-" + std::string(text.substr(4, 2)) +
                          "-" + std::string(text.substr(6, 2)) + "T" +
                          std::string(text.substr(9, 2)) + ":" + std::string(text.substr(11, 2)) +
                          ":" + std::string(text.substr(13, 2)) + "Z";
  return parse_iso8601_ms(iso);
}

void csv_field(std::string& out, std::string_view value) {
  if (value.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += value;
    return;
  }
  out += '"';
  for (const char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

// One member's row, without its line end.
std::string row(const DestinationSpec& spec, const std::string& profile,
                const std::vector<std::optional<std::string>>& values) {
  std::string out;
  if (spec.files.format == FileFormat::kCsv) {
    csv_field(out, profile);
    for (const auto& value : values) {
      out += ',';
      if (value) csv_field(out, *value);
    }
    return out;
  }
  JsonWriter json;
  json.begin_object();
  json.key("profile").string(profile);
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i]) json.key(spec.files.identifiers[i]).string(*values[i]);
  }
  json.end_object();
  return json.take();
}

std::string header(const DestinationSpec& spec) {
  if (spec.files.format != FileFormat::kCsv) return {};
  std::string out = "profile";
  for (const auto& type : spec.files.identifiers) {
    out += ',';
    csv_field(out, type);
  }
  return out + "\n";
}

// The profile of a row written by row(): the first CSV field, or the JSON's "profile".
std::string row_profile(const DestinationSpec& spec, std::string_view line) {
  if (spec.files.format == FileFormat::kCsv) return std::string(line.substr(0, line.find(',')));
  constexpr std::string_view kKey = "{\"profile\":\"";
  if (!line.starts_with(kKey)) return {};
  line.remove_prefix(kKey.size());
  return std::string(line.substr(0, line.find('"')));
}

std::optional<std::string> written(const DestinationSpec& spec, const std::string& type,
                                   const std::string& value) {
  if (type == "email") return write_email(value, spec.files.hashing);
  if (type == "phone") return write_phone(value, spec.files.hashing);
  if (spec.files.hashing == HashRule::kNone) return value;
  return is_sha256_hex(value) ? value : sha256_hex(value);
}

// Writes `text` to `path` durably: a temporary file, fsync, rename, fsync of the folder.
Status write_file(const fs::path& path, const std::string& text) {
  const fs::path temporary = path.string() + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::unavailable("cannot write " + temporary.string() + ": " + std::strerror(errno));
  }
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      ::close(fd);
      return Status::unavailable("cannot write " + temporary.string() + ": " + why);
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  std::error_code error;
  if (!synced) return Status::unavailable("cannot sync " + temporary.string());
  fs::rename(temporary, path, error);
  if (error)
    return Status::unavailable("cannot rename to " + path.string() + ": " + error.message());
  const int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    (void)::fsync(dir);
    ::close(dir);
  }
  return Status::ok();
}

// The newest snapshot in `directory` (by name, which sorts by time), or an empty path.
fs::path newest_snapshot(const fs::path& directory) {
  fs::path newest;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(directory, error)) {
    const auto name = entry.path().filename().string();
    const auto at = name.find(kSnapshot);
    if (at == std::string::npos || name.ends_with(".tmp") || !parse_stamp(name.substr(0, at))) {
      continue;
    }
    if (newest.empty() || name > newest.filename().string()) newest = entry.path();
  }
  return newest;
}

}  // namespace

std::string audience_folder(std::string_view audience) {
  bool safe = !audience.empty() && audience != "." && audience != "..";
  std::string out;
  for (const char c : audience) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    safe = safe && ok;
    out += ok ? c : '_';
  }
  if (safe) return out;
  return out.substr(0, 64) + "-" + sha256_hex(audience).substr(0, 12);
}

std::optional<int64_t> last_export_ms(const std::string& directory) {
  const auto newest = newest_snapshot(directory);
  if (newest.empty()) return std::nullopt;
  const auto name = newest.filename().string();
  return parse_stamp(name.substr(0, name.find(kSnapshot)));
}

Result<AudienceExport> export_audience(storage::Database& database, const DestinationSpec& spec,
                                       const std::string& audience, const std::string& directory,
                                       int64_t now_ms) {
  AudienceExport result;
  result.audience = audience;
  result.directory = directory;
  std::error_code error;
  fs::create_directories(directory, error);
  if (error) {
    return Status::unavailable("cannot create " + directory + ": " + error.message());
  }

  // The previous snapshot's rows, by profile: the removed members are written as they were.
  std::map<std::string, std::string> previous;
  if (const auto before = newest_snapshot(directory); !before.empty()) {
    std::ifstream in(before);
    std::string line;
    bool first = spec.files.format == FileFormat::kCsv;
    while (std::getline(in, line)) {
      if (first) {  // the header
        first = false;
        continue;
      }
      if (!line.empty()) previous.emplace(row_profile(spec, line), line);
    }
    if (in.bad()) return Status::unavailable("cannot read " + before.string());
  }

  // The current members, each with its identifiers, read from one snapshot of the state.
  const rocksdb::Snapshot* snapshot = database.db().GetSnapshot();
  std::unique_ptr<const rocksdb::Snapshot, std::function<void(const rocksdb::Snapshot*)>> release(
      snapshot, [&database](const rocksdb::Snapshot* s) { database.db().ReleaseSnapshot(s); });
  profile::ProfileStore store(database, snapshot);
  rocksdb::ReadOptions options;
  options.snapshot = snapshot;
  std::unique_ptr<rocksdb::Iterator> it(database.db().NewIterator(options, database.audiences()));
  const auto prefix = profile::member_prefix(audience);
  std::string snapshot_text = header(spec);
  std::string added_text = header(spec);
  std::set<std::string> current;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const auto key = it->key().ToStringView();
    if (key.size() != prefix.size() + 8) continue;
    const auto id = storage::read_u64_be(key.substr(prefix.size()));
    auto profile = store.get(id);
    if (!profile) return profile.status();
    std::vector<std::optional<std::string>> values(spec.files.identifiers.size());
    if (profile->has_value()) {
      for (const auto& known : (*profile)->identifiers) {
        for (size_t i = 0; i < values.size(); ++i) {
          if (!values[i] && known.identifier.type == spec.files.identifiers[i]) {
            values[i] = written(spec, known.identifier.type, known.identifier.value);
          }
        }
      }
    }
    const std::string name = "p_" + std::to_string(id);
    const std::string line = row(spec, name, values) + "\n";
    snapshot_text += line;
    if (!previous.contains(name)) {
      added_text += line;
      ++result.added;
    }
    current.insert(name);
    ++result.members;
  }
  if (!it->status().ok()) return storage::from_rocksdb(it->status(), "reading audience members");
  std::string removed_text = header(spec);
  for (const auto& [name, line] : previous) {
    if (current.contains(name)) continue;
    removed_text += line + "\n";
    ++result.removed;
  }

  const std::string base = (fs::path(directory) / stamp(now_ms)).string();
  const std::string ext = extension(spec);
  CDP_RETURN_IF_ERROR(write_file(base + "-added." + ext, added_text));
  CDP_RETURN_IF_ERROR(write_file(base + "-removed." + ext, removed_text));
  CDP_RETURN_IF_ERROR(write_file(base + "-snapshot." + ext, snapshot_text));
  return result;
}

}  // namespace cdp::activation

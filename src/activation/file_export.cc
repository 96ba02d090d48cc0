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

// RFC 4180 quoting. Line breaks and other control characters become spaces, so that a row is
// always one line (the next export reads this one back line by line).
void csv_field(std::string& out, std::string_view value) {
  const bool quote = value.find_first_of(",\"") != std::string_view::npos;
  if (quote) out += '"';
  for (const char c : value) {
    if (c == '"') out += '"';
    out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
  }
  if (quote) out += '"';
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
  if (!is_sha256_hex(value)) return sha256_hex(value);
  std::string lower = value;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

// Writes `text` to `path` durably: a hidden temporary file (".NAME.tmp", so a glob for the
// export's files never matches it), fsync, rename, fsync of the folder. The temporary file is
// created anew (O_EXCL) and never through a symbolic link (O_NOFOLLOW).
Status write_file(const fs::path& path, const std::string& text) {
  const fs::path temporary = path.parent_path() / ("." + path.filename().string() + ".tmp");
  std::error_code ignored;
  fs::remove(temporary, ignored);  // a crash's leftover
  const int fd =
      ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
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
  const bool closed = ::close(fd) == 0;
  if (!synced || !closed) {
    return Status::unavailable("cannot write " + temporary.string() + ": " + std::strerror(errno));
  }
  std::error_code error;
  fs::rename(temporary, path, error);
  if (error) {
    return Status::unavailable("cannot rename to " + path.string() + ": " + error.message());
  }
  const int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0 || ::fsync(dir) != 0) {
    const std::string why = std::strerror(errno);
    if (dir >= 0) ::close(dir);
    return Status::unavailable("cannot sync " + path.parent_path().string() + ": " + why);
  }
  ::close(dir);
  return Status::ok();
}

// The newest snapshot in `directory` with extension `ext` (by name, which sorts by time), or an
// empty path.
fs::path newest_snapshot(const fs::path& directory, std::string_view ext) {
  fs::path newest;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(directory, error)) {
    const auto name = entry.path().filename().string();
    const auto at = name.find(kSnapshot);
    if (at == std::string::npos || name.substr(at + kSnapshot.size()) != ext ||
        !parse_stamp(name.substr(0, at))) {
      continue;
    }
    if (newest.empty() || name > newest.filename().string()) newest = entry.path();
  }
  return newest;
}

// Deletes what an interrupted export left: added and removed files whose snapshot was never
// written (an uploader must not apply a diff the next export does not build on).
void remove_unfinished(const fs::path& directory) {
  std::error_code error;
  std::vector<fs::path> orphans;
  for (const auto& entry : fs::directory_iterator(directory, error)) {
    const auto name = entry.path().filename().string();
    for (const std::string_view kind : {"-added.", "-removed."}) {
      const auto at = name.find(kind);
      if (at == std::string::npos || !parse_stamp(name.substr(0, at))) continue;
      const auto snapshot =
          directory / (name.substr(0, at) + std::string(kSnapshot) + name.substr(at + kind.size()));
      if (!fs::exists(snapshot, error)) orphans.push_back(entry.path());
    }
  }
  for (const auto& orphan : orphans) fs::remove(orphan, error);
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
  std::optional<int64_t> last;
  for (const std::string_view ext : {"csv", "jsonl"}) {
    const auto newest = newest_snapshot(directory, ext);
    if (newest.empty()) continue;
    const auto name = newest.filename().string();
    const auto at = parse_stamp(name.substr(0, name.find(kSnapshot)));
    if (at && (!last || *at > *last)) last = at;
  }
  return last;
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

  remove_unfinished(directory);
  const std::string ext = extension(spec);
  const std::string head = header(spec);

  // The previous snapshot's rows, by profile: what changed is written as removed (the old row)
  // and added (the new one). A CSV snapshot with another header (other identifiers) is not
  // compared with: this export is complete in its added file and removes nothing.
  std::map<std::string, std::string> previous;
  int64_t previous_ms = 0;
  if (const auto before = newest_snapshot(directory, ext); !before.empty()) {
    const auto name = before.filename().string();
    previous_ms = parse_stamp(name.substr(0, name.find(kSnapshot))).value_or(0);
    std::ifstream in(before);
    if (!in.is_open()) return Status::unavailable("cannot read " + before.string());
    std::string line;
    bool first = spec.files.format == FileFormat::kCsv;
    bool same_layout = true;
    while (same_layout && std::getline(in, line)) {
      if (first) {
        first = false;
        same_layout = line + "\n" == head;
        continue;
      }
      if (!line.empty()) previous.emplace(row_profile(spec, line), line);
    }
    if (in.bad()) return Status::unavailable("cannot read " + before.string());
    if (!same_layout) previous.clear();
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
  std::string snapshot_text = head;
  std::string added_text = head;
  std::string removed_text = head;
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
    const std::string line = row(spec, name, values);
    snapshot_text += line + "\n";
    const auto before = previous.find(name);
    if (before == previous.end() || before->second != line) {
      added_text += line + "\n";
      ++result.added;
    }
    if (before != previous.end() && before->second != line) {  // its identifiers changed
      removed_text += before->second + "\n";
      ++result.removed;
    }
    current.insert(name);
    ++result.members;
  }
  if (!it->status().ok()) return storage::from_rocksdb(it->status(), "reading audience members");
  for (const auto& [name, line] : previous) {
    if (current.contains(name)) continue;
    removed_text += line + "\n";
    ++result.removed;
  }

  // Always after the previous export, so that two exports in one second (or after the clock
  // stepped back) never share names.
  const std::string base =
      (fs::path(directory) / stamp(std::max(now_ms, previous_ms + 1000))).string();
  CDP_RETURN_IF_ERROR(write_file(base + "-added." + ext, added_text));
  CDP_RETURN_IF_ERROR(write_file(base + "-removed." + ext, removed_text));
  CDP_RETURN_IF_ERROR(write_file(base + "-snapshot." + ext, snapshot_text));
  return result;
}

}  // namespace cdp::activation

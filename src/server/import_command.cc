#include "server/import_command.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "importer/import_record.h"
#include "importer/mapping.h"
#include "ingest/json_tree.h"
#include "server/admin_client.h"

namespace cdp::server {
namespace {

namespace fs = std::filesystem;
using importer::ImportRecord;
using importer::ImportState;

// A one-line progress display on stderr: redrawn in place on a terminal, otherwise one line per
// phase so that logs stay readable.
class ProgressBar {
 public:
  explicit ProgressBar(std::string label)
      : label_(std::move(label)), terminal_(::isatty(STDERR_FILENO) != 0) {}
  ~ProgressBar() { clear(); }

  void show(std::string_view phase, uint64_t done, uint64_t total, const std::string& detail) {
    const auto now = std::chrono::steady_clock::now();
    if (!terminal_) {
      if (phase != last_phase_) std::cerr << label_ << ": " << phase << "\n";
      last_phase_ = std::string(phase);
      return;
    }
    if (phase == last_phase_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_phase_ = std::string(phase);
    last_draw_ = now;
    constexpr int kWidth = 28;
    const double fraction = total == 0 ? 0 : std::min(1.0, static_cast<double>(done) / total);
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar(static_cast<size_t>(filled), '=');
    if (filled < kWidth) bar += '>';
    bar.resize(kWidth, ' ');
    char percent[8];
    std::snprintf(percent, sizeof percent, "%3d%%", static_cast<int>(fraction * 100));
    std::cerr << "\r\033[K" << label_ << " [" << bar << "] " << percent << "  " << phase
              << (detail.empty() ? "" : "  " + detail) << std::flush;
    drawn_ = true;
  }

  void clear() {
    if (terminal_ && drawn_) std::cerr << "\r\033[K" << std::flush;
    drawn_ = false;
  }

 private:
  std::string label_;
  bool terminal_;
  bool drawn_ = false;
  std::string last_phase_;
  std::chrono::steady_clock::time_point last_draw_{};
};

std::string with_commas(uint64_t value) {
  std::string digits = std::to_string(value);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3) digits.insert(i, ",");
  return digits;
}

std::string human_bytes(uint64_t bytes) {
  char out[32];
  if (bytes >= (1ULL << 20)) {
    std::snprintf(out, sizeof out, "%.1f MB", static_cast<double>(bytes) / (1 << 20));
  } else if (bytes >= 1024) {
    std::snprintf(out, sizeof out, "%.1f KB", static_cast<double>(bytes) / 1024);
  } else {
    std::snprintf(out, sizeof out, "%llu bytes", static_cast<unsigned long long>(bytes));
  }
  return out;
}

std::string mapping_name_for(const ImportCommandOptions& options) {
  if (!options.mapping_name.empty()) return options.mapping_name;
  // Stored mappings are named like sources: [a-z0-9_-].
  std::string name;
  for (char c : fs::path(options.mapping_path).stem().string()) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    name.push_back(keep ? c : '-');
  }
  return name.empty() ? "import" : name.substr(0, 64);
}

void print_summary(const ImportRecord& record, double seconds) {
  const std::string name = record.file_name;
  switch (record.state) {
    case ImportState::kDuplicate:
      std::cout << name << ": already imported (import " << record.duplicate_of
                << " has the same bytes); nothing added\n";
      return;
    case ImportState::kFailed:
      if (record.loaded_through_row == 0) {
        std::cout << name << ": import " << record.id << " FAILED; nothing of it entered the log\n";
      } else {
        // Only storage failures stop a validated file while it loads.
        std::cout << name << ": import " << record.id << " FAILED while loading; rows up to "
                  << record.loaded_through_row
                  << " are in the log (importing the file again stores the rest)\n";
      }
      std::cout << "  " << record.error << "\n";
      return;
    default: break;
  }
  char elapsed[32];
  std::snprintf(elapsed, sizeof elapsed, "%.1f s", seconds);
  std::cout << name << ": import " << record.id << " done in " << elapsed << "\n"
            << "  rows read     " << with_commas(record.rows) << "\n"
            << "  accepted      " << with_commas(record.rows_accepted) << "  ("
            << with_commas(record.events_stored) << " stored, "
            << with_commas(record.events_duplicate) << " already in the log)\n"
            << "  quarantined   " << with_commas(record.rows_quarantined);
  if (record.rows_quarantined > 0) {
    std::cout << "  (see: cdp imports quarantine " << record.id << ")";
  }
  std::cout << "\n";
  if (!record.unmapped_columns.empty()) {
    std::cout << "  not mapped    ";
    for (size_t i = 0; i < record.unmapped_columns.size(); ++i) {
      std::cout << (i > 0 ? ", " : "") << record.unmapped_columns[i];
    }
    std::cout << "\n";
  }
  std::cout << "  raw copy      " << record.raw_path << " (" << human_bytes(record.size)
            << ", sha256 " << record.checksum.substr(0, 12) << "...)\n";
}

// Uploads one file and follows its import to the end. Returns true unless it failed.
bool import_file(AdminSession& session, const ImportCommandOptions& options,
                 const std::string& path, const std::string& mapping_name) {
  const auto started = std::chrono::steady_clock::now();
  const std::string file_name = fs::path(path).filename().string();
  ProgressBar bar(file_name);
  auto response = session.client->upload(
      "/admin/v1/imports?mapping=" + url_encode(mapping_name) + "&file=" + url_encode(file_name),
      path, session.token, [&](uint64_t sent, uint64_t total) {
        bar.show("uploading", sent, total, human_bytes(sent) + " of " + human_bytes(total));
      });
  if (!response || response->result() != http::status::accepted) {
    bar.clear();
    std::cerr << "cdp: " << file_name << ": "
              << (response ? error_of(*response) : response.status().message()) << "\n";
    return false;
  }
  auto record = importer::parse_import_record(response->body());
  if (!record) {
    bar.clear();
    std::cerr << "cdp: the server's answer is not an import: " << record.status().message() << "\n";
    return false;
  }
  if (options.no_wait) {
    bar.clear();
    std::cout << file_name << ": import " << record->id << " queued (cdp imports show "
              << record->id << ")\n";
    return true;
  }
  const std::string target = "/admin/v1/imports/" + std::to_string(record->id);
  while (!importer::is_finished(record->state)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto body = session.get(target);
    if (!body) return false;
    auto next = importer::parse_import_record(*body);
    if (!next) return false;
    record = std::move(next);
    switch (record->state) {
      case ImportState::kReceived:
        bar.show("checksum", record->bytes_done, record->size, "");
        break;
      case ImportState::kValidating:
        bar.show("validating", record->bytes_done, record->size,
                 with_commas(record->rows) + " rows, " + with_commas(record->rows_quarantined) +
                     " quarantined");
        break;
      case ImportState::kLoading:
        bar.show("loading", record->bytes_done, record->size,
                 with_commas(record->events_stored) + " of " + with_commas(record->rows_accepted) +
                     " rows stored");
        break;
      default: break;
    }
  }
  bar.clear();
  if (options.json) {
    std::cout << importer::import_record_json(*record) << "\n";
  } else {
    print_summary(
        *record, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  return record->state != ImportState::kFailed;
}

}  // namespace

int run_import(const ImportCommandOptions& options) {
  std::ifstream mapping_file(options.mapping_path);
  if (!mapping_file) {
    std::cerr << "cdp: cannot read the mapping " << options.mapping_path << "\n";
    return 2;
  }
  std::stringstream text;
  text << mapping_file.rdbuf();
  // Checked here too, so that a broken mapping is reported before anything is sent.
  auto mapping = importer::ImportMapping::parse_toml(text.str(), options.mapping_path);
  if (!mapping) {
    std::cerr << "cdp: " << mapping.status().message() << "\n";
    return 2;
  }
  auto session = open_admin_session(options.admin);
  if (!session) return 2;
  const std::string name = mapping_name_for(options);
  auto stored = session->client->request(http::verb::put, "/admin/v1/import-mappings/" + name,
                                         text.str(), "application/toml", session->token);
  if (!stored || stored->result() != http::status::ok) {
    std::cerr << "cdp: storing the mapping failed: "
              << (stored ? error_of(*stored) : stored.status().message()) << "\n";
    return 2;
  }
  bool all_ok = true;
  for (const auto& path : options.files) {
    all_ok = import_file(*session, options, path, name) && all_ok;
  }
  return all_ok ? 0 : 1;
}

int run_imports_list(const ImportCommandOptions& options) {
  auto session = open_admin_session(options.admin);
  if (!session) return 2;
  auto body = session->get("/admin/v1/imports?limit=" + std::to_string(options.limit));
  return print_answer(body, options.json, [](const ingest::JsonValue& root) {
    const auto* imports = root.find("imports");
    if (imports == nullptr) return 1;
    std::cout << "   id  state       rows  quarantined  stored  file\n";
    for (const auto* element : imports->elements) {
      std::string json;
      ingest::write_json(json, *element);
      auto record = importer::parse_import_record(json);
      if (!record) continue;
      char line[160];
      std::snprintf(line, sizeof line, "%5llu  %-10s %6llu  %11llu  %6llu  ",
                    static_cast<unsigned long long>(record->id),
                    std::string(importer::import_state_name(record->state)).c_str(),
                    static_cast<unsigned long long>(record->rows),
                    static_cast<unsigned long long>(record->rows_quarantined),
                    static_cast<unsigned long long>(record->events_stored));
      std::cout << line << record->file_name << "\n";
    }
    return 0;
  });
}

int run_imports_show(const ImportCommandOptions& options) {
  auto session = open_admin_session(options.admin);
  if (!session) return 2;
  auto body = session->get("/admin/v1/imports/" + std::to_string(options.id));
  if (!body) return 1;
  auto record = importer::parse_import_record(*body);
  if (options.json || !record) {
    std::cout << *body << "\n";
    return 0;
  }
  if (!importer::is_finished(record->state)) {
    std::cout << record->file_name << ": import " << record->id << " is "
              << importer::import_state_name(record->state) << " (" << with_commas(record->rows)
              << " rows read so far)\n";
    return 0;
  }
  print_summary(*record,
                static_cast<double>(record->finished_at_ms - record->received_at_ms) / 1000);
  return 0;
}

int run_imports_quarantine(const ImportCommandOptions& options) {
  auto session = open_admin_session(options.admin);
  if (!session) return 2;
  auto body = session->get("/admin/v1/imports/" + std::to_string(options.id) +
                           "/quarantine?limit=" + std::to_string(options.limit));
  return print_answer(body, options.json, [](const ingest::JsonValue& root) {
    const auto* rows = root.find("rows");
    if (rows == nullptr) return 1;
    auto text = [](const ingest::JsonValue* object, std::string_view key) {
      const auto* value = object->find(key);
      return value == nullptr ? std::string() : std::string(value->text);
    };
    for (const auto* row : rows->elements) {
      const std::string column = text(row, "column");
      std::cout << text(row, "file") << " row " << text(row, "row") << ": "
                << (column.empty() ? "" : column + " ") << text(row, "reason");
      const std::string value = text(row, "value");
      if (!value.empty()) std::cout << " (\"" << value << "\")";
      std::cout << "\n";
    }
    if (const auto* next = root.find("nextRow"); next != nullptr) {
      std::cout << "... more from row " << next->text << " (use --limit, or the API's from_row)\n";
    }
    return 0;
  });
}

}  // namespace cdp::server

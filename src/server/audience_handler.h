#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "pipeline/processor.h"
#include "profile/audience_preview.h"
#include "server/http_types.h"
#include "server/slow_queries.h"
#include "storage/database.h"
#include "storage/raw_log_writer.h"

namespace cdp::server {

// Audiences and computed traits (docs/audiences.md, docs/api/openapi.yaml).
// Admin token:
//   GET/PUT/DELETE /admin/v1/audiences[/{name}]        {"condition": "...", "description": "..."}
//   GET/PUT/DELETE /admin/v1/computed-traits[/{name}]  {"kind": "sum", "event": ..., ...}
//   GET /admin/v1/changes?after=CURSOR&limit=N         the change log (entered / exited)
// Read or admin token:
//   POST /admin/v1/audiences/preview?sample=N {"condition": ...}  size and a sample now,
//        without saving (reads the candidates the index leaves: seconds at a million when it
//        cannot narrow the condition)
// Read or admin token:
//   GET /v1/audiences/{name}/members?after=p_N&limit=N current members, by profile id
//   GET /v1/audiences/{name}/members?at=TIME&...       the members at a past time (history)
//   GET /v1/audiences/{name}/sizes?from=TIME&to=TIME&step=DURATION  size over time
// Previews, members at a past time and sizes over time read many records: they run one at a
// time on a thread of their own (SlowQueries), not on the HTTP threads.
// A definition is checked against the others (references, cycles) and appended to the raw log as
// a command that the processor applies in log order: it stores the definition and brings every
// profile up to date. The answer waits for that (200), or says 202 when it takes longer.
// Thread-safe.
class AudienceHandler {
 public:
  struct Deps {
    std::string admin_token;
    std::string read_token;
    storage::Database& database;
    storage::RawLogWriter& writer;
    pipeline::Processor& processor;
    const Clock& clock;
    // How long a preview reads candidates before it estimates the size from those read.
    std::chrono::milliseconds preview_budget = profile::kPreviewBudget;
  };
  explicit AudienceHandler(Deps deps) : deps_(std::move(deps)) {}

  static bool handles(std::string_view path);
  void handle(const Request& request, Responder respond);
  // Answers the previews and history queries still waiting (503); call while the HTTP server's
  // executor still exists (after it stopped taking requests).
  void stop() { slow_.stop(); }

 private:
  void define(const Request& request, bool trait, const std::string& name, Responder respond);
  void remove(const Request& request, bool trait, const std::string& name, Responder respond);
  Response show(const Request& request, bool trait, const std::string& name);
  Response list(const Request& request, bool trait);
  Response members(const Request& request, const std::string& name);
  // GET /v1/audiences/{name}/changes: the audience's entries and exits, newest first.
  Response history(const Request& request, const std::string& name);
  Response members_at(const Request& request, const std::string& name, int64_t at_ms);
  Response sizes(const Request& request, const std::string& name);
  Response preview(const Request& request);
  Response changes(const Request& request);
  // Appends the command and answers once it is applied: 200 with `show`'s answer, or 202.
  void submit(const Request& request, std::string command, bool trait, const std::string& name,
              bool deleting, Responder respond);

  Deps deps_;
  SlowQueries slow_;
};

}  // namespace cdp::server

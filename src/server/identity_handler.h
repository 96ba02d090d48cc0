#pragma once

#include <string>
#include <string_view>

#include "common/clock.h"
#include "identity/normalizer.h"
#include "pipeline/processor.h"
#include "profile/state_records.h"
#include "server/http_types.h"
#include "storage/database.h"
#include "storage/raw_log_writer.h"

namespace cdp::server {

// Identity corrections (docs/api/openapi.yaml), for the admin token only:
//   POST   /v1/profiles/{ref}/unmerge      {"identifier":"email:..."} or {"merged":"p_7"}
//   GET    /v1/identity/unmerges           every unmerge, newest first
//   GET    /v1/identity/unmerges/{id}
//   DELETE /v1/identity/unmerges/{id}      re-allow: lift the block (past splits stay)
// Each change is appended to the raw log as a command (storage::kAdminSource) and applied by the
// processor in log order; the answer waits until it is applied (200, or 409 when the processor
// refused it), or says 202 with the unmerge's id to poll when the processor is far behind.
// Thread-safe.
class IdentityHandler {
 public:
  struct Deps {
    std::string admin_token;
    storage::Database& database;
    storage::RawLogWriter& writer;
    pipeline::Processor& processor;
    std::string phone_default_region;
    const Clock& clock;
  };
  explicit IdentityHandler(Deps deps)
      : deps_(std::move(deps)), normalizer_(deps_.phone_default_region) {}

  static bool handles(std::string_view path);
  void handle(const Request& request, Responder respond);

 private:
  void unmerge(const Request& request, std::string_view ref, Responder respond);
  void reallow(const Request& request, uint64_t id, Responder respond);
  Response list(const Request& request);
  Response show(const Request& request, uint64_t id);
  // Appends `command`, then answers with the unmerge `id` (its own seq when 0) once applied.
  void submit(unsigned version, std::string command, uint64_t id, Responder respond);

  Deps deps_;
  identity::IdentifierNormalizer normalizer_;
};

// The JSON form of an unmerge in the API.
std::string unmerge_json(const profile::UnmergeRecord& record);

}  // namespace cdp::server

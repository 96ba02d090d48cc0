#pragma once

#include <string>
#include <string_view>

#include "importer/importer.h"
#include "server/http_server.h"
#include "server/http_types.h"

namespace cdp::server {

// File imports over the admin API (docs/import.md), for the admin token only:
//   PUT    /admin/v1/import-mappings/{name}      body: the mapping's TOML -> 200 (validated)
//   GET    /admin/v1/import-mappings             every stored mapping
//   GET    /admin/v1/import-mappings/{name}
//   DELETE /admin/v1/import-mappings/{name}
//   POST   /admin/v1/imports?mapping=NAME&file=NAME   body: the file -> 202 with the import
//   GET    /admin/v1/imports?before=ID&limit=N       newest first
//   GET    /admin/v1/imports/{id}                    state, progress and counts
//   GET    /admin/v1/imports/{id}/quarantine?from_row=N&limit=N   the rows that failed
// An upload's body is streamed to a file (HttpServer::Options::file_body), so files of any size
// up to `max_file_bytes` travel in constant memory. Thread-safe.
class ImportHandler {
 public:
  ImportHandler(std::string admin_token, importer::Importer& importer, uint64_t max_file_bytes)
      : admin_token_(std::move(admin_token)),
        importer_(importer),
        max_file_bytes_(max_file_bytes) {}

  static bool handles(std::string_view path);
  // For HttpServer::Options::file_body: an upload (POST /admin/v1/imports) is streamed to a
  // file, or refused from its header alone (401 without the admin token, 400 without a stored
  // mapping), before any of its body is read; other requests are read as usual (nullopt).
  std::optional<HttpServer::FileBody> file_body(const http::request_header<>& header);

  // `info.body_file`, when set, is taken over (moved into the import, or removed).
  Response handle(const Request& request, const RequestInfo& info);

 private:
  Response mappings(const Request& request, std::string_view name);
  Response upload(const Request& request, const RequestInfo& info);
  Response list(const Request& request);
  Response quarantine(const Request& request, uint64_t id);

  const std::string admin_token_;
  importer::Importer& importer_;
  const uint64_t max_file_bytes_;
};

}  // namespace cdp::server

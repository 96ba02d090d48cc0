#include "server/import_handler.h"

#include <filesystem>

#include "common/json_writer.h"
#include "ingest/source_registry.h"
#include "server/admin_handler.h"
#include "server/profile_handler.h"

namespace cdp::server {
namespace {

constexpr std::string_view kImportsPath = "/admin/v1/imports";
constexpr std::string_view kMappingsPath = "/admin/v1/import-mappings";
constexpr size_t kMaxListed = 1000;

// Removes an upload the handler did not move into an import.
class UploadGuard {
 public:
  explicit UploadGuard(const std::string& path) : path_(path) {}
  ~UploadGuard() {
    if (path_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  UploadGuard(const UploadGuard&) = delete;
  UploadGuard& operator=(const UploadGuard&) = delete;

 private:
  const std::string& path_;
};

Response method_not_allowed(unsigned version, std::string_view allowed) {
  return json_error(http::status::method_not_allowed, version, "method_not_allowed",
                    "use " + std::string(allowed));
}

Response unauthorized(unsigned version) {
  return json_error(http::status::unauthorized, version, "invalid_admin_token",
                    "imports need \"Authorization: Bearer <admin token>\" (the server writes it "
                    "to <data dir>/admin-token)");
}

Response no_mapping(unsigned version, const std::string& name) {
  if (name.empty()) {
    return json_error(http::status::bad_request, version, "invalid_argument",
                      "say which stored mapping reads the file: POST "
                      "/admin/v1/imports?mapping=NAME&file=customers.csv");
  }
  return json_error(
      http::status::bad_request, version, "unknown_mapping",
      "no mapping \"" + name + "\": PUT /admin/v1/import-mappings/" + name + " first");
}

std::string mapping_json(std::string_view name, std::string_view text) {
  JsonWriter out;
  out.begin_object();
  out.key("name").string(name);
  out.key("mapping").string(text);
  out.end_object();
  return out.take();
}

}  // namespace

bool ImportHandler::handles(std::string_view path) {
  return path == kImportsPath || path.starts_with(std::string(kImportsPath) + "/") ||
         path == kMappingsPath || path.starts_with(std::string(kMappingsPath) + "/");
}

std::optional<HttpServer::FileBody> ImportHandler::file_body(const http::request_header<>& header) {
  const std::string_view target = header.target();
  if (header.method() != http::verb::post || target.substr(0, target.find('?')) != kImportsPath) {
    return std::nullopt;
  }
  HttpServer::FileBody decision{importer_.incoming_dir(), max_file_bytes_, std::nullopt};
  if (!has_bearer_token(header, {admin_token_})) {
    decision.refuse = unauthorized(header.version());
    return decision;
  }
  const auto mapping = percent_decode(query_parameter(target, "mapping"));
  auto stored = mapping && !mapping->empty() ? importer_.store().get_mapping(*mapping)
                                             : Result<std::optional<std::string>>(std::nullopt);
  if (!stored) {
    decision.refuse = status_error(stored.status(), header.version());
  } else if (!stored->has_value()) {
    decision.refuse = no_mapping(header.version(), mapping.value_or(""));
  }
  return decision;
}

Response ImportHandler::handle(const Request& request, const RequestInfo& info) {
  std::string body_file = info.body_file;
  UploadGuard guard(body_file);
  const unsigned version = request.version();
  if (!has_bearer_token(request, {admin_token_})) return unauthorized(version);
  std::string_view path = request.target();
  path = path.substr(0, path.find('?'));
  if (path.starts_with(kMappingsPath)) {
    std::string_view name = path.substr(kMappingsPath.size());
    if (name.starts_with('/')) name.remove_prefix(1);
    return mappings(request, name);
  }
  std::string_view rest = path.substr(kImportsPath.size());
  if (rest.empty()) {
    if (request.method() == http::verb::post) {
      RequestInfo upload_info = info;
      upload_info.body_file = body_file;
      auto response = upload(request, upload_info);
      // upload() moved the file into the import when it answered 202.
      if (response.result() == http::status::accepted) body_file.clear();
      return response;
    }
    if (request.method() == http::verb::get) return list(request);
    return method_not_allowed(version, "GET or POST");
  }
  rest.remove_prefix(1);
  const auto slash = rest.find('/');
  const auto id = parse_number<uint64_t>(rest.substr(0, slash));
  if (!id) {
    return json_error(http::status::not_found, version, "not_found",
                      "no import \"" + std::string(rest.substr(0, slash)) +
                          "\": imports are numbered (GET /admin/v1/imports lists them)");
  }
  if (request.method() != http::verb::get) return method_not_allowed(version, "GET");
  if (slash != std::string_view::npos) {
    if (rest.substr(slash) == "/quarantine") return quarantine(request, *id);
    return json_error(http::status::not_found, version, "not_found",
                      "no endpoint at " + std::string(path));
  }
  auto record = importer_.store().get(*id);
  if (!record) return status_error(record.status(), version);
  if (!record->has_value()) {
    return json_error(http::status::not_found, version, "not_found",
                      "no import " + std::to_string(*id));
  }
  return json_response(http::status::ok, version, importer::import_record_json(**record));
}

Response ImportHandler::mappings(const Request& request, std::string_view name) {
  const unsigned version = request.version();
  auto& store = importer_.store();
  if (name.empty()) {
    if (request.method() != http::verb::get) return method_not_allowed(version, "GET");
    auto all = store.mappings();
    if (!all) return status_error(all.status(), version);
    std::string body = "{\"mappings\":[";
    for (size_t i = 0; i < all->size(); ++i) {
      if (i > 0) body.push_back(',');
      body += mapping_json((*all)[i].first, (*all)[i].second);
    }
    body += "]}";
    return json_response(http::status::ok, version, std::move(body));
  }
  if (auto valid = ingest::SourceRegistry::validate_name(name); !valid.is_ok()) {
    return json_error(http::status::bad_request, version, "invalid_argument",
                      "mapping name \"" + to_valid_utf8(name.substr(0, 80)) +
                          "\" is invalid: use 1-64 characters from a-z, 0-9, '_' and '-'");
  }
  const std::string key(name);
  switch (request.method()) {
    case http::verb::put: {
      auto mapping = importer::ImportMapping::parse_toml(request.body(), "mapping " + key);
      if (!mapping) return status_error(mapping.status(), version);
      if (auto stored = store.put_mapping(key, request.body()); !stored.is_ok()) {
        return status_error(stored, version);
      }
      return json_response(http::status::ok, version, mapping_json(key, request.body()));
    }
    case http::verb::get: {
      auto text = store.get_mapping(key);
      if (!text) return status_error(text.status(), version);
      if (!text->has_value()) {
        return json_error(http::status::not_found, version, "not_found",
                          "no mapping \"" + key + "\" (PUT it first)");
      }
      return json_response(http::status::ok, version, mapping_json(key, **text));
    }
    case http::verb::delete_: {
      if (auto deleted = store.delete_mapping(key); !deleted.is_ok()) {
        return status_error(deleted, version);
      }
      return Response{http::status::no_content, version};
    }
    default: return method_not_allowed(version, "GET, PUT or DELETE");
  }
}

Response ImportHandler::upload(const Request& request, const RequestInfo& info) {
  const unsigned version = request.version();
  const auto mapping_name = percent_decode(query_parameter(request.target(), "mapping"));
  const auto file_name = percent_decode(query_parameter(request.target(), "file"));
  if (!mapping_name || mapping_name->empty() || !file_name) {
    return json_error(http::status::bad_request, version, "invalid_argument",
                      "say which stored mapping reads the file: POST "
                      "/admin/v1/imports?mapping=NAME&file=customers.csv");
  }
  auto text = importer_.store().get_mapping(*mapping_name);
  if (!text) return status_error(text.status(), version);
  if (!text->has_value()) {
    return json_error(http::status::bad_request, version, "unknown_mapping",
                      "no mapping \"" + *mapping_name + "\": PUT /admin/v1/import-mappings/" +
                          *mapping_name + " first");
  }
  auto mapping = importer::ImportMapping::parse_toml(**text, "mapping " + *mapping_name);
  if (!mapping) return status_error(mapping.status(), version);
  mapping->name = *mapping_name;
  // HttpServer streamed the body to this file (file_body() above): uploads never sit in memory.
  const std::string path = info.body_file;
  if (path.empty()) {
    return status_error(Status::internal("the upload did not arrive as a file"), version);
  }
  const std::string origin =
      request[http::field::user_agent].starts_with("cdp-cli") ? "cli" : "api";
  auto record =
      importer_.submit(path, file_name->empty() ? "upload" : *file_name, origin, *mapping);
  if (!record) {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
    return status_error(record.status(), version);
  }
  auto response =
      json_response(http::status::accepted, version, importer::import_record_json(*record));
  response.set(http::field::location, std::string(kImportsPath) + "/" + std::to_string(record->id));
  return response;
}

Response ImportHandler::list(const Request& request) {
  const unsigned version = request.version();
  const auto before = number_parameter(request.target(), "before", 0);
  const auto limit = number_parameter(request.target(), "limit", 100);
  if (!before || !limit || *limit == 0) {
    return json_error(http::status::bad_request, version, "invalid_argument",
                      "before and limit must be positive integers, e.g. ?before=40&limit=20");
  }
  auto records = importer_.store().list(*before, std::min<uint64_t>(*limit, kMaxListed));
  if (!records) return status_error(records.status(), version);
  std::string body = "{\"imports\":[";
  for (size_t i = 0; i < records->size(); ++i) {
    if (i > 0) body.push_back(',');
    body += importer::import_record_json((*records)[i]);
  }
  body += "]}";
  return json_response(http::status::ok, version, std::move(body));
}

Response ImportHandler::quarantine(const Request& request, uint64_t id) {
  const unsigned version = request.version();
  auto record = importer_.store().get(id);
  if (!record) return status_error(record.status(), version);
  if (!record->has_value()) {
    return json_error(http::status::not_found, version, "not_found",
                      "no import " + std::to_string(id));
  }
  const auto from = number_parameter(request.target(), "from_row", 0);
  const auto limit = number_parameter(request.target(), "limit", 1000);
  if (!from || !limit || *limit == 0) {
    return json_error(
        http::status::bad_request, version, "invalid_argument",
        "from_row and limit (rows per page) must be positive integers, e.g. ?from_row=2&limit=100");
  }
  auto page = importer_.store().problems(id, *from, std::min<uint64_t>(*limit, 10'000));
  if (!page) return status_error(page.status(), version);
  const auto& entries = page->entries;
  const auto& next_row = page->next_row;
  std::string body = "{\"import\":" + std::to_string(id) + ",\"rows\":[";
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) body.push_back(',');
    body += importer::quarantine_entry_json(entries[i], (**record).file_name);
  }
  body += "]";
  if (next_row) body += ",\"nextRow\":" + std::to_string(*next_row);
  body += "}";
  return json_response(http::status::ok, version, std::move(body));
}

}  // namespace cdp::server

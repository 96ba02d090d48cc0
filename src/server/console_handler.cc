#include "server/console_handler.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/json_writer.h"
#include "common/log.h"
#include "server/admin_handler.h"
#include "server/profile_handler.h"

namespace cdp::server {
namespace {

constexpr std::string_view kWhoamiPath = "/v1/console/whoami";
constexpr std::string_view kLivePath = "/admin/v1/live/events";

constexpr std::string_view kNotBuilt = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cdp console</title></head>
<body><main><h1>The console is not built</h1>
<p>Build it with <code>npm ci &amp;&amp; npm run build</code> in the repository's
<code>web/</code> folder (<code>scripts/quickstart.sh</code> does), then restart cdp, or point
<code>[server] console_dir</code> (or <code>--console-dir</code>) at a built console.</p>
<p>The APIs work without it: see docs/api/openapi.yaml.</p></main></body></html>
)";

// A query value as a form sends it: '+' is a space, then percent escapes.
std::optional<std::string> form_value(std::string_view target, std::string_view name) {
  std::string text(query_parameter(target, name));
  std::replace(text.begin(), text.end(), '+', ' ');
  return percent_decode(text);
}

// The console's pages may only load what they came with; no frames, no sniffing, no referrer.
void add_security_headers(Response& response) {
  response.set("Content-Security-Policy",
               "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  response.set("X-Content-Type-Options", "nosniff");
  response.set("X-Frame-Options", "DENY");
  response.set("Referrer-Policy", "no-referrer");
}

}  // namespace

std::string_view content_type_for(std::string_view name) {
  const auto dot = name.rfind('.');
  const auto extension = dot == std::string_view::npos ? std::string_view() : name.substr(dot + 1);
  if (extension == "html") return "text/html; charset=utf-8";
  if (extension == "js" || extension == "mjs") return "text/javascript; charset=utf-8";
  if (extension == "css") return "text/css; charset=utf-8";
  if (extension == "json" || extension == "map") return "application/json";
  if (extension == "svg") return "image/svg+xml";
  if (extension == "png") return "image/png";
  if (extension == "ico") return "image/x-icon";
  if (extension == "woff2") return "font/woff2";
  if (extension == "txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

ConsoleHandler::ConsoleHandler(std::string dir, std::string admin_token, std::string read_token,
                               LiveEvents& live)
    : dir_(std::move(dir)),
      admin_token_(std::move(admin_token)),
      read_token_(std::move(read_token)),
      live_(live) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (dir_.empty() || !fs::is_directory(dir_, ec)) {
    log::info("console_not_built", {{"dir", dir_}});
    return;
  }
  size_t total = 0;
  for (auto it = fs::recursive_directory_iterator(dir_, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    // Regular files only (a link could lead out of the directory).
    if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
    const auto relative = fs::relative(it->path(), dir_, ec).generic_string();
    if (ec || relative.starts_with("..") || total + it->file_size(ec) > kMaxBytes) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    File file{content.str(), std::string(content_type_for(relative)),
              relative.starts_with("assets/")};
    total += file.content.size();
    files_.emplace("/" + relative, std::move(file));
  }
  log::info("console_loaded", {{"dir", dir_}, {"files", std::to_string(files_.size())}});
}

bool ConsoleHandler::handles(std::string_view path) const {
  return path == "/" || path == kWhoamiPath || path == kLivePath || files_.contains(path);
}

Response ConsoleHandler::file(const Request& request, const File& found) const {
  Response response{http::status::ok, request.version()};
  response.set(http::field::content_type, found.content_type);
  // Bundles are named by their content's hash; index.html names the current ones.
  response.set(http::field::cache_control,
               found.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  add_security_headers(response);
  if (request.method() != http::verb::head) response.body() = found.content;
  response.prepare_payload();
  if (request.method() == http::verb::head) {
    response.content_length(found.content.size());
  }
  return response;
}

void ConsoleHandler::handle(const Request& request, const RequestInfo& info, Responder respond) {
  const std::string_view target = request.target();
  const std::string_view path = target.substr(0, target.find('?'));
  const unsigned version = request.version();
  if (path == kWhoamiPath || path == kLivePath) {
    if (request.method() != http::verb::get) {
      return respond(json_error(http::status::method_not_allowed, version, "method_not_allowed",
                                "use GET on " + std::string(path)));
    }
    const bool admin = has_bearer_token(request, {admin_token_});
    if (!admin && !has_bearer_token(request, {read_token_})) {
      return respond(json_error(http::status::unauthorized, version, "unauthorized",
                                "send the admin token or the read token as "
                                "\"Authorization: Bearer TOKEN\" (write keys open no console)"));
    }
    if (path == kLivePath) {
      // Raw events of every source, cdp's own commands and refused bodies: what the admin API
      // shows, not the Profile API.
      if (!admin) {
        return respond(json_error(http::status::unauthorized, version, "invalid_admin_token",
                                  "the live event stream needs the admin token"));
      }
      return live(request, info, std::move(respond));
    }
    return respond(json_response(http::status::ok, version,
                                 admin ? R"({"role":"admin"})" : R"({"role":"read"})"));
  }
  if (request.method() != http::verb::get && request.method() != http::verb::head) {
    return respond(json_error(http::status::method_not_allowed, version, "method_not_allowed",
                              "the console's files take GET"));
  }
  const auto found = files_.find(path == "/" ? std::string_view("/index.html") : path);
  if (found == files_.end()) {
    Response response{http::status::not_found, version};
    response.set(http::field::content_type, "text/html; charset=utf-8");
    add_security_headers(response);
    response.body() = kNotBuilt;
    response.prepare_payload();
    return respond(std::move(response));
  }
  respond(file(request, found->second));
}

void ConsoleHandler::live(const Request& request, const RequestInfo& info, Responder respond) {
  const unsigned version = request.version();
  LiveEvents::Filter filter;
  auto source = form_value(request.target(), "source");
  auto type = form_value(request.target(), "type");
  auto name = form_value(request.target(), "name");
  const auto backlog = number_parameter(request.target(), "backlog", 20);
  if (!source || !type || !name || !backlog) {
    return respond(json_error(http::status::bad_request, version, "invalid_argument",
                              "source, type and name are percent-encoded texts and backlog a "
                              "whole number, e.g. ?type=track&name=Order%20Completed&backlog=20"));
  }
  if (!info.open_stream) {
    return respond(json_error(http::status::not_implemented, version, "not_implemented",
                              "this server cannot stream answers"));
  }
  if (!live_.has_room()) {
    return respond(status_error(
        Status::unavailable(std::to_string(LiveEvents::kMaxSubscribers) +
                            " live event streams are open already; close one and retry"),
        version));
  }
  filter.source = std::move(*source);
  filter.type = std::move(*type);
  filter.name = std::move(*name);
  Response head{http::status::ok, version};
  head.set(http::field::content_type, "text/event-stream; charset=utf-8");
  head.set(http::field::cache_control, "no-store");
  // Tells proxies such as nginx not to buffer the stream.
  head.set("X-Accel-Buffering", "no");
  auto stream = info.open_stream(std::move(head));
  // The client's EventSource reconnects after this long when the stream ends.
  stream->write("retry: 2000\n\n");
  if (auto status = live_.subscribe(stream, std::move(filter), *backlog); !status.is_ok()) {
    // (Not "error": EventSource clients get their own error events under that name.)
    JsonWriter error;
    error.begin_object().key("message").string(status.message()).end_object();
    stream->write(sse_frame("stream_error", error.str()));
    stream->close();
  }
}

}  // namespace cdp::server

#pragma once

#include <map>
#include <string>
#include <string_view>

#include "server/http_types.h"
#include "server/live_events.h"

namespace cdp::server {

// The web console (docs/console.md): its built files, served from memory at `/` (index.html)
// and `/assets/...`; `GET /v1/console/whoami`, which tells the console what a token may do; and
// the live debugger's stream, `GET /admin/v1/live/events` (server-sent events, LiveEvents; admin
// token only). The admin and read tokens open the console; write keys never do.
class ConsoleHandler {
 public:
  // Reads the files of `dir` (Vite's output: index.html, assets/) once. A missing or empty
  // directory is no error: `/` then says how to build the console.
  ConsoleHandler(std::string dir, std::string admin_token, std::string read_token,
                 LiveEvents& live);

  bool handles(std::string_view path) const;
  void handle(const Request& request, const RequestInfo& info, Responder respond);

  size_t files() const { return files_.size(); }

  // Most bytes read from the directory: Vite's bundles are well under it.
  static constexpr size_t kMaxBytes = 32 << 20;

 private:
  struct File {
    std::string content;
    std::string content_type;
    bool immutable = false;  // under assets/, named by a hash of the content
  };

  Response file(const Request& request, const File& found) const;
  void live(const Request& request, const RequestInfo& info, Responder respond);

  std::string dir_;
  std::string admin_token_;
  std::string read_token_;
  LiveEvents& live_;
  std::map<std::string, File, std::less<>> files_;  // "/index.html", "/assets/x.js", ...
};

// The Content-Type for a file name: text types in UTF-8, application/octet-stream when unknown.
std::string_view content_type_for(std::string_view name);

}  // namespace cdp::server

#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "server/http_types.h"

namespace cdp::server {

// A small blocking HTTP/1.1 client for the CLI's calls to a running server (keep-alive, one
// request at a time). Not thread-safe.
class HttpClient {
 public:
  // `base_url`: "http://host:port" (no TLS: the CLI talks to a server it can reach directly).
  static Result<std::unique_ptr<HttpClient>> connect(std::string_view base_url);
  ~HttpClient();

  // Sends a request; `token` goes into "Authorization: Bearer".
  Result<Response> request(http::verb method, const std::string& target, std::string body,
                           std::string_view content_type, std::string_view token);

  // Streams the file at `path` as the body of a POST, calling `on_progress` with the body bytes
  // sent so far.
  Result<Response> upload(const std::string& target, const std::string& path,
                          std::string_view token,
                          const std::function<void(uint64_t sent, uint64_t total)>& on_progress);

 private:
  struct Connection;
  explicit HttpClient(std::unique_ptr<Connection> connection);
  std::unique_ptr<Connection> connection_;
};

}  // namespace cdp::server

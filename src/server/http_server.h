#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "server/http_types.h"

namespace cdp::server {

// An HTTP/1.1 server on Boost.Beast: keep-alive, pipelined requests answered in order, a body
// limit enforced while reading (413 before the whole body arrives), and handlers that may answer
// later from another thread (the raw log's commit thread answers ingest requests).
//
// Lifecycle: start() binds and runs `threads` I/O threads; stop() closes the listener and
// joins them. Thread-safe.
class HttpServer {
 public:
  using Handler = std::function<void(Request&&, const RequestInfo&, Responder)>;

  // Where a request's body goes when it is written to a file instead of memory.
  struct FileBody {
    std::string dir;
    uint64_t max_bytes = 0;
    // Set: answer this at once (wrong token, unknown parameters) instead of reading the body.
    std::optional<Response> refuse;
  };
  using FileBodyPolicy = std::function<std::optional<FileBody>(const http::request_header<>&)>;

  struct Options {
    std::string host = "127.0.0.1";
    unsigned short port = 8080;  // 0 picks a free port
    int threads = 2;
    size_t max_body_bytes = 512 * 1024;  // raw (possibly compressed) body
    std::chrono::seconds idle_timeout{75};
    // Requests for which this returns a FileBody have their body streamed to a new file in its
    // directory, up to its own limit, instead of memory (file uploads of any size); the idle
    // timeout then applies to each read, not to the whole body.
    FileBodyPolicy file_body;
  };

  HttpServer(Options options, Handler handler);
  ~HttpServer();

  Status start();
  void stop();
  unsigned short port() const { return port_; }

 private:
  void accept();

  Options options_;
  Handler handler_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  unsigned short port_ = 0;
};

// Parses "host:port" (IPv6 as "[::1]:8080").
Result<std::pair<std::string, unsigned short>> parse_listen_address(std::string_view address);

}  // namespace cdp::server

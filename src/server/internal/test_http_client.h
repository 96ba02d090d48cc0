#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace cdp::server::internal {

// A small synchronous HTTP/1.1 client for tests: one keep-alive connection to 127.0.0.1:<port>,
// opened on first use and again after the server closes it. Every operation has a timeout, so a
// server that never answers fails the test instead of hanging it.
//
// Not thread-safe: one per test thread.
class TestHttpClient {
 public:
  using Response = boost::beast::http::response<boost::beast::http::string_body>;
  using Headers = std::vector<std::pair<std::string, std::string>>;

  explicit TestHttpClient(unsigned short port,
                          std::chrono::seconds timeout = std::chrono::seconds(20))
      : port_(port), timeout_(timeout), stream_(io_) {}

  // Sends one request and reads its response. Sets Host (unless `headers` has one) and
  // Content-Length. kUnavailable when the connection fails or times out.
  Result<Response> request(boost::beast::http::verb method, std::string_view target,
                           std::string body = {}, const Headers& headers = {}) {
    namespace http = boost::beast::http;
    http::request<http::string_body> request{method, target, 11};
    bool has_host = false;
    for (const auto& [name, value] : headers) {
      request.set(name, value);
      has_host = has_host || boost::beast::iequals(name, "host");
    }
    if (!has_host) request.set(http::field::host, "127.0.0.1:" + std::to_string(port_));
    request.body() = std::move(body);
    request.prepare_payload();
    CDP_RETURN_IF_ERROR(connect());
    boost::beast::error_code error;
    stream_.expires_after(timeout_);
    http::async_write(stream_, request, [&](boost::beast::error_code ec, size_t) { error = ec; });
    run();
    if (error) return failed("write", error);
    return read_response();
  }

  Result<Response> get(std::string_view target, const Headers& headers = {}) {
    return request(boost::beast::http::verb::get, target, {}, headers);
  }

  Result<Response> post(std::string_view target, std::string body, const Headers& headers = {}) {
    return request(boost::beast::http::verb::post, target, std::move(body), headers);
  }

  // Writes `bytes` as they are (malformed or pipelined requests); read the answers with
  // read_response().
  Status send_raw(std::string_view bytes) {
    CDP_RETURN_IF_ERROR(connect());
    boost::beast::error_code error;
    stream_.expires_after(timeout_);
    boost::asio::async_write(stream_, boost::asio::buffer(bytes.data(), bytes.size()),
                             [&](boost::beast::error_code ec, size_t) { error = ec; });
    run();
    if (error) return failed("write", error);
    return Status::ok();
  }

  // Reads the next response on the connection.
  Result<Response> read_response() {
    namespace http = boost::beast::http;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    boost::beast::error_code error;
    stream_.expires_after(timeout_);
    http::async_read(stream_, buffer_, parser,
                     [&](boost::beast::error_code ec, size_t) { error = ec; });
    run();
    if (error) return failed("read", error);
    Response response = parser.release();
    if (!response.keep_alive()) disconnect();
    return response;
  }

  // True when the server closes the connection (the next read ends the stream) within the
  // timeout. Disconnects either way. REQUIRES: no response is still expected on the connection.
  bool server_closed() {
    if (!connected_) return true;
    char byte = 0;
    boost::beast::error_code error;
    stream_.expires_after(timeout_);
    stream_.async_read_some(boost::asio::buffer(&byte, 1),
                            [&](boost::beast::error_code ec, size_t) { error = ec; });
    run();
    const bool closed =
        error == boost::asio::error::eof || error == boost::asio::error::connection_reset;
    disconnect();
    return closed;
  }

  void disconnect() {
    if (!connected_) return;
    boost::beast::error_code ignored;
    stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    stream_.close();
    buffer_.clear();
    connected_ = false;
  }

  // TCP connections opened so far; a keep-alive conversation uses one.
  int connections() const { return connections_; }
  unsigned short port() const { return port_; }

 private:
  Status connect() {
    if (connected_) return Status::ok();
    boost::beast::error_code error;
    stream_.expires_after(timeout_);
    stream_.async_connect(
        boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port_),
        [&](boost::beast::error_code ec) { error = ec; });
    run();
    if (error)
      return Status::unavailable("cannot connect to 127.0.0.1:" + std::to_string(port_) + ": " +
                                 error.message());
    connected_ = true;
    ++connections_;
    return Status::ok();
  }

  void run() {
    io_.restart();
    io_.run();
  }

  Status failed(std::string_view what, const boost::beast::error_code& error) {
    disconnect();
    return Status::unavailable("HTTP " + std::string(what) + " failed: " + error.message());
  }

  unsigned short port_;
  std::chrono::seconds timeout_;
  boost::asio::io_context io_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  bool connected_ = false;
  int connections_ = 0;
};

}  // namespace cdp::server::internal

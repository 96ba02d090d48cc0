#include "server/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "server/http_server.h"

namespace cdp::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

constexpr std::string_view kUserAgent = "cdp-cli/0.1";

}  // namespace

struct HttpClient::Connection {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
  std::string host;
  std::string port;
  bool open = false;

  Status ensure_open() {
    if (open) return Status::ok();
    beast::error_code ec;
    tcp::resolver resolver(io);
    auto endpoints = resolver.resolve(host, port, ec);
    if (!ec) stream.connect(endpoints, ec);
    if (ec) {
      return Status::unavailable("cannot reach the cdp server at " + host + ":" + port + ": " +
                                 ec.message() + " (is `cdp serve` running? see --server)");
    }
    open = true;
    return Status::ok();
  }

  // Reads the answer; on a broken connection the caller may retry once.
  Result<Response> read_response() {
    Response response;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ULL << 30);
    beast::error_code ec;
    http::read(stream, buffer, parser, ec);
    if (ec) {
      open = false;
      stream.close();
      return Status::unavailable("the server closed the connection: " + ec.message());
    }
    response = parser.release();
    if (!response.keep_alive()) {
      open = false;
      stream.close();
    }
    return response;
  }
};

HttpClient::HttpClient(std::unique_ptr<Connection> connection)
    : connection_(std::move(connection)) {}
HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::connect(std::string_view base_url) {
  std::string_view rest = base_url;
  if (rest.starts_with("https://")) {
    return Status::invalid_argument("the CLI talks plain HTTP to the server: use http://");
  }
  if (rest.starts_with("http://")) rest.remove_prefix(7);
  while (rest.ends_with('/')) rest.remove_suffix(1);
  auto address = parse_listen_address(
      rest.find(':') == std::string_view::npos ? std::string(rest) + ":80" : std::string(rest));
  if (!address) {
    return Status::invalid_argument("server \"" + std::string(base_url) +
                                    "\" is not http://host:port");
  }
  auto connection = std::make_unique<Connection>();
  connection->host = address->first;
  connection->port = std::to_string(address->second);
  CDP_RETURN_IF_ERROR(connection->ensure_open());
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(connection)));
}

Result<Response> HttpClient::request(http::verb method, const std::string& target, std::string body,
                                     std::string_view content_type, std::string_view token) {
  // A keep-alive connection the server closed while idle fails on first use: retry once.
  for (int attempt = 0;; ++attempt) {
    CDP_RETURN_IF_ERROR(connection_->ensure_open());
    http::request<http::string_body> request{method, target, 11};
    request.set(http::field::host, connection_->host);
    request.set(http::field::user_agent, kUserAgent);
    if (!token.empty()) request.set(http::field::authorization, "Bearer " + std::string(token));
    if (!content_type.empty()) request.set(http::field::content_type, content_type);
    request.body() = body;
    request.prepare_payload();
    beast::error_code ec;
    http::write(connection_->stream, request, ec);
    Result<Response> response =
        ec ? Result<Response>(Status::unavailable("cannot send to the server: " + ec.message()))
           : connection_->read_response();
    if (response || attempt == 1) return response;
    connection_->open = false;
    connection_->stream.close();
  }
}

Result<Response> HttpClient::upload(
    const std::string& target, const std::string& path, std::string_view token,
    const std::function<void(uint64_t sent, uint64_t total)>& on_progress) {
  CDP_RETURN_IF_ERROR(connection_->ensure_open());
  http::request<http::file_body> request{http::verb::post, target, 11};
  beast::error_code ec;
  request.body().open(path.c_str(), beast::file_mode::scan, ec);
  if (ec) return Status::not_found("cannot open " + path + ": " + ec.message());
  request.set(http::field::host, connection_->host);
  request.set(http::field::user_agent, kUserAgent);
  request.set(http::field::content_type, "application/octet-stream");
  if (!token.empty()) request.set(http::field::authorization, "Bearer " + std::string(token));
  request.prepare_payload();
  const uint64_t total = request.body().size();
  http::request_serializer<http::file_body> serializer{request};
  // The header is sent first; every write after it is body.
  http::write_header(connection_->stream, serializer, ec);
  uint64_t sent = 0;
  while (!ec && !serializer.is_done()) {
    sent += http::write_some(connection_->stream, serializer, ec);
    if (on_progress) on_progress(std::min(sent, total), total);
  }
  if (ec) {
    // The server may have answered early (413, 401) and closed: its answer says why.
    auto answer = connection_->read_response();
    if (answer) return answer;
    return Status::unavailable("sending " + path + " failed: " + ec.message());
  }
  return connection_->read_response();
}

}  // namespace cdp::server

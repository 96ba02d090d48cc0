#include "server/http_server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <limits>
#include <optional>

#include "common/log.h"
#include "common/uuid.h"

namespace cdp::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

// One connection. Reads a request, hands it to the handler, writes the answer (possibly posted
// from another thread onto this session's strand), then reads the next if keep-alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, const HttpServer::Options& options,
          const HttpServer::Handler& handler)
      : stream_(std::move(socket)), options_(options), handler_(handler) {
    beast::error_code ec;
    auto endpoint = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      auto address = endpoint.address();
      if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
      }
      info_.client_ip = address.to_string();
    }
  }

  ~Session() {
    // An upload cut off by a stopping server.
    if (!body_file_.empty()) {
      std::error_code ignored;
      std::filesystem::remove(body_file_, ignored);
    }
  }

  void run() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

 private:
  void read() {
    parser_.emplace();
    // The limit is set once the header shows which one applies (uploads have their own): Beast
    // checks Content-Length against the limit in force while it reads the header. (Not
    // boost::none: Boost 1.74 then refuses every Content-Length.)
    parser_->body_limit(std::numeric_limits<uint64_t>::max());
    parser_->header_limit(16 * 1024);
    stream_.expires_after(options_.idle_timeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  // Beast reads at most max(512, free capacity) bytes per call, and a buffer that is consumed as
  // it is parsed never grows: a 100 KB batch would take 200 reads (and as many wake-ups of the
  // I/O threads). So the buffer grows for a large body, and shrinks again once it is read, so
  // that idle keep-alive connections stay small.
  void on_header(beast::error_code header_error) {
    if (header_error) return on_read(header_error);
    if (options_.file_body) {
      if (auto file_body = options_.file_body(parser_->get().base())) {
        if (file_body->refuse) {
          Response response = std::move(*file_body->refuse);
          response.keep_alive(false);
          drain_after_write_ = true;
          return write(std::move(response));
        }
        return read_file_body(*file_body);
      }
    }
    parser_->body_limit(options_.max_body_bytes);
    if (const auto length = parser_->content_length();
        length && *length > options_.max_body_bytes) {
      return on_read(http::error::body_limit);
    }
    if (const auto length = parser_->content_length(); length && *length > kSmallBuffer) {
      buffer_.reserve(std::min<uint64_t>(*length, kLargeBuffer));
    }
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  // Streams the body to a new file, one read at a time so that the idle timeout restarts with
  // each read (an upload may take longer than the timeout, a stalled one may not).
  void read_file_body(const HttpServer::FileBody& file_body) {
    file_parser_.emplace(std::move(*parser_));
    parser_.reset();
    file_parser_->body_limit(file_body.max_bytes);
    file_limit_ = file_body.max_bytes;
    if (const auto length = file_parser_->content_length();
        length && *length > file_body.max_bytes) {
      file_parser_.reset();
      return reject_upload();
    }
    body_file_ = file_body.dir + "/upload-" + new_uuid_v4();
    beast::error_code ec;
    file_parser_->get().body().open(body_file_.c_str(), beast::file_mode::write, ec);
    if (ec) {
      body_file_.clear();
      file_parser_.reset();
      log::error("upload_file_failed", {{"error", ec.message()}});
      auto response = json_error(http::status::insufficient_storage, 11, "storage_unavailable",
                                 "cannot store the upload: " + ec.message());
      response.keep_alive(false);
      drain_after_write_ = true;
      return write(std::move(response));
    }
    buffer_.reserve(kLargeBuffer);
    read_file_chunk();
  }

  void read_file_chunk() {
    stream_.expires_after(options_.idle_timeout);
    http::async_read_some(stream_, buffer_, *file_parser_,
                          [self = shared_from_this()](beast::error_code ec, size_t) {
                            if (!ec && !self->file_parser_->is_done()) {
                              return self->read_file_chunk();
                            }
                            self->on_file_read(ec);
                          });
  }

  void on_file_read(beast::error_code ec) {
    file_parser_->get().body().close();
    if (ec) {
      std::error_code ignored;
      std::filesystem::remove(body_file_, ignored);
      body_file_.clear();
      file_parser_.reset();
      if (ec == http::error::body_limit) return reject_upload();
      return close();
    }
    Request request(std::move(file_parser_->get().base()));
    file_parser_.reset();
    RequestInfo info = info_;
    info.body_file = std::move(body_file_);
    body_file_.clear();
    dispatch(std::move(request), info);
  }

  void reject_upload() {
    auto response = json_error(http::status::payload_too_large, 11, "body_too_large",
                               "the upload is larger than " + std::to_string(file_limit_ >> 20) +
                                   " MB ([import] max_file_mb)");
    response.keep_alive(false);
    drain_after_write_ = true;
    write(std::move(response));
  }

  void on_read(beast::error_code ec) {
    if (buffer_.capacity() > kSmallBuffer && buffer_.size() <= kSmallBuffer)
      buffer_.shrink_to_fit();
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      return close();
    }
    if (ec == http::error::body_limit) {
      auto response =
          json_error(http::status::payload_too_large, 11, "body_too_large",
                     "the request body is larger than " + std::to_string(options_.max_body_bytes) +
                         " bytes; send fewer events per request");
      response.keep_alive(false);
      drain_after_write_ = true;
      return write(std::move(response));
    }
    if (ec) {
      if (ec == http::error::partial_message) return close();
      auto response = json_error(http::status::bad_request, 11, "bad_http",
                                 "the HTTP request is malformed: " + ec.message());
      response.keep_alive(false);
      return write(std::move(response));
    }
    dispatch(parser_->release(), info_);
  }

  void dispatch(Request&& request, const RequestInfo& info) {
    const bool keep_alive = request.keep_alive();
    const unsigned version = request.version();
    auto self = shared_from_this();
    handler_(std::move(request), info, [self, keep_alive, version](Response response) {
      response.version(version);
      response.keep_alive(keep_alive && response.keep_alive());
      if (response.find(http::field::connection) == response.end() && !keep_alive) {
        response.keep_alive(false);
      }
      asio::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->write(std::move(response));
      });
    });
  }

  void write(Response response) {
    response_ = std::make_shared<Response>(std::move(response));
    stream_.expires_after(options_.idle_timeout);
    http::async_write(stream_, *response_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->close();
                        const bool keep_alive = self->response_->keep_alive();
                        self->response_.reset();
                        if (self->drain_after_write_) return self->drain();
                        if (!keep_alive) return self->close();
                        self->read();
                      });
  }

  // After refusing an oversize body, reads and discards what the client is still sending (up to
  // a cap, for a few seconds) before closing: clients that send the whole body before reading the
  // answer would otherwise see a broken pipe instead of the 413.
  void drain() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (drain_started_ == std::chrono::steady_clock::time_point{}) {
      drain_started_ = std::chrono::steady_clock::now();
    }
    if (drained_bytes_ > kMaxDrainBytes ||
        std::chrono::steady_clock::now() - drain_started_ > kMaxDrainTime) {
      return close();
    }
    stream_.expires_after(kMaxDrainTime);
    buffer_.consume(buffer_.size());
    stream_.async_read_some(
        buffer_.prepare(64 * 1024),
        [self = shared_from_this()](beast::error_code read_error, size_t bytes) {
          if (read_error) return self->close();
          self->drained_bytes_ += bytes;
          self->drain();
        });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::request_parser<http::file_body>> file_parser_;
  std::string body_file_;
  uint64_t file_limit_ = 0;
  std::shared_ptr<Response> response_;
  const HttpServer::Options& options_;
  const HttpServer::Handler& handler_;
  RequestInfo info_;
  bool drain_after_write_ = false;
  size_t drained_bytes_ = 0;
  std::chrono::steady_clock::time_point drain_started_{};
  static constexpr size_t kSmallBuffer = 4 * 1024;
  static constexpr size_t kLargeBuffer = 64 * 1024;
  static constexpr size_t kMaxDrainBytes = 64ULL << 20;
  static constexpr std::chrono::seconds kMaxDrainTime{5};
};

}  // namespace

Result<std::pair<std::string, unsigned short>> parse_listen_address(std::string_view address) {
  const auto colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Status::invalid_argument("listen address \"" + std::string(address) +
                                    "\" is not host:port (for example 127.0.0.1:8080)");
  }
  std::string host(address.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const auto port_text = address.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return Status::invalid_argument("listen address \"" + std::string(address) +
                                    "\" has an invalid port");
  }
  return std::pair<std::string, unsigned short>{host, static_cast<unsigned short>(port)};
}

HttpServer::HttpServer(Options options, Handler handler)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      io_(options_.threads),
      acceptor_(io_) {}

HttpServer::~HttpServer() { stop(); }

Status HttpServer::start() {
  beast::error_code ec;
  auto address = asio::ip::make_address(options_.host, ec);
  if (ec)
    return Status::invalid_argument("cannot listen on \"" + options_.host +
                                    "\": not an IP address");
  tcp::endpoint endpoint{address, options_.port};
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::unavailable("cannot listen on " + options_.host + ":" +
                               std::to_string(options_.port) + ": " + ec.message());
  }
  port_ = acceptor_.local_endpoint().port();
  accept();
  for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { io_.run(); });
  return Status::ok();
}

void HttpServer::accept() {
  acceptor_.async_accept(asio::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<Session>(std::move(socket), options_, handler_)->run();
    }
    accept();
  });
}

void HttpServer::stop() {
  if (threads_.empty()) return;
  asio::post(io_, [this] {
    beast::error_code ec;
    acceptor_.close(ec);
  });
  io_.stop();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
  // io_.stop() may win the race with the posted close; with no thread left, closing here is safe.
  beast::error_code ec;
  acceptor_.close(ec);
}

}  // namespace cdp::server

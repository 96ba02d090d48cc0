#include "server/http_server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <deque>
#include <filesystem>
#include <limits>
#include <mutex>
#include <optional>

#include "common/log.h"
#include "common/thread_name.h"
#include "common/thread_scheduling.h"
#include "common/uuid.h"

namespace cdp::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

class Session;

// The body of a streamed response (ResponseStream): pieces queue here, from any thread, and the
// session writes them one at a time on its strand. An empty piece marks the end.
class SessionStream : public ResponseStream {
 public:
  SessionStream(std::weak_ptr<Session> session, std::string head)
      : session_(std::move(session)), queued_bytes_(head.size()), writing_(true) {
    queue_.push_back(std::move(head));  // the session starts writing it
  }

  bool write(std::string bytes) override;
  void close() override { enqueue(std::string()); }
  bool closed() const override {
    std::lock_guard lock(mutex_);
    return gone_;
  }
  // On the strand: the next piece, or nullopt when the queue is empty (writing stops until the
  // next write()).
  std::optional<std::string> next();
  void gone() {
    std::lock_guard lock(mutex_);
    gone_ = true;
    queue_.clear();
  }

 private:
  bool enqueue(std::string bytes);

  // A client that reads slower than the stream is written is dropped past this much.
  static constexpr size_t kMaxQueuedBytes = 4 << 20;
  std::weak_ptr<Session> session_;
  mutable std::mutex mutex_;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool gone_ = false;
};

// One connection. Reads a request, hands it to the handler, writes the answer (possibly posted
// from another thread onto this session's strand), then reads the next if keep-alive. A handler
// may instead open a stream (RequestInfo::open_stream): the session then writes its pieces until
// it ends or the client goes, and closes.
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

  // On the strand, from SessionStream.
  void pump() {
    auto piece = body_stream_->next();
    if (!piece) return;
    if (piece->empty()) return end_stream();  // close()
    stream_piece_ = std::move(*piece);
    asio::async_write(stream_.socket(), asio::buffer(stream_piece_),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->end_stream();
                        self->pump();
                      });
  }
  void end_stream() {
    body_stream_->gone();
    close();
  }
  auto executor() { return stream_.get_executor(); }

 private:
  // On the strand: the head is queued in `body` already.
  void start_stream(std::shared_ptr<SessionStream> body) {
    body_stream_ = std::move(body);
    // A stream lasts as long as the client wants: no idle timeout. A client that goes away ends
    // the read below; one that stops reading fills the queue and is dropped.
    stream_.expires_never();
    watch_client();
    pump();
  }
  void watch_client() {
    stream_.socket().async_read_some(asio::buffer(watch_buffer_),
                                     [self = shared_from_this()](beast::error_code ec, size_t) {
                                       if (ec) return self->end_stream();
                                       self->watch_client();  // what it sends is ignored
                                     });
  }
  static std::string head_text(const Response& head) {
    std::string text =
        "HTTP/1.1 " + std::to_string(head.result_int()) + " " + std::string(head.reason()) + "\r\n";
    for (const auto& field : head) {
      if (field.name() == http::field::connection || field.name() == http::field::content_length ||
          field.name() == http::field::transfer_encoding) {
        continue;
      }
      text.append(field.name_string()).append(": ").append(field.value()).append("\r\n");
    }
    // The body ends when the connection does.
    return text + "Connection: close\r\n\r\n";
  }

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
    RequestInfo with_stream = info;
    // Streams answer GETs only: no allocation for it on the tracking API's POSTs.
    if (request.method() == http::verb::get) {
      with_stream.open_stream = [weak = std::weak_ptr<Session>(self)](Response head) {
        auto body = std::make_shared<SessionStream>(weak, head_text(head));
        if (auto session = weak.lock()) {
          asio::post(session->stream_.get_executor(),
                     [session, body] { session->start_stream(body); });
        } else {
          body->gone();
        }
        return std::shared_ptr<ResponseStream>(body);
      };
    }
    handler_(std::move(request), with_stream, [self, keep_alive, version](Response response) {
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
  std::shared_ptr<SessionStream> body_stream_;
  std::string stream_piece_;
  std::array<char, 256> watch_buffer_{};
  static constexpr size_t kSmallBuffer = 4 * 1024;
  static constexpr size_t kLargeBuffer = 64 * 1024;
  static constexpr size_t kMaxDrainBytes = 64ULL << 20;
  static constexpr std::chrono::seconds kMaxDrainTime{5};
};

bool SessionStream::write(std::string bytes) {
  if (bytes.empty()) return true;
  return enqueue(std::move(bytes));
}

bool SessionStream::enqueue(std::string bytes) {
  bool start = false;
  bool overflow = false;
  {
    std::lock_guard lock(mutex_);
    if (gone_) return false;
    if (queued_bytes_ + bytes.size() > kMaxQueuedBytes) {
      gone_ = true;
      queue_.clear();
      overflow = true;
    } else {
      queued_bytes_ += bytes.size();
      queue_.push_back(std::move(bytes));
      start = !writing_;
      writing_ = true;
    }
  }
  if (!start && !overflow) return true;
  auto session = session_.lock();
  if (!session) return false;
  asio::post(session->executor(), [session, overflow] {
    if (overflow) return session->end_stream();
    session->pump();
  });
  return !overflow;
}

std::optional<std::string> SessionStream::next() {
  std::lock_guard lock(mutex_);
  if (gone_ || queue_.empty()) {
    writing_ = false;
    return std::nullopt;
  }
  auto piece = std::move(queue_.front());
  queue_.pop_front();
  queued_bytes_ -= piece.size();
  return piece;
}

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
  for (int i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this, i] {
      set_thread_name("cdp-http-" + std::to_string(i));
      // A request's handler is short and waited on: the thread takes a core as soon as a request
      // wakes it instead of waiting out another thread's turn (on a busy machine, milliseconds of
      // a Profile API request's latency; bench/RESULTS.md 2026-11-29 15:00).
      (void)set_thread_time_slice(kShortTimeSlice);
      io_.run();
    });
  }
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

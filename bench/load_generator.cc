// cdp_load: an HTTP load generator for the tracking API, and a probe of the disk's fsync rate.
// See bench/README.md. Prints one JSON line with the results.

#include <CLI/CLI.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/base64.h"
#include "common/json_writer.h"
#include "common/thread_scheduling.h"
#include "ingest/gzip.h"
#include "ingest/internal/sample_event.h"

namespace cdp::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using SteadyTime = std::chrono::steady_clock::time_point;
using std::chrono::nanoseconds;

// kProfile: GET /v1/profiles/user_id:<a random user>. kVisibility: POST /v1/identify for a new
// user, then GET its profile every millisecond until it answers 200: ingest-to-visible latency.
enum class Endpoint { kBatch, kTrack, kNoop, kProfile, kVisibility };

struct Options {
  std::string url = "127.0.0.1:8080";
  std::string write_key;
  std::string endpoint = "batch";
  size_t batch_size = 100;
  size_t event_bytes = 1000;
  int connections = 16;
  int threads = 1;
  int time_slice_us = static_cast<int>(kShortTimeSlice.count());  // 0: the kernel's default
  double duration_s = 10;
  double warmup_s = 1;
  double rate = 0;  // events/s (requests/s for noop); 0: closed loop
  bool gzip = false;
  std::string fsync_dir;
  uint32_t users = 0;  // events carry one of this many users (user ids and anonymous ids); 0: one
  std::string token;   // read token for the Profile API endpoints
};

// The sample event's userId ends in 7 digits, and so does its anonymousId: --users patches both
// with the same user number.
constexpr std::string_view kSampleUserId = "user-0000042";
constexpr std::string_view kSampleAnonymousId = "a1b2c3d4e5f6";
constexpr size_t kUserDigits = 7;

void write_decimal(char* out, uint64_t value, size_t digits) {
  for (size_t i = digits; i > 0; --i) {
    out[i - 1] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
}

// messageIds are this wide: 8 hex digits of a per-run nonce, 4 of the connection, 12 of a counter.
constexpr size_t kMessageIdWidth = 24;
constexpr std::string_view kIdPlaceholder = "@@@@@@@@@@@@@@@@@@@@@@@@";
static_assert(kIdPlaceholder.size() == kMessageIdWidth);

void write_hex(char* out, uint64_t value, size_t digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = digits; i > 0; --i) {
    out[i - 1] = kDigits[value & 0xf];
    value >>= 4;
  }
}

// A request body with its messageId placeholders; patch() makes every id unique.
struct BodyTemplate {
  std::string body;
  std::vector<size_t> id_offsets;
  std::vector<size_t> user_offsets;  // where the 7 user digits are
};

BodyTemplate make_body(Endpoint endpoint, const Options& options) {
  BodyTemplate result;
  if (endpoint != Endpoint::kBatch && endpoint != Endpoint::kTrack) return result;
  if (endpoint == Endpoint::kTrack) {
    result.body =
        cdp::ingest::make_sample_track_event(options.event_bytes, false, kIdPlaceholder, 0);
  } else {
    result.body = "{\"batch\":[";
    for (size_t i = 0; i < options.batch_size; ++i) {
      if (i > 0) result.body.push_back(',');
      result.body += cdp::ingest::make_sample_track_event(options.event_bytes, true, kIdPlaceholder,
                                                          static_cast<uint32_t>(i));
    }
    result.body += "],\"sentAt\":\"2024-05-01T12:00:01.000Z\"}";
  }
  for (size_t at = result.body.find(kIdPlaceholder); at != std::string::npos;
       at = result.body.find(kIdPlaceholder, at + kMessageIdWidth)) {
    result.id_offsets.push_back(at);
  }
  if (options.users > 0) {
    for (auto sample : {kSampleUserId, kSampleAnonymousId}) {
      for (size_t at = result.body.find(sample); at != std::string::npos;
           at = result.body.find(sample, at + 1)) {
        result.user_offsets.push_back(at + sample.size() - kUserDigits);
      }
    }
    // Each event's userId comes before its anonymousId: sorted, they pair up.
    std::sort(result.user_offsets.begin(), result.user_offsets.end());
  }
  return result;
}

struct Target {
  tcp::endpoint endpoint;
  std::string host_header;
};

// Everything one I/O thread measures; only that thread touches it until it is joined.
struct ThreadStats {
  std::vector<uint32_t> latencies_us;  // of requests scheduled inside the measured window
  uint64_t requests = 0;               // 2xx answers received inside the measured window
  uint64_t events = 0;
  uint64_t bytes_sent = 0;
  std::map<std::string, uint64_t> errors;  // by HTTP status, or "io" / "connect"
};

// The shared clock of a run: when measuring starts and ends, and when to stop sending.
struct RunClock {
  SteadyTime start;
  SteadyTime measure_from;
  SteadyTime measure_until;
  std::atomic<bool> stopping{false};
};

// Open-loop schedule of one thread: request k of this thread is due at first + k * interval.
struct Schedule {
  SteadyTime first;
  nanoseconds interval{0};
  uint64_t next = 0;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(asio::io_context& io, const Options& options, Endpoint endpoint, const Target& target,
             const BodyTemplate& body, uint32_t nonce, uint32_t id, RunClock& clock,
             Schedule* schedule, ThreadStats& stats)
      : socket_(io),
        timer_(io),
        options_(options),
        endpoint_(endpoint),
        target_(target),
        body_(body.body),
        id_offsets_(body.id_offsets),
        user_offsets_(body.user_offsets),
        // Seeded by the run's nonce too: separate cdp_load processes (one ingesting, one reading
        // profiles) must not walk the same sequence of users.
        users_((nonce + id) % 2147483646U + 1),
        clock_(clock),
        schedule_(schedule),
        stats_(stats) {
    write_hex(id_prefix_, nonce, 8);
    write_hex(id_prefix_ + 8, id, 4);
    events_per_request_ = id_offsets_.size();
    if (!options.gzip) build_request();  // the body's length never changes: build the head once
  }

  void start() { connect(); }

 private:
  void build_request() {
    request_.clear();
    std::string_view body = body_;
    std::string compressed;
    if (options_.gzip && endpoint_ != Endpoint::kNoop) {
      compressed = ingest::gzip_compress(body_);
      body = compressed;
    }
    if (endpoint_ == Endpoint::kNoop) {
      request_ = "GET /healthz HTTP/1.1\r\nHost: " + target_.host_header + "\r\n\r\n";
      return;
    }
    if (endpoint_ == Endpoint::kProfile) {
      char user[kUserDigits];
      write_decimal(user, users_() % std::max<uint32_t>(options_.users, 1), kUserDigits);
      request_ = profile_request("user-" + std::string(user, kUserDigits));
      return;
    }
    if (endpoint_ == Endpoint::kVisibility) {
      probe_user_ = "probe-" + std::string(id_prefix_, 12) + "-" + std::to_string(counter_++);
      const std::string identify =
          "{\"userId\":\"" + probe_user_ + "\",\"traits\":{\"probe\":true}}";
      request_ = "POST /v1/identify HTTP/1.1\r\nHost: " + target_.host_header +
                 "\r\nAuthorization: Basic " + base64_encode(options_.write_key + ":") +
                 "\r\nContent-Type: application/json\r\nContent-Length: " +
                 std::to_string(identify.size()) + "\r\n\r\n" + identify;
      return;
    }
    request_ = endpoint_ == Endpoint::kBatch ? "POST /v1/batch HTTP/1.1\r\n"
                                             : "POST /v1/track HTTP/1.1\r\n";
    request_ += "Host: " + target_.host_header + "\r\nAuthorization: Basic " +
                base64_encode(options_.write_key + ":") + "\r\nContent-Type: application/json\r\n";
    if (options_.gzip) request_ += "Content-Encoding: gzip\r\n";
    request_ += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    body_offset_ = request_.size();
    request_.append(body);
  }

  std::string profile_request(const std::string& user) const {
    return "GET /v1/profiles/user_id:" + user + " HTTP/1.1\r\nHost: " + target_.host_header +
           "\r\nAuthorization: Bearer " + options_.token + "\r\n\r\n";
  }

  // Gives every event of the next request a messageId never sent before (and, with --users, a
  // random user); builds the next Profile API request.
  void patch_ids() {
    if (endpoint_ == Endpoint::kProfile || endpoint_ == Endpoint::kVisibility) {
      return build_request();
    }
    if (id_offsets_.empty()) return;
    char* base = options_.gzip ? body_.data() : request_.data() + body_offset_;
    for (size_t offset : id_offsets_) {
      char* id = base + offset;
      std::memcpy(id, id_prefix_, 12);
      write_hex(id + 12, counter_++, 12);
    }
    // One user per event: its userId and anonymousId digits follow each other in the body.
    for (size_t i = 0; i < user_offsets_.size(); i += 2) {
      const uint64_t user = users_() % options_.users;
      write_decimal(base + user_offsets_[i], user, kUserDigits);
      if (i + 1 < user_offsets_.size())
        write_decimal(base + user_offsets_[i + 1], user, kUserDigits);
    }
    if (options_.gzip) build_request();
  }

  void connect() {
    socket_.async_connect(target_.endpoint, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->fail("connect");
      self->socket_.set_option(tcp::no_delay(true), ec);
      self->next();
    });
  }

  void next() {
    if (clock_.stopping.load(std::memory_order_relaxed)) return close();
    if (schedule_ == nullptr) return send(std::chrono::steady_clock::now());
    const SteadyTime due =
        schedule_->first + schedule_->interval * static_cast<int64_t>(schedule_->next++);
    if (due >= clock_.measure_until) return close();
    if (due <= std::chrono::steady_clock::now()) return send(due);
    timer_.expires_at(due);
    timer_.async_wait([self = shared_from_this(), due](beast::error_code ec) {
      if (ec) return self->close();
      self->send(due);
    });
  }

  // `due`: when the request was meant to go out; latency counts from then, so a server that
  // falls behind is charged for the queueing it causes (no coordinated omission).
  void send(SteadyTime due) {
    due_ = due;
    patch_ids();
    asio::async_write(socket_, asio::buffer(request_),
                      [self = shared_from_this()](beast::error_code ec, size_t bytes) {
                        if (ec) return self->fail("io");
                        self->stats_.bytes_sent += bytes;
                        self->receive();
                      });
  }

  void receive() {
    parser_.emplace();
    parser_->body_limit(1 << 20);
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->fail("io");
                       self->on_response();
                     });
  }

  // Visibility probe: the identify was acknowledged; ask for the profile until it is there.
  void poll_profile() {
    polling_ = true;
    request_ = profile_request(probe_user_);
    asio::async_write(socket_, asio::buffer(request_),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->fail("io");
                        self->receive();
                      });
  }

  void on_response() {
    const auto now = std::chrono::steady_clock::now();
    const auto& response = parser_->get();
    const unsigned status = response.result_int();
    if (endpoint_ == Endpoint::kVisibility && status == 200 && !polling_) return poll_profile();
    if (polling_ && status == 404) {
      timer_.expires_after(std::chrono::milliseconds(1));
      timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (!ec) self->poll_profile();
      });
      return;
    }
    polling_ = false;
    const bool measured = due_ >= clock_.measure_from && due_ < clock_.measure_until;
    if (status / 100 == 2) {
      if (now >= clock_.measure_from && now <= clock_.measure_until) {
        ++stats_.requests;
        stats_.events += events_per_request_;
      }
      if (measured) {
        const auto micros =
            std::chrono::duration_cast<std::chrono::microseconds>(now - due_).count();
        stats_.latencies_us.push_back(static_cast<uint32_t>(std::min<int64_t>(micros, UINT32_MAX)));
      }
    } else if (now >= clock_.measure_from) {
      ++stats_.errors[std::to_string(status)];
    }
    if (!response.keep_alive()) {
      beast::error_code ignored;
      socket_.close(ignored);
      return connect();
    }
    next();
  }

  void fail(const char* what) {
    if (clock_.stopping.load(std::memory_order_relaxed)) return close();
    ++stats_.errors[what];
    beast::error_code ignored;
    socket_.close(ignored);
    // Back off a little: a refused connection must not turn into a busy loop.
    timer_.expires_after(std::chrono::milliseconds(100));
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->connect();
    });
  }

  void close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  const Options& options_;
  const Endpoint endpoint_;
  const Target& target_;
  std::string body_;  // the uncompressed body; patched in place when gzipping
  const std::vector<size_t>& id_offsets_;
  const std::vector<size_t>& user_offsets_;
  std::minstd_rand users_;  // picks the user of each event or profile request
  std::string probe_user_;  // visibility: the user of the probe in flight
  bool polling_ = false;    // visibility: waiting for the probe's profile
  std::string request_;     // head + body as sent
  size_t body_offset_ = 0;
  size_t events_per_request_ = 0;
  char id_prefix_[12];
  uint64_t counter_ = 0;
  RunClock& clock_;
  Schedule* schedule_;
  ThreadStats& stats_;
  SteadyTime due_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
};

double percentile_ms(const std::vector<uint32_t>& sorted, double quantile) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<size_t>(std::ceil(quantile * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1] / 1000.0;
}

Target resolve(const std::string& url) {
  std::string address = url;
  if (address.starts_with("http://")) address = address.substr(7);
  while (!address.empty() && address.back() == '/') address.pop_back();
  const auto colon = address.rfind(':');
  if (colon == std::string::npos)
    throw std::runtime_error("--url must be host:port, got \"" + url + "\"");
  std::string host = address.substr(0, colon);
  const std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  asio::io_context io;
  tcp::resolver resolver(io);
  auto results = resolver.resolve(host, port);
  if (results.empty()) throw std::runtime_error("cannot resolve \"" + host + "\"");
  return Target{results.begin()->endpoint(), address};
}

int run_load(const Options& options) {
  Endpoint endpoint = Endpoint::kBatch;
  if (options.endpoint == "track") endpoint = Endpoint::kTrack;
  if (options.endpoint == "noop") endpoint = Endpoint::kNoop;
  if (options.endpoint == "profile") endpoint = Endpoint::kProfile;
  if (options.endpoint == "visibility") endpoint = Endpoint::kVisibility;
  if (endpoint != Endpoint::kNoop && endpoint != Endpoint::kProfile && options.write_key.empty()) {
    std::cerr << "cdp_load: --write-key is required for the " << options.endpoint << " endpoint\n";
    return 2;
  }
  if ((endpoint == Endpoint::kProfile || endpoint == Endpoint::kVisibility) &&
      options.token.empty()) {
    std::cerr << "cdp_load: --token (a read token) is required for the " << options.endpoint
              << " endpoint\n";
    return 2;
  }
  const Target target = resolve(options.url);
  const BodyTemplate body = make_body(endpoint, options);
  const size_t events_per_request = endpoint == Endpoint::kBatch ? options.batch_size : 1;
  // Profile requests and probes are scheduled per request, like noop.

  std::random_device random;
  const uint32_t nonce = random();

  const int threads = std::max(1, options.threads);
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::vector<ThreadStats> stats(threads);
  std::vector<Schedule> schedules(threads);
  RunClock clock;
  clock.start = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
  clock.measure_from = clock.start + std::chrono::duration_cast<nanoseconds>(
                                         std::chrono::duration<double>(options.warmup_s));
  clock.measure_until = clock.measure_from + std::chrono::duration_cast<nanoseconds>(
                                                 std::chrono::duration<double>(options.duration_s));
  const bool open_loop = options.rate > 0;
  if (open_loop) {
    // Each thread sends every threads-th request of one global, evenly spaced schedule.
    const double requests_per_s = endpoint == Endpoint::kBatch
                                      ? options.rate / static_cast<double>(events_per_request)
                                      : options.rate;
    const auto global = std::chrono::duration_cast<nanoseconds>(
        std::chrono::duration<double>(1.0 / requests_per_s));
    for (int t = 0; t < threads; ++t) {
      schedules[t].interval = global * threads;
      schedules[t].first = clock.start + global * t;
    }
  }
  for (int t = 0; t < threads; ++t) ios.push_back(std::make_unique<asio::io_context>(1));
  for (int c = 0; c < options.connections; ++c) {
    const int t = c % threads;
    std::make_shared<Connection>(*ios[t], options, endpoint, target, body, nonce,
                                 static_cast<uint32_t>(c), clock,
                                 open_loop ? &schedules[t] : nullptr, stats[t])
        ->start();
  }
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&io = *ios[t], slice = options.time_slice_us] {
      // Latency counts from each request's scheduled time, so the generator's own wait for a
      // core on a machine it shares with the server counts too: it asks for short turns, which
      // let it take a core as soon as its timer or an answer wakes it.
      if (slice > 0) (void)set_thread_time_slice(std::chrono::microseconds(slice));
      io.run();
    });
  }

  std::this_thread::sleep_until(clock.measure_until);
  clock.stopping.store(true);
  // Requests still in flight get a grace period to answer (their latency counts if they do).
  std::this_thread::sleep_for(std::chrono::seconds(2));
  for (auto& io : ios) io->stop();
  for (auto& worker : workers) worker.join();

  ThreadStats total;
  for (auto& part : stats) {
    total.requests += part.requests;
    total.events += part.events;
    total.bytes_sent += part.bytes_sent;
    total.latencies_us.insert(total.latencies_us.end(), part.latencies_us.begin(),
                              part.latencies_us.end());
    for (const auto& [what, count] : part.errors) total.errors[what] += count;
  }
  std::sort(total.latencies_us.begin(), total.latencies_us.end());
  const double seconds = options.duration_s;
  // The generator's own CPU, whole run (warmup and grace included): on a shared machine it is
  // CPU the server did not get.
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  const double cpu_s = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                       static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;

  JsonWriter out;
  out.begin_object();
  out.key("endpoint").string(options.endpoint);
  out.key("mode").string(open_loop ? "open" : "closed");
  out.key("target_rate").number(options.rate);
  out.key("connections").number(int64_t{options.connections});
  out.key("threads").number(int64_t{threads});
  out.key("batch_size")
      .number(static_cast<int64_t>(endpoint == Endpoint::kBatch ? options.batch_size : 1));
  out.key("event_bytes").number(static_cast<int64_t>(options.event_bytes));
  out.key("request_body_bytes").number(static_cast<int64_t>(body.body.size()));
  out.key("gzip").boolean(options.gzip);
  out.key("duration_s").number(seconds);
  out.key("requests").number(static_cast<int64_t>(total.requests));
  out.key("events").number(static_cast<int64_t>(total.events));
  out.key("requests_per_s").number(static_cast<double>(total.requests) / seconds);
  out.key("events_per_s").number(static_cast<double>(total.events) / seconds);
  out.key("sent_mb_per_s").number(static_cast<double>(total.bytes_sent) / seconds / 1e6);
  out.key("generator_cpu_s").number(cpu_s);
  out.key("errors").begin_object();
  for (const auto& [what, count] : total.errors) out.key(what).number(static_cast<int64_t>(count));
  out.end_object();
  out.key("latency_samples").number(static_cast<int64_t>(total.latencies_us.size()));
  out.key("latency_ms").begin_object();
  out.key("p50").number(percentile_ms(total.latencies_us, 0.50));
  out.key("p90").number(percentile_ms(total.latencies_us, 0.90));
  out.key("p95").number(percentile_ms(total.latencies_us, 0.95));
  out.key("p99").number(percentile_ms(total.latencies_us, 0.99));
  out.key("p999").number(percentile_ms(total.latencies_us, 0.999));
  out.key("max").number(total.latencies_us.empty() ? 0.0 : total.latencies_us.back() / 1000.0);
  out.end_object();
  out.end_object();
  std::cout << out.take() << std::endl;
  return 0;
}

// Appends 4 KB and fdatasyncs, as a write-ahead log does, for `duration_s` seconds in `dir`;
// then appends 1 MB blocks with fdatasync for as long again, for the sequential write bandwidth.
int run_fsync_ceiling(const Options& options) {
  std::string path = options.fsync_dir + "/cdp-fsync-probe.XXXXXX";
  const int fd = mkstemp(path.data());
  if (fd < 0) {
    std::cerr << "cdp_load: cannot create a file in \"" << options.fsync_dir
              << "\": " << std::strerror(errno) << "\n";
    return 2;
  }
  std::vector<char> block(4096, 'x');
  std::vector<uint32_t> latencies_us;
  const auto start = std::chrono::steady_clock::now();
  const auto until = start + std::chrono::duration_cast<nanoseconds>(
                                 std::chrono::duration<double>(options.duration_s));
  uint64_t count = 0;
  auto now = start;
  while (now < until) {
    if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) ||
        ::fdatasync(fd) != 0) {
      std::cerr << "cdp_load: write/fdatasync failed: " << std::strerror(errno) << "\n";
      ::close(fd);
      ::unlink(path.c_str());
      return 1;
    }
    const auto done = std::chrono::steady_clock::now();
    latencies_us.push_back(static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(done - now).count()));
    now = done;
    ++count;
  }
  const double seconds = std::chrono::duration<double>(now - start).count();

  // The other ceiling of a write-ahead log: sequential bandwidth, 1 MB appends + fdatasync.
  std::vector<char> chunk(1 << 20, 'y');
  const auto bandwidth_start = std::chrono::steady_clock::now();
  const auto bandwidth_until =
      bandwidth_start +
      std::chrono::duration_cast<nanoseconds>(std::chrono::duration<double>(options.duration_s));
  uint64_t bandwidth_bytes = 0;
  auto bandwidth_now = bandwidth_start;
  while (bandwidth_now < bandwidth_until) {
    if (::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size()) ||
        ::fdatasync(fd) != 0) {
      std::cerr << "cdp_load: write/fdatasync failed: " << std::strerror(errno) << "\n";
      break;
    }
    bandwidth_bytes += chunk.size();
    bandwidth_now = std::chrono::steady_clock::now();
  }
  ::close(fd);
  ::unlink(path.c_str());
  const double bandwidth_seconds =
      std::chrono::duration<double>(bandwidth_now - bandwidth_start).count();
  std::sort(latencies_us.begin(), latencies_us.end());
  JsonWriter out;
  out.begin_object();
  out.key("mode").string("fsync_ceiling");
  out.key("dir").string(options.fsync_dir);
  out.key("duration_s").number(seconds);
  out.key("fsyncs").number(static_cast<int64_t>(count));
  out.key("fsyncs_per_s").number(static_cast<double>(count) / seconds);
  out.key("write_mb_per_s").number(static_cast<double>(bandwidth_bytes) / 1e6 / bandwidth_seconds);
  out.key("latency_ms").begin_object();
  out.key("p50").number(percentile_ms(latencies_us, 0.50));
  out.key("p99").number(percentile_ms(latencies_us, 0.99));
  out.key("max").number(latencies_us.empty() ? 0.0 : latencies_us.back() / 1000.0);
  out.end_object();
  out.end_object();
  std::cout << out.take() << std::endl;
  return 0;
}

}  // namespace
}  // namespace cdp::bench

int main(int argc, char** argv) {
  cdp::bench::Options options;
  CLI::App cli{"cdp_load: load generator for the cdp tracking API (prints one JSON line)"};
  cli.add_option("--url", options.url, "Server as host:port")->capture_default_str();
  cli.add_option("--write-key", options.write_key, "Write key of the source to send to");
  cli.add_option("--endpoint", options.endpoint,
                 "batch (POST /v1/batch), track (POST /v1/track), noop (GET /healthz), profile "
                 "(GET /v1/profiles/user_id:<random user>), visibility (identify a new user, then "
                 "GET its profile every ms until found: ingest-to-visible latency)")
      ->check(CLI::IsMember({"batch", "track", "noop", "profile", "visibility"}))
      ->capture_default_str();
  cli.add_option("--batch-size", options.batch_size, "Events per batch request")
      ->capture_default_str();
  cli.add_option("--event-bytes", options.event_bytes, "Approximate size of one event's JSON")
      ->capture_default_str();
  cli.add_option("--connections", options.connections, "Keep-alive connections")
      ->capture_default_str();
  cli.add_option("--threads", options.threads, "I/O threads of the generator")
      ->capture_default_str();
  cli.add_option("--time-slice-us", options.time_slice_us,
                 "Time slice the generator's threads ask the kernel for (Linux 6.12+), so that "
                 "they run as soon as they wake; 0: the kernel's default")
      ->capture_default_str();
  cli.add_option("--duration", options.duration_s, "Measured seconds")->capture_default_str();
  cli.add_option("--warmup", options.warmup_s, "Seconds of load before measuring")
      ->capture_default_str();
  cli.add_option(
         "--rate", options.rate,
         "Open loop at this many events/s (requests/s for noop), latency from each request's "
         "scheduled time; 0: closed loop, as fast as the server answers")
      ->capture_default_str();
  cli.add_option("--users", options.users,
                 "Events carry one of this many users (userId and anonymousId); profile requests "
                 "ask for one of them. 0: every event has the same user")
      ->capture_default_str();
  cli.add_option("--token", options.token, "Read token, for the profile and visibility endpoints");
  cli.add_flag("--gzip", options.gzip, "Send bodies gzip-compressed (compressed per request)");
  cli.add_option(
      "--fsync-ceiling", options.fsync_dir,
      "Instead of HTTP load: append 4 KB + fdatasync in a loop in this directory for --duration "
      "seconds and report fsyncs/s, then 1 MB + fdatasync for as long, for MB/s");
  CLI11_PARSE(cli, argc, argv);
  if (options.batch_size == 0 || options.connections <= 0 || options.duration_s <= 0) {
    std::cerr << "cdp_load: --batch-size, --connections and --duration must be positive\n";
    return 2;
  }
  try {
    if (!options.fsync_dir.empty()) return cdp::bench::run_fsync_ceiling(options);
    return cdp::bench::run_load(options);
  } catch (const std::exception& error) {
    std::cerr << "cdp_load: " << error.what() << "\n";
    return 1;
  }
}

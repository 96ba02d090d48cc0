#include "server/http_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "server/internal/test_http_client.h"

namespace cdp::server {
namespace {

using internal::TestHttpClient;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

// Answers with the request echoed: "<METHOD> <target> <body>", and the client's address.
Response echo(const Request& request, const RequestInfo& info) {
  Response response{http::status::ok, request.version()};
  response.set(http::field::content_type, "text/plain");
  response.set("X-Client-Ip", info.client_ip);
  response.body() = std::string(request.method_string()) + " " + std::string(request.target()) +
                    " " + request.body();
  response.prepare_payload();
  return response;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    {
      std::lock_guard lock(workers_mutex_);
      for (auto& worker : workers_) worker.join();
      workers_.clear();
    }
    if (server_) server_->stop();
  }

  void start(HttpServer::Handler handler, HttpServer::Options options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<HttpServer>(options, std::move(handler));
    ASSERT_TRUE(server_->start().is_ok());
    ASSERT_NE(server_->port(), 0);
    client_ = std::make_unique<TestHttpClient>(server_->port());
  }

  void start_echo(size_t max_body_bytes = 1024) {
    HttpServer::Options options;
    options.max_body_bytes = max_body_bytes;
    start([](Request&& request, const RequestInfo& info,
             Responder respond) { respond(echo(request, info)); },
          options);
  }

  // Runs `work` on a thread of its own, joined at teardown (a handler answering later).
  void spawn(std::function<void()> work) {
    std::lock_guard lock(workers_mutex_);
    workers_.emplace_back(std::move(work));
  }

  static TestHttpClient::Response must(Result<TestHttpClient::Response> response) {
    if (!response) {
      ADD_FAILURE() << response.status().to_string();
      return TestHttpClient::Response{http::status::network_connect_timeout_error, 11};
    }
    return std::move(*response);
  }

  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<TestHttpClient> client_;
  std::mutex workers_mutex_;
  std::vector<std::thread> workers_;
};

TEST_F(HttpServerTest, AnswersARequestWithTheClientsAddress) {
  start_echo();
  auto response = must(client_->post("/hello?x=1", "body text"));
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response.body(), "POST /hello?x=1 body text");
  EXPECT_EQ(response["X-Client-Ip"], "127.0.0.1");
  EXPECT_EQ(response.version(), 11u);
  EXPECT_TRUE(response.keep_alive());
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start_echo();
  for (int i = 0; i < 5; ++i) {
    auto response = must(client_->get("/request/" + std::to_string(i)));
    EXPECT_EQ(response.result(), http::status::ok);
    EXPECT_EQ(response.body(), "GET /request/" + std::to_string(i) + " ");
  }
  EXPECT_EQ(client_->connections(), 1);
}

TEST_F(HttpServerTest, HandlerMayAnswerLaterFromAnotherThread) {
  start([this](Request&& request, const RequestInfo& info, Responder respond) {
    spawn([request = std::move(request), info, respond = std::move(respond)] {
      std::this_thread::sleep_for(50ms);
      respond(echo(request, info));
    });
  });
  for (int i = 0; i < 3; ++i) {
    auto response = must(client_->post("/later", std::to_string(i)));
    EXPECT_EQ(response.result(), http::status::ok);
    EXPECT_EQ(response.body(), "POST /later " + std::to_string(i));
  }
  EXPECT_EQ(client_->connections(), 1);
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  // The first request is answered late from another thread, the second at once.
  start([this](Request&& request, const RequestInfo& info, Responder respond) {
    if (request.target() == "/slow") {
      spawn([request = std::move(request), info, respond = std::move(respond)] {
        std::this_thread::sleep_for(100ms);
        respond(echo(request, info));
      });
      return;
    }
    respond(echo(request, info));
  });
  ASSERT_TRUE(client_
                  ->send_raw("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
                             "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"
                             "POST /third HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
                  .is_ok());
  EXPECT_EQ(must(client_->read_response()).body(), "GET /slow ");
  EXPECT_EQ(must(client_->read_response()).body(), "GET /fast ");
  EXPECT_EQ(must(client_->read_response()).body(), "POST /third abc");
}

TEST_F(HttpServerTest, BodyAtTheLimitIsAccepted) {
  start_echo(1024);
  auto response = must(client_->post("/upload", std::string(1024, 'b')));
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response.body().size(), std::string("POST /upload ").size() + 1024);
}

TEST_F(HttpServerTest, LargeBodiesAndThePipelinedRequestsAfterThemArriveIntact) {
  // Large bodies are read through a buffer grown for them and shrunk afterwards; whatever the
  // client sent beyond the first body must survive both.
  start_echo(1 << 20);
  std::string first(300 * 1024, 'x');
  for (size_t i = 0; i < first.size(); i += 1000) first[i] = static_cast<char>('a' + i % 26);
  const std::string second(70 * 1024, 'y');
  ASSERT_TRUE(client_
                  ->send_raw("POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                             std::to_string(first.size()) + "\r\n\r\n" + first +
                             "POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                             std::to_string(second.size()) + "\r\n\r\n" + second +
                             "POST /three HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
                  .is_ok());
  EXPECT_EQ(must(client_->read_response()).body(), "POST /one " + first);
  EXPECT_EQ(must(client_->read_response()).body(), "POST /two " + second);
  EXPECT_EQ(must(client_->read_response()).body(), "POST /three abc");
}

TEST_F(HttpServerTest, BodyOverTheLimitIsRefusedWith413BeforeItArrives) {
  start_echo(1024);
  // Only the header is sent: the server must answer from the Content-Length alone.
  ASSERT_TRUE(
      client_->send_raw("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
          .is_ok());
  auto response = must(client_->read_response());
  EXPECT_EQ(response.result(), http::status::payload_too_large);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  EXPECT_THAT(response.body(), HasSubstr(R"("code":"body_too_large")"));
  EXPECT_THAT(response.body(), HasSubstr("1024"));
  EXPECT_FALSE(response.keep_alive());
  EXPECT_TRUE(client_->server_closed());
}

TEST_F(HttpServerTest, BodyOverTheLimitSentInFullStillGets413) {
  // Most clients write the whole body before reading: they must see the 413, not a broken pipe.
  start_echo(1024);
  auto response = must(client_->post("/upload", std::string(4 << 20, 'b')));
  EXPECT_EQ(response.result(), http::status::payload_too_large);
  EXPECT_THAT(response.body(), HasSubstr(R"("code":"body_too_large")"));
}

TEST_F(HttpServerTest, ChunkedBodyOverTheLimitIsRefusedWith413) {
  start_echo(1024);
  const std::string chunk(800, 'c');
  ASSERT_TRUE(
      client_
          ->send_raw("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "320\r\n" +
                     chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n")
          .is_ok());
  auto response = must(client_->read_response());
  EXPECT_EQ(response.result(), http::status::payload_too_large);
}

TEST_F(HttpServerTest, MalformedRequestIsAnswered400AndClosed) {
  start_echo();
  ASSERT_TRUE(client_->send_raw("THIS IS NOT HTTP\r\n\r\n").is_ok());
  auto response = must(client_->read_response());
  EXPECT_EQ(response.result(), http::status::bad_request);
  EXPECT_THAT(response.body(), HasSubstr(R"("code":"bad_http")"));
  EXPECT_FALSE(response.keep_alive());
  EXPECT_TRUE(client_->server_closed());
}

TEST_F(HttpServerTest, ConnectionCloseIsHonoured) {
  start_echo();
  auto response = must(client_->get("/bye", {{"Connection", "close"}}));
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_FALSE(response.keep_alive());
  EXPECT_TRUE(client_->server_closed());
  // The client reconnects for the next request.
  EXPECT_EQ(must(client_->get("/again")).result(), http::status::ok);
  EXPECT_EQ(client_->connections(), 2);
}

TEST_F(HttpServerTest, Http10RequestIsAnsweredAndClosed) {
  start_echo();
  ASSERT_TRUE(client_->send_raw("GET /old HTTP/1.0\r\n\r\n").is_ok());
  auto response = must(client_->read_response());
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response.version(), 10u);
  EXPECT_EQ(response.body(), "GET /old ");
  EXPECT_TRUE(client_->server_closed());
}

TEST_F(HttpServerTest, IdleConnectionsAreClosedAfterTheTimeout) {
  HttpServer::Options options;
  options.idle_timeout = 1s;
  start([](Request&& request, const RequestInfo& info,
           Responder respond) { respond(echo(request, info)); },
        options);
  EXPECT_EQ(must(client_->get("/")).result(), http::status::ok);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(client_->server_closed());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

TEST_F(HttpServerTest, ManyClientsAtOnceAreAllServed) {
  start_echo();
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&, c] {
      TestHttpClient client(server_->port());
      for (int i = 0; i < 20; ++i) {
        auto response = client.post("/c" + std::to_string(c), std::to_string(i));
        if (response && response->body() == "POST /c" + std::to_string(c) + " " + std::to_string(i))
          ++ok;
      }
    });
  }
  for (auto& client : clients) client.join();
  EXPECT_EQ(ok.load(), 8 * 20);
}

TEST_F(HttpServerTest, StopClosesTheListener) {
  start_echo();
  EXPECT_EQ(must(client_->get("/")).result(), http::status::ok);
  const unsigned short port = server_->port();
  server_->stop();
  server_->stop();  // idempotent
  TestHttpClient late(port, 5s);
  auto refused = late.get("/");
  ASSERT_FALSE(refused.has_value());
  EXPECT_THAT(refused.status().message(), HasSubstr("cannot connect"))
      << "nothing listens any more";
}

TEST_F(HttpServerTest, StartFailsWhenThePortIsTaken) {
  start_echo();
  HttpServer::Options options;
  options.port = server_->port();
  HttpServer second(options, [](Request&&, const RequestInfo&, Responder) {});
  Status status = second.start();
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr(std::to_string(server_->port())));
}

TEST_F(HttpServerTest, StartFailsOnAHostThatIsNotAnAddress) {
  HttpServer::Options options;
  options.host = "localhost.invalid";
  options.port = 0;
  HttpServer server(options, [](Request&&, const RequestInfo&, Responder) {});
  Status status = server.start();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("localhost.invalid"));
}

TEST(ParseListenAddressTest, AcceptsHostAndPort) {
  auto v4 = parse_listen_address("0.0.0.0:8080");
  ASSERT_TRUE(v4.has_value());
  EXPECT_EQ(v4->first, "0.0.0.0");
  EXPECT_EQ(v4->second, 8080);
  auto v6 = parse_listen_address("[::1]:9000");
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v6->first, "::1");
  EXPECT_EQ(v6->second, 9000);
  auto any_port = parse_listen_address("127.0.0.1:0");
  ASSERT_TRUE(any_port.has_value());
  EXPECT_EQ(any_port->second, 0);
  auto highest = parse_listen_address("127.0.0.1:65535");
  ASSERT_TRUE(highest.has_value());
  EXPECT_EQ(highest->second, 65535);
}

TEST(ParseListenAddressTest, RejectsWhatIsNotHostAndPort) {
  for (const char* address : {"", "8080", ":8080", "127.0.0.1", "127.0.0.1:", "127.0.0.1:http",
                              "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:80x"}) {
    auto parsed = parse_listen_address(address);
    ASSERT_FALSE(parsed.has_value()) << address;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << address;
  }
}

// A streamed answer (server-sent events): the head as given, no length, the pieces in order, and
// the connection closed at the end.
TEST_F(HttpServerTest, StreamsAnAnswerPieceByPieceUntilItIsClosed) {
  start([this](Request&&, const RequestInfo& info, Responder) {
    Response head{http::status::ok, 11};
    head.set(http::field::content_type, "text/event-stream");
    auto stream = info.open_stream(std::move(head));
    spawn([stream] {
      EXPECT_TRUE(stream->write("data: one\n\n"));
      std::this_thread::sleep_for(20ms);
      EXPECT_TRUE(stream->write("data: two\n\n"));
      stream->close();
    });
  });
  ASSERT_TRUE(client_->send_raw("GET /live HTTP/1.1\r\nHost: x\r\n\r\n").is_ok());
  const auto response = must(client_->read_response());
  EXPECT_EQ(response.result(), http::status::ok);
  EXPECT_EQ(response[http::field::content_type], "text/event-stream");
  EXPECT_EQ(response[http::field::connection], "close");
  EXPECT_EQ(response.count(http::field::content_length), 0U);
  EXPECT_EQ(response.body(), "data: one\n\ndata: two\n\n");
}

TEST_F(HttpServerTest, AStreamEndsWhenItsClientLeaves) {
  std::promise<std::shared_ptr<ResponseStream>> opened;
  auto future = opened.get_future();
  start([&opened](Request&&, const RequestInfo& info, Responder) {
    opened.set_value(info.open_stream(Response{http::status::ok, 11}));
  });
  std::shared_ptr<ResponseStream> stream;
  {
    TestHttpClient leaving(server_->port());
    ASSERT_TRUE(leaving.send_raw("GET /live HTTP/1.1\r\nHost: x\r\n\r\n").is_ok());
    ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
    stream = future.get();
    EXPECT_TRUE(stream->write(": hello\n\n"));
  }  // the client disconnects
  bool refused = false;
  for (int i = 0; i < 200 && !refused; ++i) {
    refused = !stream->write(": ping\n\n");
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(refused) << "a write after the client left is refused";
}

}  // namespace
}  // namespace cdp::server

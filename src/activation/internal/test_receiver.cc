#include "activation/internal/test_receiver.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <condition_variable>

namespace cdp::activation::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct TestReceiver::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread accept_thread;
  mutable std::mutex mutex;
  mutable std::condition_variable arrived;
  Script script;
  bool keep = true;
  size_t count = 0;
  std::vector<Request> requests;
  std::vector<std::shared_ptr<tcp::socket>> sockets;
  std::vector<std::thread> connections;
  std::atomic<bool> stopping{false};
};

TestReceiver::TestReceiver() : impl_(std::make_unique<Impl>()) {
  impl_->acceptor.open(tcp::v4());
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true));
  impl_->acceptor.bind({asio::ip::make_address("127.0.0.1"), 0});
  impl_->acceptor.listen();
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->accept_thread = std::thread([this] {
    while (!impl_->stopping) {
      auto socket = std::make_shared<tcp::socket>(impl_->io);
      boost::system::error_code error;
      impl_->acceptor.accept(*socket, error);
      if (error || impl_->stopping) return;
      std::lock_guard accepted(impl_->mutex);
      impl_->sockets.push_back(socket);
      impl_->connections.emplace_back([this, socket] {
        beast::flat_buffer buffer;
        while (!impl_->stopping) {
          http::request<http::string_body> request;
          boost::system::error_code read_error;
          http::read(*socket, buffer, request, read_error);
          if (read_error) return;
          Request seen;
          seen.target = std::string(request.target());
          for (const auto& field : request) {
            std::string name(field.name_string());
            for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            seen.headers[name] = std::string(field.value());
          }
          seen.body = request.body();
          Reply reply;
          {
            std::lock_guard lock(impl_->mutex);
            const size_t index = impl_->count++;
            if (impl_->script) reply = impl_->script(seen, index);
            if (impl_->keep) impl_->requests.push_back(std::move(seen));
          }
          impl_->arrived.notify_all();
          if (reply.delay_ms > 0)
            std::this_thread::sleep_for(std::chrono::milliseconds(reply.delay_ms));
          if (reply.reset) {
            boost::system::error_code ignored;
            socket->set_option(asio::socket_base::linger(true, 0), ignored);
            socket->close(ignored);
            return;
          }
          http::response<http::string_body> response{static_cast<http::status>(reply.status), 11};
          for (const auto& [name, value] : reply.headers) response.set(name, value);
          response.body() = reply.body;
          response.prepare_payload();
          boost::system::error_code write_error;
          http::write(*socket, response, write_error);
          if (write_error) return;
        }
      });
    }
  });
}

TestReceiver::~TestReceiver() {
  impl_->stopping = true;
  boost::system::error_code ignored;
  // Wakes the accept call with a connection of our own.
  {
    tcp::socket poke(impl_->io);
    poke.connect({asio::ip::make_address("127.0.0.1"), port_}, ignored);
  }
  impl_->accept_thread.join();
  {
    std::lock_guard lock(impl_->mutex);
    for (auto& socket : impl_->sockets) socket->shutdown(tcp::socket::shutdown_both, ignored);
  }
  for (auto& thread : impl_->connections) thread.join();
}

void TestReceiver::keep_bodies(bool keep) {
  std::lock_guard lock(impl_->mutex);
  impl_->keep = keep;
}

void TestReceiver::script(Script script) {
  std::lock_guard lock(impl_->mutex);
  impl_->script = std::move(script);
}

std::string TestReceiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<TestReceiver::Request> TestReceiver::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->requests;
}

size_t TestReceiver::count() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->count;
}

bool TestReceiver::wait_for(size_t n, int timeout_ms) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->arrived.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                 [&] { return impl_->count >= n; });
}

}  // namespace cdp::activation::testing

#include "server/slow_queries.h"

namespace cdp::server {

SlowQueries::SlowQueries() : thread_([this] { work(); }) {}

SlowQueries::~SlowQueries() { stop(); }

void SlowQueries::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void SlowQueries::submit(Task task) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_ && waiting_.size() < kMaxWaiting) {
      waiting_.push_back(std::move(task));
      wake_.notify_one();
      return;
    }
  }
  task(false);
}

void SlowQueries::answer(const Request& request, Responder respond,
                         std::function<Response(const Request&)> call, std::string busy_message) {
  submit([request, respond = std::move(respond), call = std::move(call),
          busy_message = std::move(busy_message)](bool run) {
    if (!run) {
      return respond(
          json_error(http::status::service_unavailable, request.version(), "busy", busy_message));
    }
    respond(call(request));
  });
}

void SlowQueries::work() {
  for (;;) {
    Task task;
    bool run = true;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !waiting_.empty(); });
      if (waiting_.empty()) return;  // stopping, nothing left
      task = std::move(waiting_.front());
      waiting_.pop_front();
      run = !stopping_;
    }
    task(run);
  }
}

}  // namespace cdp::server

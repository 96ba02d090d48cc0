#pragma once

#include <boost/beast/http.hpp>

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"

namespace cdp::server {

namespace http = boost::beast::http;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// Sends the response for one request. Call exactly once, from any thread.
using Responder = std::function<void(Response)>;

// The body of a response that goes on for as long as the client stays (server-sent events):
// what write() is given goes out in order. Thread-safe.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  // Queues `bytes`. False once the client has gone, or fell so far behind that the stream was
  // closed: the writer should drop the stream.
  virtual bool write(std::string bytes) = 0;
  virtual void close() = 0;
  // True once the client has gone (or was dropped): nothing written reaches it any more.
  virtual bool closed() const = 0;
};

// Answers a request with `head` (status and fields; no body, no Content-Length) and a body
// written through the stream it returns; the connection closes when the stream ends. Instead
// of the Responder, which must then not be called.
using StreamOpener = std::function<std::shared_ptr<ResponseStream>(Response head)>;

struct RequestInfo {
  std::string client_ip;
  StreamOpener open_stream;
  // Set for requests whose body the server wrote to this file instead of memory (uploads, see
  // HttpServer::Options::file_body); the handler owns the file and must move or remove it.
  std::string body_file;
};

// Builds a JSON error body {"error":{"code":..., "message":...}} with the given status.
Response json_error(http::status status, unsigned version, std::string_view code,
                    std::string_view message);
Response json_response(http::status status, unsigned version, std::string body);
// The JSON error for a Status: invalid argument 400, not found 404, already exists and failed
// precondition 409, unavailable 503, anything else 500; the code is the status code's name.
Response status_error(const Status& status, unsigned version);

// True when the request carries "Authorization: Bearer <t>" for one of the non-empty `tokens`
// (compared in constant time).
// Takes the header only, so that an upload can be refused before its body is read.
bool has_bearer_token(const http::request_header<>& request,
                      std::initializer_list<std::string_view> tokens);

}  // namespace cdp::server

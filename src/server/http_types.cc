#include "server/http_types.h"

#include <openssl/crypto.h>

#include "common/json_writer.h"

namespace cdp::server {

Response json_response(http::status status, unsigned version, std::string body) {
  Response response{status, version};
  response.set(http::field::content_type, "application/json");
  response.body() = std::move(body);
  response.prepare_payload();
  return response;
}

Response json_error(http::status status, unsigned version, std::string_view code,
                    std::string_view message) {
  JsonWriter out;
  out.begin_object().key("error").begin_object();
  // Messages quote what the client sent, which may not be UTF-8.
  out.key("code").string(code).key("message").string(to_valid_utf8(message));
  out.end_object().end_object();
  return json_response(status, version, out.take());
}

bool has_bearer_token(const http::request_header<>& request,
                      std::initializer_list<std::string_view> tokens) {
  const std::string_view authorization = request[http::field::authorization];
  constexpr std::string_view kPrefix = "Bearer ";
  if (!authorization.starts_with(kPrefix)) return false;
  const auto token = authorization.substr(kPrefix.size());
  bool match = false;
  for (const auto expected : tokens) {
    // Every token is compared, so the time taken does not say which one matched.
    if (!expected.empty() && token.size() == expected.size() &&
        CRYPTO_memcmp(token.data(), expected.data(), expected.size()) == 0) {
      match = true;
    }
  }
  return match;
}

Response status_error(const Status& status, unsigned version) {
  http::status code = http::status::internal_server_error;
  switch (status.code()) {
    case StatusCode::kInvalidArgument: code = http::status::bad_request; break;
    case StatusCode::kNotFound: code = http::status::not_found; break;
    case StatusCode::kAlreadyExists: code = http::status::conflict; break;
    case StatusCode::kFailedPrecondition: code = http::status::conflict; break;
    case StatusCode::kUnavailable: code = http::status::service_unavailable; break;
    default: break;
  }
  return json_error(code, version, status_code_name(status.code()), status.message());
}

}  // namespace cdp::server

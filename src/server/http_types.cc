#include "server/http_types.h"

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
  out.key("code").string(code).key("message").string(message);
  out.end_object().end_object();
  return json_response(status, version, out.take());
}

}  // namespace cdp::server

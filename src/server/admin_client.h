#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "ingest/json_tree.h"
#include "server/http_client.h"

namespace cdp::server {

// Where CLI commands find a running server's admin API.
struct AdminClientOptions {
  std::string server = "http://127.0.0.1:8080";
  std::string token;                    // default $CDP_ADMIN_TOKEN, else <data_dir>/admin-token
  std::string data_dir = "./cdp-data";  // where the server keeps its generated admin token
};

// A connection to the admin API with its token, for the CLI's commands.
struct AdminSession {
  std::unique_ptr<HttpClient> client;
  std::string token;

  // GET `target`: the body of a 200; otherwise prints the error to stderr and returns nullopt.
  std::optional<std::string> get(const std::string& target);
  // A call with a body: the answer's body when its status is `expected`; otherwise prints the
  // error and returns nullopt.
  std::optional<std::string> call(http::verb method, const std::string& target, std::string body,
                                  http::status expected);
};

// Connects, or prints why not (no token, server unreachable) to stderr and returns nullopt.
std::optional<AdminSession> open_admin_session(const AdminClientOptions& options);

// Prints an admin API answer for a CLI command: as it is with `json`, otherwise through `print`
// once it parses as a JSON object. Returns the command's exit status: 1 when there is no answer
// (the session printed why) or it is not a JSON object, else what `print` returns.
int print_answer(const std::optional<std::string>& body, bool json,
                 const std::function<int(const ingest::JsonValue&)>& print);

// `text` for a query parameter value: everything but letters, digits and -_.~ percent-encoded.
std::string url_encode(std::string_view text);

// The message of a JSON error answer, or its status and body.
std::string error_of(const Response& response);

}  // namespace cdp::server

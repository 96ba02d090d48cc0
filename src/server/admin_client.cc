#include "server/admin_client.h"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "ingest/json_tree.h"

namespace cdp::server {
namespace {

Result<std::string> admin_token(const AdminClientOptions& options) {
  if (!options.token.empty()) return options.token;
  if (const char* env = std::getenv("CDP_ADMIN_TOKEN"); env != nullptr && *env != '\0') {
    return std::string(env);
  }
  const auto path = std::filesystem::path(options.data_dir) / "admin-token";
  std::ifstream file(path);
  std::string token;
  if (file >> token) return token;
  return Status::invalid_argument(
      "no admin token: pass --token, set CDP_ADMIN_TOKEN, or run on "
      "the server's machine with --data pointing at its data "
      "directory (it keeps the token in " +
      path.string() + ")");
}

}  // namespace

std::string error_of(const Response& response) {
  ingest::JsonParser parser;
  auto root = parser.parse(response.body());
  if (root && (*root)->is_object()) {
    if (const auto* error = (*root)->find("error"); error != nullptr && error->is_object()) {
      if (const auto* message = error->find("message"); message != nullptr) {
        return std::string(message->text);
      }
    }
  }
  return "HTTP " + std::to_string(response.result_int()) + ": " + response.body().substr(0, 200);
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::optional<AdminSession> open_admin_session(const AdminClientOptions& options) {
  auto token = admin_token(options);
  if (!token) {
    std::cerr << "cdp: " << token.status().message() << "\n";
    return std::nullopt;
  }
  auto client = HttpClient::connect(options.server);
  if (!client) {
    std::cerr << "cdp: " << client.status().message() << "\n";
    return std::nullopt;
  }
  return AdminSession{std::move(*client), std::move(*token)};
}

std::optional<std::string> AdminSession::get(const std::string& target) {
  return call(http::verb::get, target, "", http::status::ok);
}

std::optional<std::string> AdminSession::call(http::verb method, const std::string& target,
                                              std::string body, http::status expected) {
  auto response = client->request(method, target, std::move(body),
                                  method == http::verb::get ? "" : "application/json", token);
  if (!response) {
    std::cerr << "cdp: " << response.status().message() << "\n";
    return std::nullopt;
  }
  if (response->result() != expected) {
    std::cerr << "cdp: " << error_of(*response) << "\n";
    return std::nullopt;
  }
  return response->body();
}

int print_answer(const std::optional<std::string>& body, bool json,
                 const std::function<int(const ingest::JsonValue&)>& print) {
  if (!body) return 1;
  if (json) {
    std::cout << *body << "\n";
    return 0;
  }
  ingest::JsonParser parser;
  auto root = parser.parse(*body);
  if (!root || !(*root)->is_object()) return 1;
  return print(**root);
}

}  // namespace cdp::server

#include "server/audience_command.h"

#include <cstdio>
#include <functional>
#include <iostream>

#include "common/json_writer.h"
#include "ingest/json_tree.h"

namespace cdp::server {
namespace {

std::string text(const ingest::JsonValue& object, std::string_view key) {
  const auto* value = object.find(key);
  if (value == nullptr) return {};
  if (value->kind == ingest::JsonKind::kString || value->kind == ingest::JsonKind::kNumber) {
    return std::string(value->text);
  }
  std::string json;
  ingest::write_json(json, *value);
  return json;
}

std::string path_of(bool traits, const std::string& name) {
  return std::string(traits ? "/admin/v1/computed-traits/" : "/admin/v1/audiences/") +
         url_encode(name);
}

void print_definition(const ingest::JsonValue& d, bool traits) {
  if (traits) {
    std::cout << text(d, "name") << ": " << text(d, "kind");
    if (d.find("property") != nullptr) std::cout << " of " << text(d, "property");
    std::cout << " over " << (d.find("event") != nullptr ? "\"" + text(d, "event") + "\"" : "every")
              << " event";
    if (d.find("where") != nullptr) std::cout << " where " << text(d, "where");
    if (d.find("window") != nullptr) std::cout << " in the last " << text(d, "window");
    std::cout << "\n";
  } else {
    std::cout << text(d, "name");
    // A definition just applied is answered without its size (GET has it).
    if (d.find("size") != nullptr) std::cout << " (" << text(d, "size") << " members)";
    std::cout << ": " << text(d, "condition") << "\n";
  }
  if (d.find("description") != nullptr) std::cout << "    " << text(d, "description") << "\n";
}

// PUTs `body` and prints what the server answered (200: applied, 202: still applying).
int put(AdminSession& session, const std::string& target, const std::string& body, bool traits,
        bool json) {
  auto response =
      session.client->request(http::verb::put, target, body, "application/json", session.token);
  if (!response) {
    std::cerr << "cdp: " << response.status().message() << "\n";
    return 1;
  }
  if (response->result() == http::status::accepted) {
    std::cout << "saved; the server is still bringing every profile up to date\n";
    return 0;
  }
  if (response->result() != http::status::ok) {
    std::cerr << "cdp: " << error_of(*response) << "\n";
    return 1;
  }
  return print_answer(response->body(), json, [&](const ingest::JsonValue& root) {
    print_definition(root, traits);
    return 0;
  });
}

// GETs `target` and prints the answer (print_answer).
int get_and_print(const AudienceCommandOptions& options, const std::string& target,
                  const std::function<void(const ingest::JsonValue&)>& print) {
  auto session = open_admin_session(options.admin);
  if (!session) return 2;
  return print_answer(session->get(target), options.json, [&](const ingest::JsonValue& root) {
    print(root);
    return 0;
  });
}

// A page's list, then how to ask for the next one.
void print_page(const ingest::JsonValue& page, std::string_view list,
                const std::function<void(const ingest::JsonValue&)>& print_item) {
  if (const auto* items = page.find(list)) {
    for (const auto* item : items->elements) print_item(*item);
  }
  if (const auto next = text(page, "next"); next != "null" && !next.empty()) {
    std::cout << "(continue with --after " << next << ")\n";
  }
}

}  // namespace

int run_audiences_list(const AudienceCommandOptions& options, bool traits) {
  return get_and_print(options, traits ? "/admin/v1/computed-traits" : "/admin/v1/audiences",
                       [&](const ingest::JsonValue& root) {
                         const auto* list = root.find(traits ? "computed_traits" : "audiences");
                         if (list == nullptr || list->elements.empty()) {
                           std::cout << (traits ? "no computed traits (define one: cdp traits "
                                                  "define NAME --kind ...)\n"
                                                : "no audiences (define one: cdp audiences "
                                                  "define NAME CONDITION)\n");
                           return;
                         }
                         for (const auto* item : list->elements) print_definition(*item, traits);
                       });
}

int run_audiences_show(const AudienceCommandOptions& options, bool traits) {
  return get_and_print(options, path_of(traits, options.name),
                       [&](const ingest::JsonValue& root) { print_definition(root, traits); });
}

int run_audiences_define(const AudienceCommandOptions& options) {
  auto session = open_admin_session(options.admin);
  if (!session) return 2;
  JsonWriter body;
  body.begin_object().key("condition").string(options.condition);
  if (!options.description.empty()) body.key("description").string(options.description);
  body.end_object();
  return put(*session, path_of(false, options.name), body.str(), false, options.json);
}

int run_traits_define(const AudienceCommandOptions& options) {
  auto session = open_admin_session(options.admin);
  if (!session) return 2;
  JsonWriter body;
  body.begin_object().key("kind").string(options.kind);
  if (!options.event.empty()) body.key("event").string(options.event);
  if (!options.property.empty()) body.key("property").string(options.property);
  if (!options.where.empty()) body.key("where").string(options.where);
  if (!options.window.empty()) body.key("window").string(options.window);
  if (!options.description.empty()) body.key("description").string(options.description);
  body.end_object();
  return put(*session, path_of(true, options.name), body.str(), true, options.json);
}

int run_audiences_delete(const AudienceCommandOptions& options, bool traits) {
  auto session = open_admin_session(options.admin);
  if (!session) return 2;
  auto done = session->call(http::verb::delete_, path_of(traits, options.name), "",
                            http::status::no_content);
  if (!done) return 1;
  std::cout << "deleted " << options.name << "\n";
  return 0;
}

int run_audiences_members(const AudienceCommandOptions& options) {
  std::string target = "/v1/audiences/" + url_encode(options.name) +
                       "/members?limit=" + std::to_string(options.limit);
  if (!options.after.empty()) target += "&after=" + url_encode(options.after);
  return get_and_print(options, target, [](const ingest::JsonValue& page) {
    print_page(page, "members", [](const ingest::JsonValue& member) {
      std::cout << text(member, "profile") << "  since " << text(member, "entered_at") << "\n";
    });
  });
}

int run_audiences_changes(const AudienceCommandOptions& options) {
  std::string target = "/admin/v1/changes?limit=" + std::to_string(options.limit);
  if (!options.after.empty()) target += "&after=" + url_encode(options.after);
  return get_and_print(options, target, [](const ingest::JsonValue& page) {
    print_page(page, "changes", [](const ingest::JsonValue& change) {
      const bool entered = text(change, "type") == "audience_entered";
      std::cout << text(change, "time") << "  " << text(change, "profile") << "  "
                << (entered ? "entered " : "exited  ") << text(change, "audience") << "  ("
                << text(change, "cause") << ")\n";
    });
  });
}

}  // namespace cdp::server

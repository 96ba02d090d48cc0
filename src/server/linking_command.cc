#include "server/linking_command.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "ingest/json_tree.h"

namespace cdp::server {
namespace {

std::string text(const ingest::JsonValue& object, std::string_view key) {
  const auto* value = object.find(key);
  return value == nullptr ? std::string() : std::string(value->text);
}

// One review as a few lines: the pair, its probability, and the fields that weighed most.
void print_review(const ingest::JsonValue& review) {
  std::cout << "review " << text(review, "id") << " (" << text(review, "state")
            << "): " << text(review, "a") << "  ~  " << text(review, "b") << "  probability "
            << text(review, "probability").substr(0, 6) << "\n";
  const auto* explanation = review.find("explanation");
  const auto* fields = explanation != nullptr ? explanation->find("fields") : nullptr;
  if (fields == nullptr) return;
  for (const auto* field : fields->elements) {
    std::printf("    %-20s %-34s %+7.2f\n", text(*field, "comparison").c_str(),
                text(*field, "level").c_str(),
                std::strtod(text(*field, "counted").c_str(), nullptr));
  }
}

}  // namespace

int run_match_link(const LinkingCommandOptions& options) {
  auto session = open_admin_session(options.admin);
  if (!session) return 2;
  auto queued = session->call(
      http::verb::post,
      std::string("/admin/v1/matching/runs?mode=") + (options.full ? "full" : "incremental"), "",
      http::status::accepted);
  if (!queued) return 1;
  ingest::JsonParser parser;
  auto root = parser.parse(*queued);
  if (!root) return 1;
  const std::string id = text(**root, "id");
  if (options.no_wait) {
    std::cout << "matching run " << id << " queued\n";
    return 0;
  }
  std::string body;
  for (;;) {
    auto run = session->get("/admin/v1/matching/runs/" + id);
    if (!run) return 1;
    body = *run;
    root = parser.parse(body);
    if (!root) return 1;
    const auto state = text(**root, "state");
    if (state == "done" || state == "failed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (options.json) {
    std::cout << body << "\n";
    return 0;
  }
  const auto& run = **root;
  if (text(run, "state") == "failed") {
    std::cout << "matching run " << text(run, "id") << " FAILED: " << text(run, "error") << "\n";
    return 1;
  }
  std::cout << "matching run " << text(run, "id") << " (" << text(run, "mode") << ") done\n"
            << "  profiles       " << text(run, "profiles") << " (" << text(run, "newProfiles")
            << " new)\n"
            << "  pairs scored   " << text(run, "candidatePairs") << "\n"
            << "  links          " << text(run, "links") << " (merging profiles through the log)\n"
            << "  for review     " << text(run, "reviewsQueued")
            << " new (see: cdp match reviews)\n"
            << "  model          " << (run.find("trained")->boolean ? "trained now" : "reused")
            << "\n";
  return 0;
}

int run_match_reviews(const LinkingCommandOptions& options) {
  auto session = open_admin_session(options.admin);
  if (!session) return 2;
  auto body = session->get("/admin/v1/matching/reviews?state=" + options.state +
                           "&limit=" + std::to_string(options.limit));
  return print_answer(body, options.json, [&](const ingest::JsonValue& root) {
    const auto* reviews = root.find("reviews");
    if (reviews == nullptr) return 1;
    if (reviews->elements.empty()) std::cout << "no " << options.state << " reviews\n";
    for (const auto* review : reviews->elements) print_review(*review);
    return 0;
  });
}

int run_match_decide(const LinkingCommandOptions& options, bool accept) {
  auto session = open_admin_session(options.admin);
  if (!session) return 2;
  auto body = session->call(
      http::verb::post,
      "/admin/v1/matching/reviews/" + std::to_string(options.id) + (accept ? "/accept" : "/reject"),
      "", http::status::ok);
  return print_answer(body, options.json, [&](const ingest::JsonValue& root) {
    std::cout << "review " << options.id << " "
              << (accept ? "accepted: the link is in the log (entry " + text(root, "linkSeq") +
                               "); the profiles merge as it is applied"
                         : "rejected: later runs will not link this pair")
              << "\n";
    return 0;
  });
}

int run_match_explain_profiles(const LinkingCommandOptions& options) {
  auto session = open_admin_session(options.admin);
  if (!session) return 2;
  auto body = session->get("/admin/v1/matching/explain?a=" + url_encode(options.a) +
                           "&b=" + url_encode(options.b));
  return print_answer(body, options.json, [&](const ingest::JsonValue& answer) {
    std::cout << text(answer, "a") << " (" << options.a << ")  ~  " << text(answer, "b") << " ("
              << options.b << ")\n";
    const auto* columns = answer.find("columns");
    const auto* explanation = answer.find("explanation");
    const auto* fields = explanation != nullptr ? explanation->find("fields") : nullptr;
    if (columns != nullptr) {
      for (const auto* column : columns->elements) {
        std::printf("  %-16s %-26.26s %-26.26s\n", text(*column, "name").c_str(),
                    text(*column, "a").c_str(), text(*column, "b").c_str());
      }
    }
    if (fields != nullptr) {
      std::cout << "\n";
      for (const auto* field : fields->elements) {
        std::printf("  %-16s %-34s %+7.2f\n", text(*field, "comparison").c_str(),
                    text(*field, "level").c_str(),
                    std::strtod(text(*field, "counted").c_str(), nullptr));
      }
    }
    if (explanation != nullptr) {
      std::printf(
          "  %-16s %-34s %+7.2f\n  match weight %+.2f, probability %.6f (without term "
          "frequencies)\n",
          "prior", "", std::strtod(text(*explanation, "prior_weight").c_str(), nullptr),
          std::strtod(text(*explanation, "weight").c_str(), nullptr),
          std::strtod(text(*explanation, "probability").c_str(), nullptr));
    }
    return 0;
  });
}

}  // namespace cdp::server

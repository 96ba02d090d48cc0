#include "server/matching_handler.h"

#include "server/admin_handler.h"
#include "server/profile_handler.h"

namespace cdp::server {
namespace {

constexpr std::string_view kRunsPath = "/admin/v1/matching/runs";
constexpr std::string_view kReviewsPath = "/admin/v1/matching/reviews";

}  // namespace

Response MatchingHandler::handle(const Request& request) {
  const unsigned version = request.version();
  if (!has_bearer_token(request, {admin_token_})) {
    return json_error(http::status::unauthorized, version, "invalid_admin_token",
                      "matching needs \"Authorization: Bearer <admin token>\"");
  }
  if (linking_ == nullptr) {
    return json_error(http::status::conflict, version, "matching_not_configured",
                      "probabilistic matching of profiles is off: set [matching] spec (which "
                      "trait is what) in the server's config (docs/matching.md)");
  }
  std::string_view path = request.target();
  path = path.substr(0, path.find('?'));
  auto method_not_allowed = [&](std::string_view allowed) {
    return json_error(http::status::method_not_allowed, version, "method_not_allowed",
                      "use " + std::string(allowed));
  };
  if (path == kRunsPath && request.method() != http::verb::post) return method_not_allowed("POST");
  if (path.starts_with(std::string(kRunsPath) + "/") && request.method() != http::verb::get) {
    return method_not_allowed("GET");
  }
  if (path == kRunsPath) {
    const auto mode = query_parameter(request.target(), "mode");
    if (!mode.empty() && mode != "full" && mode != "incremental") {
      return json_error(http::status::bad_request, version, "invalid_argument",
                        "mode must be incremental (the new profiles, the default) or full");
    }
    auto report = linking_->request(mode == "full");
    if (!report) return status_error(report.status(), version);
    return json_response(http::status::accepted, version, pipeline::linking_run_json(*report));
  }
  if (path.starts_with(std::string(kRunsPath) + "/")) {
    const auto which = path.substr(kRunsPath.size() + 1);
    std::optional<std::string> run;
    if (which == "latest") {
      run = linking_->latest_json();
    } else if (const auto id = parse_number<uint64_t>(which)) {
      run = linking_->run_json(*id);
    }
    if (!run) {
      return json_error(
          http::status::not_found, version, "not_found",
          which == "latest"
              ? "no matching run yet: POST /admin/v1/matching/runs starts one"
              : "no run " + std::string(which) + " among the recent ones (GET .../runs/latest)");
    }
    return json_response(http::status::ok, version, std::move(*run));
  }
  if (path == "/admin/v1/matching/explain") {
    if (request.method() != http::verb::get) return method_not_allowed("GET");
    return explain(request);
  }
  if (path == kReviewsPath || path.starts_with(std::string(kReviewsPath) + "/")) {
    return reviews(request);
  }
  return json_error(http::status::not_found, version, "not_found",
                    "no endpoint at " + std::string(path));
}

Response MatchingHandler::explain(const Request& request) {
  const unsigned version = request.version();
  const auto* snapshot = database_.db().GetSnapshot();
  profile::ProfileStore store(database_, snapshot);
  std::optional<profile::Profile> profiles[2];
  Response failure;
  bool failed = false;
  for (int side = 0; side < 2 && !failed; ++side) {
    const auto ref = query_parameter(request.target(), side == 0 ? "a" : "b");
    if (ref.empty()) {
      failure = json_error(http::status::bad_request, version, "invalid_argument",
                           "name both profiles: ?a=email:jane%40example.com&b=user_id:42 (an "
                           "identifier or a profile id each)");
      failed = true;
      break;
    }
    auto found = lookup_profile(store, normalizer_, ref, version);
    if (auto* response = std::get_if<Response>(&found)) {
      failure = std::move(*response);
      failed = true;
    } else if (auto& lookup = std::get<ProfileLookup>(found); !lookup.profile) {
      failure = json_error(http::status::not_found, version, "profile_not_found",
                           "no profile has " + lookup.ref);
      failed = true;
    } else {
      profiles[side] = std::move(lookup.profile);
    }
  }
  database_.db().ReleaseSnapshot(snapshot);
  if (failed) return failure;
  auto explained = linking_->explain(*profiles[0], *profiles[1]);
  if (!explained) return status_error(explained.status(), version);
  return json_response(http::status::ok, version,
                       "{\"a\":\"" + profile::profile_id_text(profiles[0]->id) + "\",\"b\":\"" +
                           profile::profile_id_text(profiles[1]->id) + "\"," +
                           explained->substr(1));
}

Response MatchingHandler::reviews(const Request& request) {
  const unsigned version = request.version();
  std::string_view path = request.target();
  path = path.substr(0, path.find('?'));
  std::string_view rest = path.substr(kReviewsPath.size());
  if (rest.empty()) {
    if (request.method() != http::verb::get) {
      return json_error(http::status::method_not_allowed, version, "method_not_allowed", "use GET");
    }
    const auto state_text = query_parameter(request.target(), "state");
    std::optional<pipeline::ReviewState> state = pipeline::ReviewState::kPending;
    if (state_text == "all") {
      state.reset();
    } else if (!state_text.empty()) {
      state = pipeline::parse_review_state(state_text);
      if (!state) {
        return json_error(http::status::bad_request, version, "invalid_argument",
                          "state must be pending (the default), accepted, rejected or all");
      }
    }
    const auto before = number_parameter(request.target(), "before", 0);
    const auto limit = number_parameter(request.target(), "limit", 100);
    if (!before || !limit || *limit == 0) {
      return json_error(http::status::bad_request, version, "invalid_argument",
                        "before and limit must be positive integers");
    }
    auto list = linking_->reviews().list(state, *before, std::min<uint64_t>(*limit, 1000));
    if (!list) return status_error(list.status(), version);
    std::string body = "{\"reviews\":[";
    for (size_t i = 0; i < list->size(); ++i) {
      if (i > 0) body.push_back(',');
      body += pipeline::review_json((*list)[i]);
    }
    body += "]}";
    return json_response(http::status::ok, version, std::move(body));
  }
  rest.remove_prefix(1);
  const auto slash = rest.find('/');
  const auto id = parse_number<uint64_t>(rest.substr(0, slash));
  if (!id) {
    return json_error(http::status::not_found, version, "not_found",
                      "reviews are numbered: GET /admin/v1/matching/reviews lists them");
  }
  if (slash == std::string_view::npos) {
    if (request.method() != http::verb::get) {
      return json_error(http::status::method_not_allowed, version, "method_not_allowed", "use GET");
    }
    auto review = linking_->reviews().get(*id);
    if (!review) return status_error(review.status(), version);
    if (!review->has_value()) {
      return json_error(http::status::not_found, version, "not_found",
                        "no review " + std::to_string(*id));
    }
    return json_response(http::status::ok, version, pipeline::review_json(**review));
  }
  const auto action = rest.substr(slash + 1);
  if (action != "accept" && action != "reject") {
    return json_error(http::status::not_found, version, "not_found",
                      "POST .../reviews/{id}/accept or .../reject");
  }
  if (request.method() != http::verb::post) {
    return json_error(http::status::method_not_allowed, version, "method_not_allowed", "use POST");
  }
  auto decided = linking_->decide(*id, action == "accept");
  if (!decided) return status_error(decided.status(), version);
  return json_response(http::status::ok, version, pipeline::review_json(*decided));
}

}  // namespace cdp::server

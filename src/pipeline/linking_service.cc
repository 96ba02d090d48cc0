#include "pipeline/linking_service.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/json_writer.h"
#include "common/log.h"
#include "common/thread_name.h"
#include "common/time_format.h"
#include "profile/profile_store.h"

namespace cdp::pipeline {
namespace {

namespace fs = std::filesystem;

constexpr const char* kWatermarkKey = "matching/watermark";
constexpr const char* kLastRunKey = "matching/last_run";
constexpr const char* kModelProfilesKey = "matching/model_profiles";
constexpr const char* kLastRunIdKey = "matching/last_run_id";
constexpr size_t kRecentRuns = 100;
constexpr size_t kLinksPerAppend = 1000;

std::string link_entry(const ProposedLink& link, const std::string& message_id) {
  JsonWriter out;
  out.begin_object();
  out.key("type").string("link");
  out.key("messageId").string(message_id);
  out.key("a").string(link.a);
  out.key("b").string(link.b);
  out.key("score").number(link.probability);
  if (!link.explanation.empty()) out.key("explanation").raw(link.explanation);
  out.end_object();
  return out.take();
}

}  // namespace

std::string linking_run_json(const LinkingRunReport& report) {
  JsonWriter out;
  out.begin_object();
  out.key("id").number(static_cast<int64_t>(report.id));
  out.key("mode").string(report.full ? "full" : "incremental");
  out.key("state").string(report.state);
  if (!report.error.empty()) out.key("error").string(report.error);
  out.key("requestedAt").string(format_iso8601_ms(report.requested_ms));
  if (report.finished_ms != 0) out.key("finishedAt").string(format_iso8601_ms(report.finished_ms));
  out.key("profiles").number(static_cast<int64_t>(report.profiles));
  out.key("newProfiles").number(static_cast<int64_t>(report.new_profiles));
  out.key("candidatePairs").number(static_cast<int64_t>(report.candidate_pairs));
  out.key("largestCluster").number(static_cast<int64_t>(report.largest_cluster));
  out.key("links").number(static_cast<int64_t>(report.links));
  out.key("linksRejectedBefore").number(static_cast<int64_t>(report.links_rejected));
  out.key("reviewsQueued").number(static_cast<int64_t>(report.reviews_queued));
  out.key("trained").boolean(report.trained);
  out.key("stages").begin_array();
  for (const auto& stage : report.stages) {
    out.begin_object();
    out.key("name").string(stage.name);
    out.key("seconds").number(stage.seconds);
    out.key("peakRssBytes").number(static_cast<int64_t>(stage.peak_rss_bytes));
    out.end_object();
  }
  out.end_array();
  out.end_object();
  return out.take();
}

LinkingService::LinkingService(storage::Database& database, storage::RawLogWriter& writer,
                               Processor& processor, Options options)
    : database_(database),
      writer_(writer),
      processor_(processor),
      options_(std::move(options)),
      reviews_(database) {}

Result<std::unique_ptr<LinkingService>> LinkingService::start(storage::Database& database,
                                                              storage::RawLogWriter& writer,
                                                              Processor& processor,
                                                              Options options) {
  std::unique_ptr<LinkingService> service(
      new LinkingService(database, writer, processor, std::move(options)));
  std::error_code error;
  fs::create_directories(fs::path(service->options_.data_dir) / "matching", error);
  if (error) return Status::unavailable("cannot create the matching directory: " + error.message());
  auto last = database.get_meta(kLastRunKey);
  if (!last) return last.status();
  if (last->has_value()) service->restored_json_ = **last;
  // Ids are stored when assigned, so that a run cut off by a restart never lends its id (and
  // its links' messageIds) to the next one.
  auto last_id = database.get_meta(kLastRunIdKey);
  if (!last_id) return last_id.status();
  if (last_id->has_value()) service->last_run_id_ = std::stoull(**last_id);
  service->thread_ = std::thread([raw = service.get()] { raw->run(); });
  return service;
}

LinkingService::~LinkingService() { stop(); }

void LinkingService::stop() {
  stopping_ = true;
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string LinkingService::model_path() const {
  return (fs::path(options_.data_dir) / "matching" / "model.json").string();
}

Result<LinkingRunReport> LinkingService::request(bool full) {
  std::lock_guard lock(mutex_);
  for (const auto& queued : queue_) {
    if (queued.full || !full) return queued;
  }
  CDP_RETURN_IF_ERROR(database_.put_meta(kLastRunIdKey, std::to_string(last_run_id_ + 1)));
  LinkingRunReport report;
  report.id = ++last_run_id_;
  report.full = full;
  report.requested_ms = options_.clock->now_ms();
  queue_.push_back(report);
  latest_ = report;
  recent_.push_back(report);
  if (recent_.size() > kRecentRuns) recent_.pop_front();
  wake_.notify_all();
  return report;
}

std::optional<std::string> LinkingService::latest_json() const {
  std::lock_guard lock(mutex_);
  if (latest_) return linking_run_json(*latest_);
  if (!restored_json_.empty()) return restored_json_;
  return std::nullopt;
}

std::optional<std::string> LinkingService::run_json(uint64_t id) const {
  std::lock_guard lock(mutex_);
  for (const auto& run : recent_) {
    if (run.id == id) return linking_run_json(run);
  }
  if (restored_json_.starts_with("{\"id\":" + std::to_string(id) + ",")) return restored_json_;
  return std::nullopt;
}

void LinkingService::publish(const LinkingRunReport& report) {
  std::lock_guard lock(mutex_);
  // A run queued meanwhile is newer and stays the latest.
  if (!latest_ || latest_->id <= report.id) latest_ = report;
  auto known = std::find_if(recent_.begin(), recent_.end(),
                            [&](const auto& run) { return run.id == report.id; });
  if (known != recent_.end()) {
    *known = report;
  } else {
    recent_.push_back(report);
    if (recent_.size() > kRecentRuns) recent_.pop_front();
  }
}

void LinkingService::run() {
  set_thread_name("cdp-linking");
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
  while (true) {
    LinkingRunReport report;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_.load() || !queue_.empty(); });
      if (stopping_) return;
      report = queue_.front();
      queue_.pop_front();
    }
    report.state = "running";
    publish(report);
    auto status = execute(report);
    if (stopping_) return;
    report.state = status.is_ok() ? "done" : "failed";
    report.error = status.is_ok() ? "" : status.message();
    report.finished_ms = options_.clock->now_ms();
    publish(report);
    (void)database_.put_meta(kLastRunKey, linking_run_json(report));
    log::info("matching_run_finished", {{"run", std::to_string(report.id)},
                                        {"state", report.state},
                                        {"profiles", std::to_string(report.profiles)},
                                        {"links", std::to_string(report.links)},
                                        {"reviews", std::to_string(report.reviews_queued)},
                                        {"error", report.error}});
  }
}

Status LinkingService::execute(LinkingRunReport& report) {
  // See what the log holds now: an import that just finished has its rows applied first.
  const uint64_t target = writer_.stats().last_seq;
  while (processor_.stats().cursor < target) {
    if (stopping_) return Status::unavailable("the server is stopping");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  LinkingOptions options;
  options.config = options_.config;
  options.saved = options_.model;
  if (!report.full) {
    auto watermark = database_.get_meta(kWatermarkKey);
    if (!watermark) return watermark.status();
    options.new_after = watermark->has_value() ? std::stoull(**watermark) : 0;
    if (!options.saved && fs::exists(model_path())) {
      auto saved = match::load_saved_model(model_path());
      auto trained_on = database_.get_meta(kModelProfilesKey);
      if (saved && trained_on) {
        options.saved = std::move(*saved);
        options.saved_trained_on = trained_on->has_value() ? std::stoull(**trained_on) : 1;
      }
    }
  }
  auto run = link_profiles(database_, options);
  if (!run) return run.status();
  report.profiles = run->profiles;
  report.new_profiles = run->new_profiles;
  report.candidate_pairs = run->candidate_pairs;
  report.largest_cluster = run->largest_cluster;
  report.stages = run->stages;
  report.trained = !run->model_json.empty();
  if (report.trained) {
    // Written whole, then renamed: an incremental run never reads half a model.
    const std::string temp = model_path() + ".partial";
    {
      std::ofstream out(temp, std::ios::trunc);
      out << run->model_json;
      if (!out) return Status::unavailable("cannot write " + temp);
    }
    std::error_code error;
    fs::rename(temp, model_path(), error);
    if (error) return Status::unavailable("cannot write " + model_path() + ": " + error.message());
    CDP_RETURN_IF_ERROR(database_.put_meta(kModelProfilesKey, std::to_string(run->profiles)));
  }

  auto rejected = rejected_pairs();
  if (!rejected) return rejected.status();
  std::vector<std::pair<std::string, std::string>> entries;
  size_t numbered = 0;
  auto flush = [&]() -> Status {
    auto appended = append(entries, true);
    if (!appended) return appended.status();
    for (const auto seq : *appended) report.links += seq != 0;
    entries.clear();
    return Status::ok();
  };
  for (const auto& link : run->links) {
    if (rejected->count(std::minmax(link.profile_a, link.profile_b)) > 0) {
      ++report.links_rejected;
      continue;
    }
    const std::string message_id =
        "link-" + std::to_string(report.id) + "-" + std::to_string(++numbered);
    entries.emplace_back(message_id, link_entry(link, message_id));
    if (entries.size() == kLinksPerAppend) CDP_RETURN_IF_ERROR(flush());
  }
  if (!entries.empty()) CDP_RETURN_IF_ERROR(flush());
  for (const auto& pair : run->reviews) {
    auto id = reviews_.add(pair, report.id, options_.clock->now_ms());
    if (!id) return id.status();
    report.reviews_queued += *id != 0;
  }
  if (run->max_profile > options.new_after) {
    CDP_RETURN_IF_ERROR(database_.put_meta(kWatermarkKey, std::to_string(run->max_profile)));
  }
  return Status::ok();
}

Result<std::set<std::pair<profile::ProfileId, profile::ProfileId>>>
LinkingService::rejected_pairs() {
  std::set<std::pair<profile::ProfileId, profile::ProfileId>> out;
  profile::ProfileStore store(database_);
  uint64_t before = 0;
  while (true) {
    auto page = reviews_.list(ReviewState::kRejected, before, 1000);
    if (!page) return page.status();
    for (const auto& review : *page) {
      profile::ProfileId holders[2] = {0, 0};
      for (int side = 0; side < 2; ++side) {
        auto identifier = identity::parse_identifier(side == 0 ? review.pair.a : review.pair.b);
        if (!identifier) continue;
        auto holder = store.find(*identifier);
        if (!holder) return holder.status();
        if (holder->has_value()) holders[side] = (*holder)->id;
      }
      if (holders[0] != 0 && holders[1] != 0) out.insert(std::minmax(holders[0], holders[1]));
    }
    if (page->size() < 1000) break;
    before = page->back().id;
  }
  return out;
}

Result<std::vector<uint64_t>> LinkingService::append(
    const std::vector<std::pair<std::string, std::string>>& entries, bool wait) {
  storage::AppendRequest request;
  request.source = std::string(storage::kMatchSource);
  request.received_at_ms = options_.clock->now_ms();
  for (const auto& [message_id, json] : entries) request.events.push_back({message_id, json});
  auto outcome =
      storage::append_and_wait(writer_, request, [&] { return wait && !stopping_.load(); });
  if (!outcome) return outcome.status();
  return std::move(outcome->seqs);
}

Result<std::string> LinkingService::explain(const profile::Profile& a, const profile::Profile& b) {
  if (options_.model) return explain_profiles(*options_.model, a, b);
  if (!fs::exists(model_path())) {
    return Status::failed_precondition(
        "no model yet: the first matching run trains one (cdp match link)");
  }
  auto saved = match::load_saved_model(model_path());
  if (!saved) return saved.status();
  return explain_profiles(*saved, a, b);
}

Result<Review> LinkingService::decide(uint64_t id, bool accept) {
  std::lock_guard lock(decide_mutex_);
  auto review = reviews_.get(id);
  if (!review) return review.status();
  if (!review->has_value()) return Status::not_found("no review " + std::to_string(id));
  Review decided = **review;
  if (decided.state != ReviewState::kPending) {
    return Status::failed_precondition("review " + std::to_string(id) + " was " +
                                       std::string(review_state_name(decided.state)) + " already");
  }
  if (accept) {
    const std::string message_id = "review-" + std::to_string(id);
    // Answered on an HTTP thread: a full or failing log is an error to retry, not a wait.
    auto seqs = append({{message_id, link_entry(decided.pair, message_id)}}, false);
    if (!seqs) return seqs.status();
    decided.link_seq = seqs->empty() ? 0 : seqs->front();
  }
  decided.state = accept ? ReviewState::kAccepted : ReviewState::kRejected;
  decided.decided_ms = options_.clock->now_ms();
  CDP_RETURN_IF_ERROR(reviews_.put(decided));
  return decided;
}

}  // namespace cdp::pipeline

#include "server/identity_command.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "common/json_writer.h"
#include "pipeline/rules_change.h"
#include "server/config.h"
#include "storage/database.h"

namespace cdp::server {
namespace {

struct Loaded {
  Config config;
  std::shared_ptr<const identity::CompiledRules> rules;
};

std::optional<Loaded> load(const IdentityCommandOptions& options) {
  auto config = Config::load_file(options.config_path);
  if (!config) {
    std::cerr << "cdp: " << config.status().message() << "\n";
    return std::nullopt;
  }
  if (!options.data_dir.empty()) config->data_dir = options.data_dir;
  auto rules = identity::CompiledRules::compile(config->identity);
  if (!rules) {
    std::cerr << "cdp: " << rules.status().message() << "\n";
    return std::nullopt;
  }
  return Loaded{std::move(*config), std::move(*rules)};
}

// Prints "replayed N of M events" on a terminal's stderr at most twice a second.
pipeline::ReplayProgress progress_line() {
  if (::isatty(STDERR_FILENO) == 0) return nullptr;
  auto last = std::make_shared<std::chrono::steady_clock::time_point>();
  return [last](uint64_t applied, uint64_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (now - *last < std::chrono::milliseconds(500)) return;
    *last = now;
    std::cerr << "\rreplayed " << applied << " of about " << total << " log entries" << std::flush;
  };
}

void end_progress_line() {
  if (::isatty(STDERR_FILENO) != 0) std::cerr << "\r\033[K" << std::flush;
}

std::string ids(const std::vector<profile::ProfileId>& profiles, std::string_view separator) {
  std::string out;
  for (const auto id : profiles) {
    if (!out.empty()) out += separator;
    out += profile::profile_id_text(id);
  }
  return out;
}

void print_change(const pipeline::RulesPlan::Change& change, bool merge) {
  std::cout << "  "
            << (merge ? ids(change.before, " + ") + " -> one profile"
                      : ids(change.before, "") + " -> " + std::to_string(change.after.size()) +
                            " profiles")
            << ": ";
  for (size_t i = 0; i < change.identifiers.size(); ++i) {
    std::cout << (i > 0 ? ", " : "") << change.identifiers[i];
  }
  if (change.identifier_count > change.identifiers.size()) {
    std::cout << " and " << change.identifier_count - change.identifiers.size() << " more";
  }
  std::cout << "\n";
}

std::string plan_json(const pipeline::RulesPlan& plan) {
  JsonWriter out;
  out.begin_object();
  out.key("rules_changed").boolean(plan.rules_changed);
  out.key("events").number(static_cast<int64_t>(plan.events));
  out.key("first_seq").number(static_cast<int64_t>(plan.first_seq));
  out.key("profiles_before").number(static_cast<int64_t>(plan.profiles_before));
  out.key("profiles_after").number(static_cast<int64_t>(plan.profiles_after));
  out.key("merges").number(static_cast<int64_t>(plan.merges));
  out.key("splits").number(static_cast<int64_t>(plan.splits));
  out.key("identifiers_unlinked").number(static_cast<int64_t>(plan.identifiers_unlinked));
  out.key("identifiers_linked").number(static_cast<int64_t>(plan.identifiers_linked));
  for (const auto& [name, examples] : {std::pair{"merge_examples", &plan.merge_examples},
                                       std::pair{"split_examples", &plan.split_examples}}) {
    out.key(name).begin_array();
    for (const auto& change : *examples) {
      out.begin_object();
      out.key("before").begin_array();
      for (const auto id : change.before) out.string(profile::profile_id_text(id));
      out.end_array();
      out.key("after_count").number(static_cast<int64_t>(change.after.size()));
      out.key("identifiers").begin_array();
      for (const auto& identifier : change.identifiers) out.string(identifier);
      out.end_array();
      out.key("identifier_count").number(static_cast<int64_t>(change.identifier_count));
      out.end_object();
    }
    out.end_array();
  }
  out.end_object();
  return out.take();
}

}  // namespace

int run_identity_plan(const IdentityCommandOptions& options) {
  auto loaded = load(options);
  if (!loaded) return 2;
  const auto& data_dir = loaded->config.data_dir;
  const auto tag = std::to_string(::getpid());
  const auto follower_scratch = std::filesystem::temp_directory_path() / ("cdp-follower-" + tag);
  const auto scratch = std::filesystem::path(data_dir).lexically_normal().string() + ".plan-" + tag;
  auto live = storage::Database::open_follower(data_dir, follower_scratch.string());
  if (!live) {
    std::cerr << "cdp: " << live.status().message() << "\n";
    return 1;
  }
  auto plan = pipeline::plan_rules_change(**live, loaded->rules, scratch, progress_line());
  live->reset();
  std::error_code ignored;
  std::filesystem::remove_all(follower_scratch, ignored);
  end_progress_line();
  if (!plan) {
    std::cerr << "cdp: " << plan.status().message() << "\n";
    return 1;
  }
  if (options.json) {
    std::cout << plan_json(*plan) << "\n";
    return 0;
  }
  std::cout << "Replayed " << plan->events << " log entries under the rules in "
            << options.config_path
            << (plan->rules_changed ? " (they differ from those the profiles were built with)."
                                    : " (the profiles were built with these rules).")
            << (plan->first_seq > 1
                    ? "\nThe log starts at seq " + std::to_string(plan->first_seq) +
                          ": retention deleted the events before it, so they count as lost here."
                    : std::string())
            << "\nProfiles: " << plan->profiles_before << " now, " << plan->profiles_after
            << " under these rules.\n";
  std::cout << "Would merge: " << plan->merges << (plan->merges == 1 ? " group" : " groups")
            << " of profiles\n";
  for (const auto& change : plan->merge_examples) print_change(change, true);
  std::cout << "Would split: " << plan->splits << (plan->splits == 1 ? " profile" : " profiles")
            << "\n";
  for (const auto& change : plan->split_examples) print_change(change, false);
  std::cout << "Identifiers that would leave every profile: " << plan->identifiers_unlinked
            << "; that would join one: " << plan->identifiers_linked << "\n";
  if (plan->rules_changed || plan->merges + plan->splits > 0) {
    std::cout << "Apply (with the server stopped): cdp identity apply --config "
              << options.config_path << "\n";
  }
  return 0;
}

int run_identity_apply(const IdentityCommandOptions& options) {
  auto loaded = load(options);
  if (!loaded) return 2;
  if (!std::filesystem::exists(std::filesystem::path(loaded->config.data_dir) / "CURRENT")) {
    std::cerr << "cdp: '" << loaded->config.data_dir
              << "' is not a cdp data directory (check --data or [storage] data)\n";
    return 1;
  }
  storage::Database::Options db_options;
  db_options.path = loaded->config.data_dir;
  auto database = storage::Database::open(db_options);
  if (!database) {
    std::cerr << "cdp: " << database.status().message()
              << "\n(apply needs the data directory to itself: stop `cdp serve` first)\n";
    return 1;
  }
  const auto started = std::chrono::steady_clock::now();
  auto status = pipeline::rebuild_profiles(**database, loaded->rules, progress_line(),
                                           options.allow_trimmed_log);
  end_progress_line();
  if (!status.is_ok()) {
    std::cerr << "cdp: " << status.message() << "\n";
    return 1;
  }
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started);
  std::cout << "Rebuilt the profiles of " << loaded->config.data_dir << " under the rules in "
            << options.config_path << " in " << static_cast<int64_t>(seconds.count()) << " s.\n";
  return 0;
}

}  // namespace cdp::server

#include <CLI/CLI.hpp>

#include <csignal>
#include <iostream>

#include "common/log.h"
#include "server/app.h"
#include "server/audience_command.h"
#include "server/config.h"
#include "server/events_command.h"
#include "server/identity_command.h"
#include "server/import_command.h"
#include "server/linking_command.h"
#include "server/match_command.h"

namespace {

using cdp::server::App;
using cdp::server::Config;

// Ensures the demo source exists and prints how to send it an event.
void prepare_demo(App& app, const Config& config) {
  auto source = app.sources().find("demo");
  if (!source) {
    auto created = app.sources().create("demo", "", true);
    if (!created) {
      std::cerr << "cdp: cannot create the demo source: " << created.status().message() << "\n";
      return;
    }
    source = *created;
  }
  const std::string base = "http://127.0.0.1:" + std::to_string(app.port());
  std::cout << "\ncdp is running on " << config.listen.substr(0, config.listen.rfind(':')) << ":"
            << app.port() << " with data in " << config.data_dir << "\n"
            << "  write key of source \"demo\": " << source->write_key << "\n"
            << "  admin token: " << app.admin_token() << "\n"
            << "  web console: " << base << "/ (log in with the admin token)\n\n"
            << "Send an event:\n"
            << "  curl -u '" << source->write_key << ":' -H 'Content-Type: application/json' \\\n"
            << "    -d '{\"userId\":\"user-1\",\"event\":\"Signed "
               "Up\",\"properties\":{\"plan\":\"pro\"}}' \\\n"
            << "    " << base << "/v1/track\n"
            << "See what arrived:\n"
            << "  curl -H 'Authorization: Bearer " << app.admin_token() << "' '" << base
            << "/admin/v1/events?from=1'\n"
            << "Point an SDK at it: host " << base << ", write key " << source->write_key << "\n"
            << std::endl;
}

int serve(const std::string& config_path, const std::string& data, const std::string& listen,
          const std::string& admin_token, const std::string& console_dir, bool demo) {
  Config config;
  if (!config_path.empty()) {
    auto loaded = Config::load_file(config_path);
    if (!loaded) {
      std::cerr << "cdp: " << loaded.status().message() << "\n";
      return 2;
    }
    config = std::move(*loaded);
  }
  if (!data.empty()) config.data_dir = data;
  if (!listen.empty()) config.listen = listen;
  if (!admin_token.empty()) config.admin_token = admin_token;
  if (!console_dir.empty()) config.console_dir = console_dir;

  // Block the stop signals in every thread; the main thread waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto app = App::start(config);
  if (!app) {
    std::cerr << "cdp: " << app.status().message() << "\n";
    return 1;
  }
  if (demo) prepare_demo(**app, config);
  int received = 0;
  sigwait(&signals, &received);
  cdp::log::info("signal_received", {{"signal", std::to_string(received)}});
  (*app)->stop();
  return 0;
}

void add_admin_options(CLI::App* command, cdp::server::AdminClientOptions& options) {
  command->add_option("--server", options.server,
                      "The server's address (default http://127.0.0.1:8080)");
  command->add_option("--token", options.token,
                      "Admin token (default: $CDP_ADMIN_TOKEN, else <data>/admin-token)");
  command->add_option("--data", options.data_dir,
                      "The server's data directory, to read its admin token from");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"cdp: a self-hosted customer data platform"};
  cli.require_subcommand(1);

  std::string config_path, data, listen, admin_token, console_dir;
  bool demo = false;
  auto* serve_command = cli.add_subcommand("serve", "Run the server");
  serve_command->add_option("--config", config_path, "TOML settings file")
      ->check(CLI::ExistingFile);
  serve_command->add_option("--data", data, "Data directory (default ./cdp-data)");
  serve_command->add_option("--listen", listen, "host:port to listen on (default 127.0.0.1:8080)");
  serve_command->add_option("--admin-token", admin_token,
                            "Token for the admin API (default: generated)");
  serve_command->add_option("--console-dir", console_dir,
                            "The web console's built files (default: web/dist of the source)");
  serve_command->add_flag("--demo", demo,
                          "Create a \"demo\" source and print how to send it events");

  cdp::server::EventsReadOptions read_options;
  auto* events = cli.add_subcommand("events", "Read the raw event log");
  events->require_subcommand(1);
  auto* tail =
      events->add_subcommand("tail", "Print raw log records as JSON Lines from a sequence number");
  tail->add_option("--data", read_options.data_dir, "Data directory");
  tail->add_option("--from", read_options.from_seq, "First sequence number (default 1)");
  tail->add_option("--limit", read_options.limit, "Stop after this many records");
  tail->add_flag("-f,--follow", read_options.follow, "Keep printing new records");
  auto* export_command =
      events->add_subcommand("export", "Write raw log records to a JSON Lines file");
  export_command->add_option("--data", read_options.data_dir, "Data directory");
  export_command->add_option("--from", read_options.from_seq, "First sequence number (default 1)");
  export_command->add_option("--to", read_options.to_seq,
                             "Last sequence number (default: the end)");
  export_command->add_option("--out", read_options.out_path, "Output file (default stdout)");

  cdp::server::IdentityCommandOptions identity_options;
  auto* identity = cli.add_subcommand("identity", "Change the identity rules of existing profiles");
  identity->require_subcommand(1);
  auto* plan = identity->add_subcommand(
      "plan", "Dry run: what the rules in --config would merge and split (server may run)");
  auto* apply = identity->add_subcommand(
      "apply", "Rebuild every profile under the rules in --config (stop the server first)");
  for (auto* command : {plan, apply}) {
    command->add_option("--config", identity_options.config_path, "TOML settings file")
        ->required()
        ->check(CLI::ExistingFile);
    command->add_option("--data", identity_options.data_dir,
                        "Data directory (default: the config's)");
  }
  plan->add_flag("--json", identity_options.json, "Print the plan as JSON");
  apply->add_flag("--allow-trimmed-log", identity_options.allow_trimmed_log,
                  "Rebuild even though retention deleted the oldest events (they leave every "
                  "profile)");

  cdp::server::MatchCommandOptions match_options;
  auto* match = cli.add_subcommand("match", "Probabilistic record matching of CSV files");
  match->require_subcommand(1);
  auto* match_eval = match->add_subcommand(
      "eval", "Match files with known truth; print precision, recall, F1, pairs and costs");
  auto* match_train =
      match->add_subcommand("train", "Train a model without labels and save it (--out)");
  auto* match_run = match->add_subcommand(
      "run", "Match files with a saved model and write each record's cluster (--out)");
  auto* match_explain =
      match->add_subcommand("explain", "Show how a saved model scores one pair (--pair)");
  for (auto* command : {match_eval, match_train, match_run, match_explain}) {
    command->add_option("--file", match_options.files, "CSV file (several: link them)")
        ->required()
        ->check(CLI::ExistingFile);
    command->add_option("--encoding", match_options.encoding, "utf-8 (default) or latin-1");
    command->add_option("--mode", match_options.mode, "dedupe, link or link_and_dedupe");
    command->add_option("--threads", match_options.threads, "Worker threads (default 2)")
        ->check(CLI::Range(1, 64));
  }
  for (auto* command : {match_eval, match_train}) {
    command->add_option("--column", match_options.columns,
                        "COLUMN=KIND, e.g. given_name=first_name (repeat per column)");
    command->add_option("--spec", match_options.spec, "Model specification file (TOML)")
        ->check(CLI::ExistingFile);
  }
  for (auto* command : {match_eval, match_run}) {
    command->add_option("--threshold", match_options.threshold,
                        "Match probability at which records join (default 0.9)");
    command->add_option("--min-link-share", match_options.min_link_share,
                        "Share of links two clusters need to join (default 0.25)");
  }
  match_eval->add_option("--model", match_options.model, "Saved model instead of training")
      ->check(CLI::ExistingFile);
  match_eval
      ->add_option("--truth", match_options.truth,
                   "Column with the true entity, or COLUMN:REGEX whose first group is it")
      ->required();
  match_eval->add_flag("--json", match_options.json, "Print the results as JSON");
  match_eval->add_option("--clusters-out", match_options.out,
                         "Write each record's cluster to this CSV (file,row,cluster)");
  match_train->add_option("--out", match_options.out, "Where to save the model (JSON)")->required();
  for (auto* command : {match_run, match_explain}) {
    command->add_option("--model", match_options.model, "Saved model (from match train)")
        ->required()
        ->check(CLI::ExistingFile);
  }
  match_run->add_option("--out", match_options.out, "Clusters CSV to write (file,row,cluster)")
      ->required();
  match_explain
      ->add_option("--pair", match_options.pair,
                   "ROW,ROW (rows count the header as 1), or FILE:ROW,FILE:ROW")
      ->required();
  match_explain->add_flag("--json", match_options.json, "Print the explanation as JSON");

  cdp::server::LinkingCommandOptions linking_options;
  auto* match_link = match->add_subcommand(
      "link", "Match a running server's profiles and merge the same people (needs [matching])");
  match_link->add_flag("--full", linking_options.full,
                       "Every profile against every other, not only those new since the last run");
  match_link->add_flag("--no-wait", linking_options.no_wait, "Return once the run is queued");
  auto* match_reviews =
      match->add_subcommand("reviews", "Pairs of profiles the matcher was unsure about");
  match_reviews->add_option("--state", linking_options.state,
                            "pending (default), accepted, rejected or all");
  match_reviews->add_option("--limit", linking_options.limit, "At most this many (default 20)");
  auto* match_accept = match->add_subcommand("accept", "Accept a review: its profiles are merged");
  auto* match_reject =
      match->add_subcommand("reject", "Reject a review: its profiles are never linked");
  for (auto* command : {match_accept, match_reject}) {
    command->add_option("id", linking_options.id, "Review id")->required();
  }
  auto* match_explain_profiles = match->add_subcommand(
      "explain-profiles",
      "How the matcher scores two profiles of a running server, field by field");
  match_explain_profiles
      ->add_option("a", linking_options.a, "A profile: email:..., user_id:..., p_N")
      ->required();
  match_explain_profiles->add_option("b", linking_options.b, "The other profile")->required();
  for (auto* command :
       {match_link, match_reviews, match_accept, match_reject, match_explain_profiles}) {
    add_admin_options(command, linking_options.admin);
    command->add_flag("--json", linking_options.json, "Print JSON");
  }

  cdp::server::ImportCommandOptions import_options;
  auto* import = cli.add_subcommand(
      "import", "Import CSV or JSON Lines files into a running server, with a mapping file");
  import->add_option("files", import_options.files, "Files to import")
      ->required()
      ->check(CLI::ExistingFile);
  import
      ->add_option("--mapping", import_options.mapping_path,
                   "Mapping file (TOML): what each column is (docs/import.md)")
      ->required()
      ->check(CLI::ExistingFile);
  import->add_option("--name", import_options.mapping_name,
                     "Store the mapping under this name (default: the mapping file's stem)");
  import->add_flag("--no-wait", import_options.no_wait,
                   "Return once the server has the file instead of following the import");
  auto* imports = cli.add_subcommand("imports", "List file imports and their quarantined rows");
  imports->require_subcommand(1);
  auto* imports_list = imports->add_subcommand("list", "The latest imports, newest first");
  auto* imports_show = imports->add_subcommand("show", "One import's state and counts");
  auto* imports_quarantine =
      imports->add_subcommand("quarantine", "The rows of an import that failed validation");
  for (auto* command : {imports_show, imports_quarantine}) {
    command->add_option("id", import_options.id, "Import id")->required();
  }
  for (auto* command : {imports_list, imports_quarantine}) {
    command->add_option("--limit", import_options.limit, "At most this many (default 100)");
  }
  for (auto* command : {import, imports_list, imports_show, imports_quarantine}) {
    add_admin_options(command, import_options.admin);
    command->add_flag("--json", import_options.json, "Print JSON");
  }

  cdp::server::AudienceCommandOptions audience_options;
  auto* audiences = cli.add_subcommand("audiences", "Audiences of a running server");
  audiences->require_subcommand(1);
  auto* audiences_list = audiences->add_subcommand("list", "Every audience with its size");
  auto* audiences_show = audiences->add_subcommand("show", "One audience");
  auto* audiences_define = audiences->add_subcommand(
      "define",
      "Create or change an audience; the profiles it can affect are evaluated (docs/audiences.md)");
  auto* audiences_delete = audiences->add_subcommand("delete", "Delete an audience");
  auto* audiences_members = audiences->add_subcommand("members", "An audience's current members");
  auto* audiences_changes =
      audiences->add_subcommand("changes", "Entries and exits from the change log, oldest first");
  auto* traits = cli.add_subcommand("traits", "Computed traits of a running server");
  traits->require_subcommand(1);
  auto* traits_list = traits->add_subcommand("list", "Every computed trait");
  auto* traits_show = traits->add_subcommand("show", "One computed trait");
  auto* traits_define = traits->add_subcommand(
      "define", "Create or change a computed trait; it is computed over the history too");
  auto* traits_delete = traits->add_subcommand("delete", "Delete a computed trait");
  for (auto* command : {audiences_show, audiences_define, audiences_delete, audiences_members,
                        traits_show, traits_define, traits_delete}) {
    command->add_option("name", audience_options.name, "Its name")->required();
  }
  audiences_define
      ->add_option("condition", audience_options.condition,
                   "The condition, e.g. 'performed \"Order Completed\" at least 2 times'")
      ->required();
  for (auto* command : {audiences_define, traits_define}) {
    command->add_option("--description", audience_options.description, "What it is for");
  }
  traits_define
      ->add_option("--kind", audience_options.kind,
                   "count, sum, average, min, max, most_frequent, first, last, unique_list, "
                   "unique_count")
      ->required();
  traits_define->add_option("--event", audience_options.event, "Only track events of this name");
  traits_define->add_option("--property", audience_options.property,
                            "The property it aggregates (all kinds but count)");
  traits_define->add_option(
      "--where", audience_options.where,
      "Only events whose properties match, e.g. 'property.currency = \"EUR\"'");
  traits_define->add_option("--window", audience_options.window,
                            "Only events of the last ..., e.g. '30 days'");
  for (auto* command : {audiences_members, audiences_changes}) {
    command->add_option("--limit", audience_options.limit, "At most this many (default 100)");
    command->add_option("--after", audience_options.after, "Continue after this cursor");
  }
  for (auto* command :
       {audiences_list, audiences_show, audiences_define, audiences_delete, audiences_members,
        audiences_changes, traits_list, traits_show, traits_define, traits_delete}) {
    add_admin_options(command, audience_options.admin);
    command->add_flag("--json", audience_options.json, "Print JSON");
  }

  cli.add_subcommand("version", "Print the version")->callback([] { std::cout << "cdp 0.1.0\n"; });

  CLI11_PARSE(cli, argc, argv);
  if (serve_command->parsed())
    return serve(config_path, data, listen, admin_token, console_dir, demo);
  if (tail->parsed()) return cdp::server::run_events_tail(read_options);
  if (export_command->parsed()) return cdp::server::run_events_export(read_options);
  if (plan->parsed()) return cdp::server::run_identity_plan(identity_options);
  if (apply->parsed()) return cdp::server::run_identity_apply(identity_options);
  if (match_eval->parsed()) return cdp::server::run_match_eval(match_options);
  if (match_train->parsed()) return cdp::server::run_match_train(match_options);
  if (match_run->parsed()) return cdp::server::run_match_run(match_options);
  if (match_explain->parsed()) return cdp::server::run_match_explain(match_options);
  if (match_link->parsed()) return cdp::server::run_match_link(linking_options);
  if (match_reviews->parsed()) return cdp::server::run_match_reviews(linking_options);
  if (match_accept->parsed()) return cdp::server::run_match_decide(linking_options, true);
  if (match_reject->parsed()) return cdp::server::run_match_decide(linking_options, false);
  if (match_explain_profiles->parsed()) {
    return cdp::server::run_match_explain_profiles(linking_options);
  }
  if (import->parsed()) return cdp::server::run_import(import_options);
  if (imports_list->parsed()) return cdp::server::run_imports_list(import_options);
  if (imports_show->parsed()) return cdp::server::run_imports_show(import_options);
  if (imports_quarantine->parsed()) return cdp::server::run_imports_quarantine(import_options);
  if (audiences_list->parsed()) return cdp::server::run_audiences_list(audience_options, false);
  if (audiences_show->parsed()) return cdp::server::run_audiences_show(audience_options, false);
  if (audiences_define->parsed()) return cdp::server::run_audiences_define(audience_options);
  if (audiences_delete->parsed()) return cdp::server::run_audiences_delete(audience_options, false);
  if (audiences_members->parsed()) return cdp::server::run_audiences_members(audience_options);
  if (audiences_changes->parsed()) return cdp::server::run_audiences_changes(audience_options);
  if (traits_list->parsed()) return cdp::server::run_audiences_list(audience_options, true);
  if (traits_show->parsed()) return cdp::server::run_audiences_show(audience_options, true);
  if (traits_define->parsed()) return cdp::server::run_traits_define(audience_options);
  if (traits_delete->parsed()) return cdp::server::run_audiences_delete(audience_options, true);
  return 0;
}

#include "pipeline/profile_linker.h"

#include <algorithm>
#include <memory>
#include <numeric>

#include "common/json_writer.h"
#include "ingest/json_tree.h"
#include "profile/state_records.h"

namespace cdp::pipeline {
namespace {

// A trait's value as text: strings unquoted, numbers and booleans as written, others ignored.
std::string trait_text(const std::string& json, ingest::JsonParser& parser) {
  if (json.size() >= 2 && json.front() == '"' && json.find('\\') == std::string::npos) {
    return json.substr(1, json.size() - 2);
  }
  if (json.empty() || json.front() == '{' || json.front() == '[' || json == "null") return {};
  if (json.front() != '"') return json;
  // An escaped string: the parser unescapes it inside an array.
  auto root = parser.parse("[" + json + "]");
  if (!root || (*root)->elements.empty()) return {};
  return std::string((*root)->elements[0]->text);
}

// The identifier that names a profile in a link: its user_id, else its email, else its phone,
// else the first identifier it got.
std::string anchor_of(const profile::Profile& profile) {
  for (std::string_view type : {"user_id", "email", "phone"}) {
    for (const auto& held : profile.identifiers) {
      if (held.identifier.type == type) return held.identifier.display();
    }
  }
  return profile.identifiers.empty() ? std::string()
                                     : profile.identifiers.front().identifier.display();
}

struct Records {
  std::vector<profile::ProfileId> profile;  // per record
  std::vector<std::string> anchor;
};

uint32_t find_root(std::vector<uint32_t>& parent, uint32_t x) {
  while (parent[x] != x) x = parent[x] = parent[parent[x]];
  return x;
}

}  // namespace

Result<std::string> explain_profiles(const match::SavedModel& saved, const profile::Profile& a,
                                     const profile::Profile& b) {
  const auto& columns = saved.config.columns;
  ingest::JsonParser parser;
  std::vector<std::vector<std::string>> values(2, std::vector<std::string>(columns.size()));
  for (int side = 0; side < 2; ++side) {
    const auto& traits = (side == 0 ? a : b).traits;
    for (size_t c = 0; c < columns.size(); ++c) {
      auto trait = traits.find(columns[c].column);
      if (trait != traits.end()) values[side][c] = trait_text(trait->second.json, parser);
    }
  }
  match::RecordTable table(columns);
  for (const auto& row : values) {
    std::vector<std::string_view> views(row.begin(), row.end());
    table.add(views);
  }
  table.finish();
  auto restored = match::restore_model(table, saved);
  if (!restored) return restored.status();
  auto comparisons = restored->model.comparisons();
  for (auto& comparison : comparisons) comparison.term_frequency = false;
  const match::Model model(std::move(comparisons), restored->model.m(), restored->model.u(),
                           restored->model.prior());
  JsonWriter out;
  out.begin_object();
  out.key("columns").begin_array();
  for (size_t c = 0; c < columns.size(); ++c) {
    out.begin_object();
    out.key("name").string(columns[c].column);
    out.key("a").string(values[0][c]);
    out.key("b").string(values[1][c]);
    out.end_object();
  }
  out.end_array();
  out.key("explanation").raw(match::explanation_json(model.explain(table, 0, 1)));
  out.key("termFrequencies").boolean(false);
  out.end_object();
  return out.take();
}

Result<LinkingRun> link_profiles(storage::Database& database, const LinkingOptions& options) {
  LinkingRun run;
  const auto& columns = options.config.columns;
  if (columns.empty()) {
    return Status::invalid_argument("the matching specification names no traits ([columns])");
  }
  match::StageTimer timer;

  // Existing profiles first, new ones after: incremental matching wants the new at the end.
  std::vector<std::pair<Records, std::vector<std::vector<std::string>>>> parts(2);
  {
    ingest::JsonParser parser;
    std::unique_ptr<rocksdb::Iterator> it(
        database.db().NewIterator(rocksdb::ReadOptions(), database.profiles()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto stored = profile::decode_profile(it->value().ToStringView());
      if (!stored) return stored.status();
      if (!stored->live() || stored->identifiers.empty()) continue;
      std::vector<std::string> values(columns.size());
      bool any = false;
      for (size_t c = 0; c < columns.size(); ++c) {
        auto trait = stored->traits.find(columns[c].column);
        if (trait == stored->traits.end()) continue;
        values[c] = trait_text(trait->second.json, parser);
        any = any || !values[c].empty();
      }
      if (!any) continue;
      run.max_profile = std::max(run.max_profile, stored->id);
      auto& [records, rows] = parts[stored->id > options.new_after ? 1 : 0];
      records.profile.push_back(stored->id);
      records.anchor.push_back(anchor_of(*stored));
      rows.push_back(std::move(values));
    }
    if (!it->status().ok()) return storage::from_rocksdb(it->status(), "reading profiles");
  }
  const auto existing = static_cast<uint32_t>(parts[0].first.profile.size());
  run.new_profiles = parts[1].first.profile.size();
  run.profiles = existing + run.new_profiles;
  Records records;
  match::RecordTable table(columns);
  for (auto& [part, rows] : parts) {
    records.profile.insert(records.profile.end(), part.profile.begin(), part.profile.end());
    records.anchor.insert(records.anchor.end(), part.anchor.begin(), part.anchor.end());
    for (const auto& row : rows) {
      std::vector<std::string_view> views(row.begin(), row.end());
      table.add(views);
    }
  }
  table.finish();
  run.stages.push_back(timer.end("read profiles"));
  if (run.profiles < 2 || (options.new_after != 0 && run.new_profiles == 0)) return run;

  match::ModelSpec spec;
  std::optional<match::Model> model;
  const bool outgrown =
      options.saved_trained_on > 0 && run.profiles >= 2 * options.saved_trained_on;
  std::optional<match::RestoredModel> restored;
  if (options.saved && !outgrown) {
    auto reused = match::restore_model(table, *options.saved);
    // A model this service trained under an older specification (other columns) is trained
    // again; one the user configured must fit.
    if (!reused && options.saved_trained_on == 0) return reused.status();
    if (reused) restored = std::move(*reused);
  }
  if (restored) {
    spec = std::move(restored->spec);
    model = std::move(restored->model);
  } else {
    auto built = match::build_model_spec(table, options.config);
    if (!built) return built.status();
    spec = std::move(*built);
  }
  const auto& match_options = options.config.options;
  match::MatchRun matched;
  if (options.new_after != 0 && existing > 0) {
    if (!model) {
      // Trained on everything, used on the new pairs only.
      auto trained = match::run_matching(table, spec, match_options);
      run.model_json =
          match::save_model(table, spec, trained.model, match_options, trained.training);
      model = std::move(trained.model);
      for (auto& stage : trained.stages) {
        if (stage.name == "train") run.stages.push_back(stage);
      }
    }
    std::vector<uint32_t> alone(existing);
    std::iota(alone.begin(), alone.end(), 0);
    matched = match::match_new_records(table, existing, alone, spec, *model, match_options);
  } else if (model) {
    matched = match::run_matching(table, spec, *model, match_options);
  } else {
    matched = match::run_matching(table, spec, match_options);
    run.model_json = match::save_model(table, spec, matched.model, match_options, matched.training);
    model = matched.model;
  }
  run.stages.insert(run.stages.end(), matched.stages.begin(), matched.stages.end());
  run.candidate_pairs = matched.candidates.pairs.size();
  run.largest_cluster = matched.clusters.largest;

  // Links: the strongest pairs joining each cluster's profiles, best first (Kruskal).
  timer = match::StageTimer();
  std::vector<match::ScoredPair> pairs = matched.links;
  std::sort(pairs.begin(), pairs.end(), [](const auto& x, const auto& y) {
    return x.weight != y.weight ? x.weight > y.weight : std::tie(x.a, x.b) < std::tie(y.a, y.b);
  });
  const double match_weight = match::weight_from_probability(match_options.match_threshold);
  const auto& cluster_of = matched.clusters.cluster_of;
  std::vector<uint32_t> parent(table.size());
  std::iota(parent.begin(), parent.end(), 0);
  auto proposal = [&](const match::ScoredPair& pair) {
    ProposedLink link;
    link.profile_a = records.profile[pair.a];
    link.profile_b = records.profile[pair.b];
    link.a = records.anchor[pair.a];
    link.b = records.anchor[pair.b];
    const auto explanation = model->explain(table, pair.a, pair.b);
    link.probability = explanation.probability;
    link.explanation = match::explanation_json(explanation);
    return link;
  };
  for (const auto& pair : pairs) {
    const bool joined = cluster_of[pair.a] == cluster_of[pair.b];
    if (joined && pair.weight >= match_weight) {
      const auto x = find_root(parent, pair.a);
      const auto y = find_root(parent, pair.b);
      if (x == y) continue;
      parent[std::max(x, y)] = std::min(x, y);
      run.links.push_back(proposal(pair));
    } else if (!joined && run.reviews.size() < options.max_reviews) {
      run.reviews.push_back(proposal(pair));
    }
  }
  run.stages.push_back(timer.end("propose links"));
  return run;
}

}  // namespace cdp::pipeline

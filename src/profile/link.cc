// ProfileBuilder's probabilistic links (docs/identity.md, "Probabilistic links").
//
// A link says that the profiles holding two identifiers are one person, with the matcher's
// probability and explanation. It is an entry of the raw log (source storage::kMatchSource), so
// a replay repeats it at the same place, and it goes through the resolver like an event carrying
// both identifiers: limits, unmerge blocks, the merge cap and quarantine apply to it as to any
// event, and a link the rules refuse merges nothing (a drop edge says why). A link never creates
// a profile or an identifier, never sets traits and is not an event of the profile's timeline.
#include <cstdio>

#include "common/log.h"
#include "profile/internal/event_context.h"
#include "profile/internal/json_text.h"
#include "profile/profile_builder.h"

namespace cdp::profile {

Result<ApplyOutcome> ProfileBuilder::apply_link(const storage::RawLogRecord& record,
                                                StateTransaction& txn) {
  auto root = parser_.parse(record.event_json);
  if (!root || !(*root)->is_object()) return ApplyOutcome{};
  const ingest::JsonValue& command = **root;
  const auto type = text_of(command.find("type"));
  auto a = identity::parse_identifier(text_of(command.find("a")));
  auto b = identity::parse_identifier(text_of(command.find("b")));
  if (type != "link" || !a || !b) {
    // Written by a newer version, or not by us: skipping keeps this one running.
    log::warn("unknown_match_entry",
              {{"seq", std::to_string(record.seq)}, {"type", type.substr(0, 64)}});
    return ApplyOutcome{};
  }
  EventContext ctx{record, txn, text_of(command.find("messageId")), record.received_at_ms, {},
                   0,      {}};
  ctx.merge_kind = EdgeKind::kProbabilistic;
  if (const auto* score = command.find("score");
      score != nullptr && score->kind == ingest::JsonKind::kNumber) {
    ctx.score = std::strtod(std::string(score->text).c_str(), nullptr);
  }
  if (const auto* explanation = command.find("explanation");
      explanation != nullptr && explanation->is_object()) {
    ingest::write_json(ctx.explanation, *explanation);
  }
  char rule[96];
  std::snprintf(rule, sizeof rule, "probabilistic: match probability %.4f", ctx.score);
  ctx.merge_rule = rule;
  ctx.refusal_prefix = "probabilistic link refused: ";
  ctx.count_conflicts = false;  // a refused link is the matcher's guess, not the sender's data
  ctx.explain_every_refusal = true;

  // Both sides must be profiles already: a link joins people, it does not invent them.
  if (!txn.holder(*a) || !txn.holder(*b)) {
    CDP_RETURN_IF_ERROR(txn.status());
    return ApplyOutcome{};
  }
  if (txn.holder(*a) == txn.holder(*b)) {
    // Already one profile. Recorded all the same: an unmerge re-applies the links on a
    // profile's edges, and this one must hold the two together if what joins them now goes.
    const ProfileId holder = *txn.holder(*a);
    ctx.put_edge({EdgeKind::kProbabilistic,
                  0,
                  {},
                  0,
                  holder,
                  0,
                  {a->display(), b->display()},
                  ctx.merge_rule + " (already one profile)",
                  ctx.score,
                  ctx.explanation});
    CDP_RETURN_IF_ERROR(txn.status());
    ctx.outcome.profile = holder;
    return ctx.outcome;
  }
  auto resolution = resolver_.resolve({*a, *b}, ctx.time_ms, txn);
  CDP_RETURN_IF_ERROR(txn.status());
  if (!resolution.profile) return ctx.outcome;
  const ProfileId target = *resolution.profile;
  ctx.outcome.profile = target;
  for (const auto& id : resolution.identifiers) ctx.identifiers.push_back(id.display());
  Profile& survivor = txn.profile(target);
  for (const auto loser : resolution.merged) merge_into(survivor, loser, ctx);
  if (!resolution.merged.empty() && !replaying_ && !audience_.definitions().empty_of_work()) {
    refresh_audiences(survivor, ctx.message_id.empty() ? "link" : "link " + ctx.message_id,
                      record.received_at_ms, false, txn);
  }
  record_refusals(resolution, target, ctx);
  CDP_RETURN_IF_ERROR(txn.status());
  return ctx.outcome;
}

}  // namespace cdp::profile

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "profile/profile_builder.h"

namespace cdp::profile {

// Everything about the event being applied that the steps share.
struct ProfileBuilder::EventContext {
  const storage::RawLogRecord& record;
  StateTransaction& txn;
  std::string message_id;
  int64_t time_ms = 0;
  std::vector<std::string> identifiers;  // the resolved identifiers, type:value
  uint16_t edge_index = 0;
  ApplyOutcome outcome;
  // How merges made by this entry are recorded: an event's identifiers, or a probabilistic link.
  EdgeKind merge_kind = EdgeKind::kMerge;
  std::string merge_rule = "identifiers of both profiles on one event";
  double score = 0;
  std::string explanation = {};
  std::string refusal_prefix = {};  // put before a drop edge's rule
  bool count_conflicts = true;      // refusals count towards quarantining the identifier
  // Record every refusal, unmerge blocks and quarantine included (a link is one decision, and
  // why it merged nothing is the answer to "why are these still two profiles?").
  bool explain_every_refusal = false;

  void put_edge(Edge edge) {
    edge.seq = record.seq;
    edge.message_id = message_id;
    edge.time_ms = time_ms;
    auto& database = txn.database();
    txn.batch().Put(database.identity_edges(), edge_key(edge.profile, record.seq, edge_index++),
                    encode_edge(edge));
  }
};

}  // namespace cdp::profile

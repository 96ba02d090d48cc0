#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "audience/aggregate.h"
#include "audience/condition.h"
#include "audience/funnel.h"
#include "common/json_writer.h"
#include "common/status.h"
#include "ingest/json_tree.h"

namespace cdp::audience {

// A computed trait: `name` is how conditions (computed.NAME) and the Profile API call it.
struct ComputedTraitDefinition {
  std::string name;
  AggregateSpec spec;
  std::string description;

  bool operator==(const ComputedTraitDefinition&) const = default;
};

struct AudienceDefinition {
  std::string name;
  Condition condition;
  std::string description;

  bool operator==(const AudienceDefinition&) const = default;
};

// Names of audiences and computed traits: 1 to 200 bytes of UTF-8 without '/' or control
// characters (names are URL path segments).
Status check_definition_name(std::string_view name, std::string_view what);

// The API's body of a computed trait: {"kind": "sum", "event": "Order Completed",
// "property": "total", "where": "property.currency = \"EUR\"" (or its JSON form),
// "window": "30 days", "description": "..."}.
Result<ComputedTraitDefinition> parse_computed_trait(std::string name,
                                                     const ingest::JsonValue& body);
void write_computed_trait(JsonWriter& out, const ComputedTraitDefinition& definition);

// The API's body of an audience: {"condition": "text" or {JSON form}, "description": "..."}.
// Bodies may repeat the name; what the write_ functions print parses back.
Result<AudienceDefinition> parse_audience(std::string name, const ingest::JsonValue& body);
// `with_json` adds "condition_json", the condition's JSON form.
void write_audience(JsonWriter& out, const AudienceDefinition& definition, bool with_json);

// Every definition, compiled for evaluation: the aggregates each event feeds, and which
// audiences depend on which traits, aggregates, funnels and other audiences.
// Immutable once compiled; shared by the processor and readers.
class Definitions {
 public:
  struct CompiledAudience {
    AudienceDefinition definition;
    std::set<std::string, std::less<>> traits;      // top-level trait names it reads
    std::set<std::string, std::less<>> aggregates;  // aggregate keys (computed traits, counters)
    std::set<std::string, std::less<>> funnels;     // funnel keys
    std::set<std::string, std::less<>> audiences;   // audiences it reads
    std::vector<size_t> inputs;                     // and their indexes into audiences()
    bool uses_time = false;                 // windows or `in last`: time alone can change it
    std::vector<const Condition*> in_last;  // its `trait... in last D` comparisons
  };

  // Refuses references to computed traits or audiences that are not defined, and cycles of
  // audiences.
  static Result<std::shared_ptr<const Definitions>> compile(
      std::vector<ComputedTraitDefinition> traits, std::vector<AudienceDefinition> audiences);
  static std::shared_ptr<const Definitions> empty();

  // Keys of a profile's aggregate and funnel state: "t:" and the computed trait's name; "c:" or
  // "f:" and a hash of the counter's or funnel's canonical text.
  static std::string trait_key(std::string_view name) { return "t:" + std::string(name); }
  static std::string counter_key(const Condition& performed);
  static std::string funnel_key(const Condition& funnel);

  const std::vector<ComputedTraitDefinition>& computed_traits() const { return traits_; }
  const ComputedTraitDefinition* computed_trait(std::string_view name) const;
  const AudienceDefinition* audience(std::string_view name) const;
  // Audiences in dependency order: an audience comes after every audience it reads.
  const std::vector<CompiledAudience>& audiences() const { return audiences_; }

  // Aggregates (computed traits and counters) by key; funnels by key.
  const std::map<std::string, Aggregate, std::less<>>& aggregates() const { return aggregates_; }
  const std::map<std::string, Funnel, std::less<>>& funnels() const { return funnels_; }

  bool empty_of_work() const { return aggregates_.empty() && audiences_.empty(); }

  // Positions, which the engine looks state up by instead of keys and names for every event:
  // an aggregate's or funnel's is its place in aggregates() or funnels() (key order, the order of
  // a profile's state too); an audience's is its index into audiences().
  static constexpr size_t kNoPosition = static_cast<size_t>(-1);
  template <typename T>
  using Positioned = std::vector<std::pair<std::string_view, const T*>>;
  const Positioned<Aggregate>& aggregate_positions() const { return aggregate_positions_; }
  const Positioned<Funnel>& funnel_positions() const { return funnel_positions_; }
  // (name, index into audiences()), sorted by name.
  const std::vector<std::pair<std::string_view, size_t>>& audiences_by_name() const {
    return audiences_by_name_;
  }
  // The position that a node of an audience's condition reads: the aggregate of a kPerformed
  // node or of a kCompare node on a computed trait, the funnel of a kFunnel node, the audience of
  // a kMember node. kNoPosition for other nodes and for nodes of another condition.
  size_t position_of(const Condition& node) const {
    const auto it = positions_.find(&node);
    return it != positions_.end() ? it->second : kNoPosition;
  }
  // The aggregates and funnels (positions) that some time-dependent audience reads.
  const std::vector<size_t>& timed_aggregates() const { return timed_aggregates_; }
  const std::vector<size_t>& timed_funnels() const { return timed_funnels_; }
  // The audiences (indexes into audiences()) that read an aggregate or funnel key, a position,
  // or a trait.
  const std::vector<size_t>& readers_of_key(std::string_view key) const {
    return find_or_none(readers_, key);
  }
  const std::vector<size_t>& readers_of_aggregate(size_t position) const {
    return aggregate_readers_[position];
  }
  const std::vector<size_t>& readers_of_funnel(size_t position) const {
    return funnel_readers_[position];
  }
  const std::vector<size_t>& readers_of_trait(std::string_view trait) const {
    return find_or_none(trait_readers_, trait);
  }

  Definitions() = default;
  // The indexes point into the definitions themselves.
  Definitions(const Definitions&) = delete;
  Definitions& operator=(const Definitions&) = delete;

 private:
  void index();

  std::vector<ComputedTraitDefinition> traits_;
  std::vector<CompiledAudience> audiences_;
  std::map<std::string, Aggregate, std::less<>> aggregates_;
  std::map<std::string, Funnel, std::less<>> funnels_;
  Positioned<Aggregate> aggregate_positions_;
  Positioned<Funnel> funnel_positions_;
  std::vector<std::pair<std::string_view, size_t>> audiences_by_name_;
  std::unordered_map<const Condition*, size_t> positions_;
  std::vector<size_t> timed_aggregates_;
  std::vector<size_t> timed_funnels_;
  using Readers = std::map<std::string, std::vector<size_t>, std::less<>>;
  Readers readers_;
  Readers trait_readers_;
  std::vector<std::vector<size_t>> aggregate_readers_;
  std::vector<std::vector<size_t>> funnel_readers_;

  static const std::vector<size_t>& find_or_none(const Readers& readers, std::string_view key) {
    static const std::vector<size_t> kNone;
    const auto it = readers.find(key);
    return it != readers.end() ? it->second : kNone;
  }
};

}  // namespace cdp::audience

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

  // The aggregate or funnel key of a kPerformed or kFunnel node of an audience's condition.
  // nullptr for a node of another condition (a preview).
  const std::string* key_of(const Condition& node) const {
    const auto it = keys_.find(&node);
    return it != keys_.end() ? &it->second : nullptr;
  }
  // Aggregates and funnels that some time-dependent audience reads.
  const std::set<std::string, std::less<>>& timed_keys() const { return timed_keys_; }
  // The audiences (indexes into audiences()) that read an aggregate or funnel key, or a trait.
  const std::vector<size_t>& readers_of_key(std::string_view key) const {
    return find_or_none(readers_, key);
  }
  const std::vector<size_t>& readers_of_trait(std::string_view trait) const {
    return find_or_none(trait_readers_, trait);
  }

 private:
  void index();

  std::vector<ComputedTraitDefinition> traits_;
  std::vector<CompiledAudience> audiences_;
  std::map<std::string, Aggregate, std::less<>> aggregates_;
  std::map<std::string, Funnel, std::less<>> funnels_;
  std::unordered_map<const Condition*, std::string> keys_;
  std::set<std::string, std::less<>> timed_keys_;
  using Readers = std::map<std::string, std::vector<size_t>, std::less<>>;
  Readers readers_;
  Readers trait_readers_;

  static const std::vector<size_t>& find_or_none(const Readers& readers, std::string_view key) {
    static const std::vector<size_t> kNone;
    const auto it = readers.find(key);
    return it != readers.end() ? it->second : kNone;
  }
};

}  // namespace cdp::audience

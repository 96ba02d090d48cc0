#pragma once

#include <string>

#include "audience/condition.h"
#include "common/json_writer.h"
#include "common/status.h"
#include "ingest/json_tree.h"

namespace cdp::audience {

// The JSON form of a condition (docs/audiences.md#the-json-form), for programs that build
// conditions rather than write them:
//
//   {"and": [{"trait": "plan", "op": "=", "value": "pro"},
//            {"performed": "Order Completed", "at_least": 2, "in_last": "30 days"}]}
//
// Errors name the member by its JSON pointer ("/and/1/at_least: ...").
Result<Condition> condition_from_json(const ingest::JsonValue& json);
// A where clause on its own, in JSON form (conditions over {"property": ...}).
Result<Condition> filter_from_json(const ingest::JsonValue& json);

void write_condition(JsonWriter& out, const Condition& condition);

// A path in JSON: "address.city" or ["address", "city"] (for names that hold dots). An empty
// name, or anything else, is kInvalidArgument saying what a path looks like.
Result<std::vector<std::string>> path_from_json(const ingest::JsonValue& json);
// The dotted string when no name holds a dot, else the array.
void write_path(JsonWriter& out, const std::vector<std::string>& path);
std::string condition_to_json(const Condition& condition);

}  // namespace cdp::audience

#include "ingest/tracking_request.h"

#include <array>

#include "ingest/event_normalizer.h"

namespace cdp::ingest {
namespace {

struct PathEntry {
  std::string_view path;
  Endpoint endpoint;
};

constexpr std::array<PathEntry, 15> kPaths = {{
    {"/v1/identify", Endpoint::kIdentify},
    {"/v1/i", Endpoint::kIdentify},
    {"/v1/track", Endpoint::kTrack},
    {"/v1/t", Endpoint::kTrack},
    {"/v1/page", Endpoint::kPage},
    {"/v1/p", Endpoint::kPage},
    {"/v1/screen", Endpoint::kScreen},
    {"/v1/s", Endpoint::kScreen},
    {"/v1/group", Endpoint::kGroup},
    {"/v1/g", Endpoint::kGroup},
    {"/v1/alias", Endpoint::kAlias},
    {"/v1/a", Endpoint::kAlias},
    {"/v1/batch", Endpoint::kBatch},
    {"/v1/b", Endpoint::kBatch},
    {"/v1/import", Endpoint::kBatch},
}};

std::string_view type_of(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kIdentify: return "identify";
    case Endpoint::kTrack: return "track";
    case Endpoint::kPage: return "page";
    case Endpoint::kScreen: return "screen";
    case Endpoint::kGroup: return "group";
    case Endpoint::kAlias: return "alias";
    case Endpoint::kBatch: return "";
  }
  return "";
}

std::optional<std::string> string_member(const JsonValue& object, std::string_view key) {
  const JsonValue* value = object.find(key);
  if (value != nullptr && value->is_string()) return std::string(value->text);
  return std::nullopt;
}

}  // namespace

std::optional<Endpoint> endpoint_for_path(std::string_view path) {
  if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  for (const auto& entry : kPaths) {
    if (entry.path == path) return entry.endpoint;
  }
  return std::nullopt;
}

Result<ParsedRequest> TrackingRequestParser::parse(std::string_view body,
                                                   const RequestContext& context) {
  if (body.empty())
    return Status::invalid_argument("the request body is empty; send a JSON object");
  auto parsed_json = json_.parse(body);
  if (!parsed_json) return parsed_json.status();
  const JsonValue& root = **parsed_json;
  if (!root.is_object()) return Status::invalid_argument("the body must be a JSON object");

  ParsedRequest request;
  request.body_write_key = string_member(root, "writeKey");
  EventDefaults defaults;
  defaults.client_ip = context.client_ip;
  defaults.received_at_ms = context.received_at_ms;

  auto add = [&](const JsonValue& item, size_t index) {
    NormalizeOutcome outcome = normalize_event(item, defaults, limits_);
    if (outcome.event) {
      request.events.push_back(storage::AppendEvent{std::move(outcome.event->message_id),
                                                    std::move(outcome.event->json)});
      request.event_indexes.push_back(index);
    } else {
      request.rejections.push_back(Rejection{index, std::move(outcome.message_id_as_sent),
                                             std::move(outcome.error.code),
                                             std::move(outcome.error.reason)});
    }
  };

  if (context.endpoint != Endpoint::kBatch) {
    defaults.type = type_of(context.endpoint);
    request.item_count = 1;
    add(root, 0);
    return request;
  }

  const JsonValue* batch = root.find("batch");
  if (batch == nullptr || batch->kind != JsonKind::kArray) {
    return Status::invalid_argument("a batch request needs a \"batch\" array of events");
  }
  if (batch->elements.empty()) {
    return Status::invalid_argument("the \"batch\" array is empty; send at least one event");
  }
  defaults.context = root.find("context");
  defaults.integrations = root.find("integrations");
  defaults.sent_at = root.find("sentAt");
  request.item_count = batch->elements.size();
  request.events.reserve(std::min(batch->elements.size(), limits_.max_batch_events));
  for (size_t i = 0; i < batch->elements.size(); ++i) {
    if (i >= limits_.max_batch_events) {
      request.rejections.push_back(Rejection{
          i, string_member(*batch->elements[i], "messageId").value_or(""), "batch_too_large",
          "a batch holds at most " + std::to_string(limits_.max_batch_events) +
              " events; send the rest in another request"});
      continue;
    }
    add(*batch->elements[i], i);
  }
  return request;
}

}  // namespace cdp::ingest

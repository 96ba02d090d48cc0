// Fuzz target for identifier parsing and normalisation, which see untrusted text twice: in events
// (any string an SDK sends) and in Profile API references (`type:value` from a URL).
// Checks: nothing crashes; normalisation is idempotent (a stored value normalised again, as a
// lookup does, finds itself); normalised values are valid UTF-8 without surrounding spaces.
#include <simdjson.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "identity/extractor.h"
#include "identity/identifier.h"
#include "identity/normalizer.h"
#include "ingest/json_tree.h"

namespace {

void check(const cdp::identity::IdentifierNormalizer& normalizer, const std::string& type,
           std::string_view raw) {
  auto once = normalizer.normalize(type, raw);
  if (!once) return;
  if (once->empty() || once->front() == ' ' || once->back() == ' ') std::abort();
  if (!simdjson::validate_utf8(once->data(), once->size())) std::abort();
  auto twice = normalizer.normalize(type, *once);
  if (!twice || *twice != *once) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const cdp::identity::IdentifierNormalizer normalizer("US");
  static cdp::ingest::JsonParser parser;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto reference = cdp::identity::parse_identifier(text)) {
    if (!cdp::identity::is_identifier_type(reference->type)) std::abort();
    check(normalizer, reference->type, reference->value);
  }
  for (const char* type : {"email", "phone", "user_id"}) check(normalizer, type, text);

  auto root = parser.parse(text);
  if (root && (*root)->is_object()) {
    const auto extracted =
        cdp::identity::extract_identifiers(**root, {{"crm_id", {"traits", "crm_id"}}});
    for (const auto& id : extracted.identifiers) {
      if (!cdp::identity::is_identifier_type(id.type)) std::abort();
      check(normalizer, id.type, id.value);
    }
  }
  return 0;
}

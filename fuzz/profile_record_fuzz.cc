// Fuzz target for stored profile records (decode_profile): any bytes, read as a record (JSON, then
// after a NUL the audience state's binary form) and, from the first byte on, as that binary form
// alone; also as a timeline entry's value. Never crashes; what is read writes back to a record
// that reads to the same profile (an entry to the same entry), its head and details read alone
// are that profile too, and a refusal is a corruption that says what was malformed.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "profile/profile.h"
#include "profile/state_records.h"

namespace {

void check_refusal(const cdp::Status& status) {
  if (status.code() != cdp::StatusCode::kCorruption || status.message().empty()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (auto state = cdp::audience::decode_audience_state(bytes)) {
    std::string again;
    cdp::audience::encode_audience_state(again, *state);
    auto back = cdp::audience::decode_audience_state(again);
    if (!back || !(*back == *state)) std::abort();
  } else {
    check_refusal(state.status());
  }
  if (const auto entry = cdp::profile::decode_timeline_value(bytes)) {
    if (!entry->has_properties) {
      if (cdp::profile::encode_timeline_value(entry->type, entry->event) != bytes) std::abort();
    } else if (entry->type != "track") {
      std::abort();  // only track entries keep properties
    } else {
      (void)entry->left_out_property("price");  // walks every left-out name
    }
  }
  // What a pass reads: the head, then the details. Either may refuse what decode_profile
  // refuses (each skips the other's members), but not in any other way.
  auto head = cdp::profile::decode_profile_head(bytes);
  if (!head) check_refusal(head.status());
  const auto details = head ? cdp::profile::decode_profile_details(bytes, *head) : head.status();
  if (!details.is_ok()) check_refusal(details);
  auto profile = cdp::profile::decode_profile(bytes);
  if (!profile) {
    check_refusal(profile.status());
    return 0;
  }
  // Whatever decode_profile reads, the head and details read the same; but a record that starts
  // as this build writes them has its head read from its first bytes, and only where the rest
  // is as written too can no member further on say otherwise (decode_profile_head).
  const auto record = cdp::profile::encode_profile(*profile);
  const bool head_from_first_bytes = bytes.starts_with(R"({"v":1,"id":)");
  if ((!head_from_first_bytes || bytes == record) &&
      (!details.is_ok() || cdp::profile::encode_profile(*head) != record)) {
    std::abort();
  }
  auto back = cdp::profile::decode_profile(record);
  if (!back || cdp::profile::encode_profile(*back) != record ||
      !(back->audience == profile->audience))
    std::abort();
  return 0;
}

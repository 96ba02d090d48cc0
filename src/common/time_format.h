#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cdp {

// Parses an ISO 8601 / RFC 3339 date-time ("2024-05-01T12:30:00.123Z", "...+02:00",
// "2024-05-01 12:30:00", "2024-05-01") into milliseconds since the Unix epoch.
// A missing zone means UTC. Fractions beyond milliseconds are truncated.
// Returns nullopt when `text` is not such a date-time.
std::optional<int64_t> parse_iso8601_ms(std::string_view text);

// Formats milliseconds since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string format_iso8601_ms(int64_t epoch_ms);

}  // namespace cdp

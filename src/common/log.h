#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace cdp::log {

// Structured logs: one JSON object per line on stderr, e.g.
//   {"ts":"2026-11-25T16:00:00.000Z","level":"info","msg":"server_started","listen":"127.0.0.1:8080"}
// `msg` is a stable snake_case event name; details go in fields. Thread-safe.
using Fields = std::initializer_list<std::pair<std::string_view, std::string>>;

enum class Level { kDebug, kInfo, kWarn, kError };

void set_level(Level level);
// Parses "debug", "info", "warn" or "error"; false when unknown.
bool set_level(std::string_view name);

void write(Level level, std::string_view msg, Fields fields);
inline void debug(std::string_view msg, Fields fields = {}) { write(Level::kDebug, msg, fields); }
inline void info(std::string_view msg, Fields fields = {}) { write(Level::kInfo, msg, fields); }
inline void warn(std::string_view msg, Fields fields = {}) { write(Level::kWarn, msg, fields); }
inline void error(std::string_view msg, Fields fields = {}) { write(Level::kError, msg, fields); }

}  // namespace cdp::log

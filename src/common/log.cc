#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>

#include "common/clock.h"
#include "common/json_writer.h"
#include "common/time_format.h"

namespace cdp::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};

spdlog::logger& logger() {
  // spdlog gives us a thread-safe, line-buffered sink; the JSON line is built here.
  static auto instance = [] {
    auto created = spdlog::stderr_logger_mt("cdp");
    created->set_pattern("%v");
    created->set_level(spdlog::level::trace);
    created->flush_on(spdlog::level::trace);
    return created;
  }();
  return *instance;
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

}  // namespace

void set_level(Level level) { g_level.store(level); }

bool set_level(std::string_view name) {
  for (Level level : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (name == level_name(level)) {
      set_level(level);
      return true;
    }
  }
  return false;
}

void write(Level level, std::string_view msg, Fields fields) {
  if (level < g_level.load(std::memory_order_relaxed)) return;
  JsonWriter line;
  line.begin_object();
  line.key("ts").string(format_iso8601_ms(SystemClock::instance().now_ms()));
  line.key("level").string(level_name(level));
  line.key("msg").string(msg);
  for (const auto& [name, value] : fields) line.key(name).string(value);
  line.end_object();
  logger().info(line.str());
}

}  // namespace cdp::log

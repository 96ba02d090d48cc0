#include "common/time_format.h"

#include <chrono>
#include <cstdio>

namespace cdp {
namespace {

// Reads exactly `width` digits at `pos`; advances pos.
bool read_digits(std::string_view text, size_t& pos, int width, int& out) {
  if (pos + static_cast<size_t>(width) > text.size()) return false;
  int value = 0;
  for (int i = 0; i < width; ++i) {
    char c = text[pos + static_cast<size_t>(i)];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  pos += static_cast<size_t>(width);
  out = value;
  return true;
}

bool consume(std::string_view text, size_t& pos, char expected) {
  if (pos < text.size() && text[pos] == expected) {
    ++pos;
    return true;
  }
  return false;
}

}  // namespace

std::optional<int64_t> parse_iso8601_ms(std::string_view text) {
  using namespace std::chrono;
  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  if (!read_digits(text, pos, 4, year) || !consume(text, pos, '-') ||
      !read_digits(text, pos, 2, month) || !consume(text, pos, '-') ||
      !read_digits(text, pos, 2, day)) {
    return std::nullopt;
  }
  const year_month_day date{std::chrono::year{year},
                            std::chrono::month{static_cast<unsigned>(month)},
                            std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return std::nullopt;
  int64_t offset_minutes = 0;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') return std::nullopt;
    ++pos;
    if (!read_digits(text, pos, 2, hour) || !consume(text, pos, ':') ||
        !read_digits(text, pos, 2, minute)) {
      return std::nullopt;
    }
    if (consume(text, pos, ':') && !read_digits(text, pos, 2, second)) return std::nullopt;
    if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
    if (consume(text, pos, '.') || consume(text, pos, ',')) {
      size_t digits = 0;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        if (digits < 3) millis = millis * 10 + (text[pos] - '0');
        ++digits;
        ++pos;
      }
      if (digits == 0) return std::nullopt;
      for (size_t i = digits; i < 3; ++i) millis *= 10;
    }
    if (pos < text.size()) {
      char zone = text[pos];
      if (zone == 'Z' || zone == 'z') {
        ++pos;
      } else if (zone == '+' || zone == '-') {
        ++pos;
        int zone_hours = 0, zone_minutes = 0;
        if (!read_digits(text, pos, 2, zone_hours)) return std::nullopt;
        // "+02", "+0200" and "+02:00" are offsets; "+02:" is not.
        const bool colon = consume(text, pos, ':');
        if ((colon || pos < text.size()) && !read_digits(text, pos, 2, zone_minutes)) {
          return std::nullopt;
        }
        if (zone_hours > 23 || zone_minutes > 59) return std::nullopt;
        offset_minutes = (zone_hours * 60 + zone_minutes) * (zone == '+' ? 1 : -1);
      } else {
        return std::nullopt;
      }
    }
    if (pos != text.size()) return std::nullopt;
  }
  const int64_t days = sys_days{date}.time_since_epoch().count();
  const int64_t seconds_of_day = hour * 3600 + minute * 60 + second;
  return (days * 86400 + seconds_of_day - offset_minutes * 60) * 1000 + millis;
}

std::string format_iso8601_ms(int64_t epoch_ms) {
  using namespace std::chrono;
  int64_t days = epoch_ms >= 0 ? epoch_ms / 86400000 : (epoch_ms - 86399999) / 86400000;
  int64_t ms_of_day = epoch_ms - days * 86400000;
  const year_month_day date{sys_days{std::chrono::days{days}}};
  // Written digit by digit: this runs twice per ingested event and snprintf showed in profiles.
  std::string out = "0000-00-00T00:00:00.000Z";
  auto put = [&out](size_t pos, int value, int width) {
    for (int i = width - 1; i >= 0; --i) {
      out[pos + static_cast<size_t>(i)] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  };
  const int year = static_cast<int>(date.year());
  if (year < 0 || year > 9999) {  // beyond 4 digits: rare, so the slow general path
    char buffer[48];
    std::snprintf(buffer, sizeof(buffer), "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", year,
                  static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                  static_cast<int>(ms_of_day / 3600000), static_cast<int>(ms_of_day / 60000 % 60),
                  static_cast<int>(ms_of_day / 1000 % 60), static_cast<int>(ms_of_day % 1000));
    return buffer;
  }
  put(0, year, 4);
  put(5, static_cast<int>(static_cast<unsigned>(date.month())), 2);
  put(8, static_cast<int>(static_cast<unsigned>(date.day())), 2);
  put(11, static_cast<int>(ms_of_day / 3600000), 2);
  put(14, static_cast<int>(ms_of_day / 60000 % 60), 2);
  put(17, static_cast<int>(ms_of_day / 1000 % 60), 2);
  put(20, static_cast<int>(ms_of_day % 1000), 3);
  return out;
}

}  // namespace cdp

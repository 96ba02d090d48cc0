#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace cdp {

class Counter {
 public:
  void inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A latency histogram with fixed bucket bounds in seconds (Prometheus `le` semantics).
class Histogram {
 public:
  static constexpr std::array<double, 14> kBounds = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                                     0.1,    0.2,   0.5,   1.0,   2.0,  5.0,  10.0};
  void observe(double seconds);
  void render(std::string& out, std::string_view name, std::string_view labels) const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};
};

// Holds every metric the server exports and renders them in Prometheus text format.
// Lookups take a mutex: hot paths look a metric up once and keep the reference, which stays
// valid for the registry's lifetime. Thread-safe.
class MetricsRegistry {
 public:
  // `labels` is the Prometheus label set without braces, e.g. `reason="missing_event"`.
  Counter& counter(std::string_view name, std::string_view help, std::string_view labels = "");
  Histogram& histogram(std::string_view name, std::string_view help, std::string_view labels = "");
  // A gauge read when /metrics is rendered.
  void gauge(std::string_view name, std::string_view help, std::function<double()> read,
             std::string_view labels = "");

  std::string render() const;

 private:
  struct Family {
    std::string help;
    std::string type;
    std::map<std::string, std::unique_ptr<Counter>, std::less<>> counters;
    std::map<std::string, std::unique_ptr<Histogram>, std::less<>> histograms;
    std::map<std::string, std::function<double()>, std::less<>> gauges;  // by labels
  };
  Family& family(std::string_view name, std::string_view help, std::string_view type);

  mutable std::mutex mutex_;
  std::map<std::string, Family, std::less<>> families_;
};

// Escapes a label value for the Prometheus text format.
std::string prometheus_label_value(std::string_view value);

}  // namespace cdp

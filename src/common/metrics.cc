#include "common/metrics.h"

#include <fmt/format.h>

namespace cdp {

void Histogram::observe(double seconds) {
  size_t bucket = 0;
  while (bucket < kBounds.size() && seconds > kBounds[bucket]) ++bucket;
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void Histogram::render(std::string& out, std::string_view name, std::string_view labels) const {
  const std::string prefix = labels.empty() ? "" : fmt::format("{},", labels);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out += fmt::format("{}_bucket{{{}le=\"{}\"}} {}\n", name, prefix, kBounds[i], cumulative);
  }
  cumulative += buckets_[kBounds.size()].load(std::memory_order_relaxed);
  out += fmt::format("{}_bucket{{{}le=\"+Inf\"}} {}\n", name, prefix, cumulative);
  const std::string braces = labels.empty() ? "" : fmt::format("{{{}}}", labels);
  out += fmt::format("{}_sum{} {}\n", name, braces,
                     static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6);
  out += fmt::format("{}_count{} {}\n", name, braces, count_.load(std::memory_order_relaxed));
}

MetricsRegistry::Family& MetricsRegistry::family(std::string_view name, std::string_view help,
                                                 std::string_view type) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{}).first;
    it->second.help = help;
    it->second.type = type;
  }
  return it->second;
}

Counter& MetricsRegistry::counter(std::string_view name, std::string_view help,
                                  std::string_view labels) {
  std::lock_guard lock(mutex_);
  auto& counters = family(name, help, "counter").counters;
  auto it = counters.find(labels);
  if (it == counters.end()) {
    it = counters.emplace(std::string(labels), std::make_unique<Counter>()).first;
  }
  return *it->second;
}

Histogram& MetricsRegistry::histogram(std::string_view name, std::string_view help,
                                      std::string_view labels) {
  std::lock_guard lock(mutex_);
  auto& histograms = family(name, help, "histogram").histograms;
  auto it = histograms.find(labels);
  if (it == histograms.end()) {
    it = histograms.emplace(std::string(labels), std::make_unique<Histogram>()).first;
  }
  return *it->second;
}

void MetricsRegistry::gauge(std::string_view name, std::string_view help,
                            std::function<double()> read, std::string_view labels) {
  std::lock_guard lock(mutex_);
  family(name, help, "gauge").gauges.insert_or_assign(std::string(labels), std::move(read));
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, family] : families_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, family.help, name, family.type);
    for (const auto& [labels, counter] : family.counters) {
      if (labels.empty()) {
        out += fmt::format("{} {}\n", name, counter->value());
      } else {
        out += fmt::format("{}{{{}}} {}\n", name, labels, counter->value());
      }
    }
    for (const auto& [labels, histogram] : family.histograms) histogram->render(out, name, labels);
    for (const auto& [labels, read] : family.gauges) {
      if (labels.empty()) {
        out += fmt::format("{} {}\n", name, read());
      } else {
        out += fmt::format("{}{{{}}} {}\n", name, labels, read());
      }
    }
  }
  return out;
}

std::string prometheus_label_value(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace cdp

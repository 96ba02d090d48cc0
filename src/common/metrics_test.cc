#include "common/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace cdp {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The value of the sample line that starts with `series ` in `text`; -1 when there is none.
double sample_value(const std::string& text, const std::string& series) {
  const std::string prefix = series + " ";
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (text.compare(start, prefix.size(), prefix) == 0) {
      return std::stod(text.substr(start + prefix.size(), end - start - prefix.size()));
    }
    start = end + 1;
  }
  return -1;
}

TEST(MetricsRegistryTest, RendersACounterWithHelpAndType) {
  MetricsRegistry registry;
  registry.counter("cdp_events_total", "Events accepted.").inc(3);
  EXPECT_EQ(registry.render(),
            "# HELP cdp_events_total Events accepted.\n"
            "# TYPE cdp_events_total counter\n"
            "cdp_events_total 3\n");
}

TEST(MetricsRegistryTest, SameNameAndLabelsReturnTheSameCounter) {
  MetricsRegistry registry;
  Counter& first = registry.counter("c", "help", R"(reason="a")");
  Counter& second = registry.counter("c", "help", R"(reason="a")");
  EXPECT_EQ(&first, &second);
  first.inc();
  second.inc(2);
  EXPECT_EQ(first.value(), 3u);
}

TEST(MetricsRegistryTest, RendersEachLabelSetOfAFamilyUnderOneHeader) {
  MetricsRegistry registry;
  registry.counter("cdp_rejected_total", "Rejected events.", R"(reason="missing_event")").inc();
  registry.counter("cdp_rejected_total", "Rejected events.", R"(reason="too_large")").inc(5);
  EXPECT_EQ(registry.render(),
            "# HELP cdp_rejected_total Rejected events.\n"
            "# TYPE cdp_rejected_total counter\n"
            "cdp_rejected_total{reason=\"missing_event\"} 1\n"
            "cdp_rejected_total{reason=\"too_large\"} 5\n");
}

TEST(MetricsRegistryTest, RendersAGauge) {
  MetricsRegistry registry;
  double value = 1.5;
  registry.gauge("cdp_queue_bytes", "Queued bytes.", [&] { return value; });
  registry.gauge(
      "cdp_queue_bytes", "Queued bytes.", [] { return 7.0; }, "queue=\"b\"");
  value = 42;
  EXPECT_EQ(registry.render(),
            "# HELP cdp_queue_bytes Queued bytes.\n"
            "# TYPE cdp_queue_bytes gauge\n"
            "cdp_queue_bytes 42\n"
            "cdp_queue_bytes{queue=\"b\"} 7\n");
}

TEST(HistogramTest, RendersCumulativeBucketsInfSumAndCount) {
  MetricsRegistry registry;
  Histogram& histogram = registry.histogram("cdp_latency_seconds", "Latency.");
  histogram.observe(0.0003);  // <= 0.0005
  histogram.observe(0.0005);  // le is inclusive: still <= 0.0005
  histogram.observe(0.003);   // <= 0.005
  histogram.observe(0.5);     // <= 0.5
  histogram.observe(30);      // beyond the last bound: only +Inf
  const std::string text = registry.render();
  EXPECT_THAT(text, HasSubstr("# TYPE cdp_latency_seconds histogram\n"));
  EXPECT_THAT(text, HasSubstr("cdp_latency_seconds_bucket{le=\"0.0005\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("cdp_latency_seconds_bucket{le=\"0.001\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("cdp_latency_seconds_bucket{le=\"0.002\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("cdp_latency_seconds_bucket{le=\"0.005\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("cdp_latency_seconds_bucket{le=\"0.2\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("cdp_latency_seconds_bucket{le=\"0.5\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("cdp_latency_seconds_bucket{le=\"1\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("cdp_latency_seconds_bucket{le=\"10\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("cdp_latency_seconds_bucket{le=\"+Inf\"} 5\n"));
  EXPECT_THAT(text, HasSubstr("cdp_latency_seconds_count 5\n"));
  EXPECT_NEAR(sample_value(text, "cdp_latency_seconds_sum"), 30.5038, 1e-5);
}

TEST(HistogramTest, RendersOneBucketLinePerBoundPlusInf) {
  Histogram histogram;
  std::string text;
  histogram.render(text, "h", "");
  size_t bucket_lines = 0;
  for (size_t pos = text.find("h_bucket{"); pos != std::string::npos;
       pos = text.find("h_bucket{", pos + 1)) {
    ++bucket_lines;
  }
  EXPECT_EQ(bucket_lines, Histogram::kBounds.size() + 1);
  EXPECT_THAT(text, HasSubstr("h_bucket{le=\"+Inf\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("h_sum 0\n"));
  EXPECT_THAT(text, HasSubstr("h_count 0\n"));
}

TEST(HistogramTest, PutsLabelsBeforeLeAndOnSumAndCount) {
  Histogram histogram;
  histogram.observe(0.01);
  std::string text;
  histogram.render(text, "h", R"(route="/v1/batch")");
  EXPECT_THAT(text, HasSubstr("h_bucket{route=\"/v1/batch\",le=\"0.01\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("h_bucket{route=\"/v1/batch\",le=\"+Inf\"} 1\n"));
  EXPECT_NEAR(sample_value(text, R"(h_sum{route="/v1/batch"})"), 0.01, 1e-5);
  EXPECT_THAT(text, HasSubstr("h_count{route=\"/v1/batch\"} 1\n"));
}

TEST(HistogramTest, CountsObservationsFromManyThreads) {
  Histogram histogram;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) histogram.observe(0.001);
    });
  }
  for (auto& thread : threads) thread.join();
  std::string text;
  histogram.render(text, "h", "");
  EXPECT_THAT(text, HasSubstr("h_count 4000\n"));
  EXPECT_THAT(text, HasSubstr("h_bucket{le=\"0.001\"} 4000\n"));
  EXPECT_THAT(text, HasSubstr("h_bucket{le=\"0.0005\"} 0\n"));
}

TEST(PrometheusLabelValueTest, EscapesBackslashQuoteAndNewline) {
  EXPECT_EQ(prometheus_label_value("plain"), "plain");
  EXPECT_EQ(prometheus_label_value(R"(say "hi")"), R"(say \"hi\")");
  EXPECT_EQ(prometheus_label_value(R"(C:\dir)"), R"(C:\\dir)");
  EXPECT_EQ(prometheus_label_value("a\nb"), R"(a\nb)");
  EXPECT_EQ(prometheus_label_value("caf\xc3\xa9"), "caf\xc3\xa9");
}

TEST(PrometheusLabelValueTest, EscapedLabelRendersAsOneLine) {
  MetricsRegistry registry;
  const std::string labels = "source=\"" + prometheus_label_value("evil\"\nname\\") + "\"";
  registry.counter("cdp_source_events_total", "Events per source.", labels).inc();
  const std::string text = registry.render();
  EXPECT_THAT(text, HasSubstr("cdp_source_events_total{source=\"evil\\\"\\nname\\\\\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("evil\"\n")));
}

}  // namespace
}  // namespace cdp

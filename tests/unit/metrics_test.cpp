// Metrics: counters, gauges and histograms, rendered as Prometheus text (format 0.0.4).
#include "src/metrics.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace recado {
namespace {

// Whether `text` holds `line` as a whole line; the failure message shows the text.
::testing::AssertionResult has_line(const std::string& text, const std::string& line) {
  size_t from = 0;
  while (from <= text.size()) {
    size_t end = text.find('\n', from);
    if (end == std::string::npos) end = text.size();
    if (text.compare(from, end - from, line) == 0) return ::testing::AssertionSuccess();
    from = end + 1;
  }
  return ::testing::AssertionFailure() << "no line '" << line << "' in:\n" << text;
}

TEST(Metrics, EmptyRegistryRendersNothing) {
  Metrics m;
  EXPECT_EQ(m.render(), "");
}

TEST(Metrics, CounterWithoutLabels) {
  Metrics m;
  Counter& c = m.counter("recado_jobs_total", "Jobs finished.");
  c.add();
  c.add(4);
  EXPECT_EQ(c.value(), 5u);
  EXPECT_EQ(m.render(),
            "# HELP recado_jobs_total Jobs finished.\n"
            "# TYPE recado_jobs_total counter\n"
            "recado_jobs_total 5\n");
}

TEST(Metrics, CountersWithLabelsShareOneHelpAndType) {
  Metrics m;
  m.counter("recado_webhooks_total", "Webhooks answered.",
            {{"provider", "evolution"}, {"status", "200"}})
      .add(3);
  m.counter("recado_webhooks_total", "Webhooks answered.",
            {{"provider", "cloudapi"}, {"status", "403"}})
      .add();
  const std::string text = m.render();
  EXPECT_TRUE(has_line(text, "# HELP recado_webhooks_total Webhooks answered."));
  EXPECT_TRUE(has_line(text, "# TYPE recado_webhooks_total counter"));
  EXPECT_TRUE(has_line(text, R"(recado_webhooks_total{provider="evolution",status="200"} 3)"));
  EXPECT_TRUE(has_line(text, R"(recado_webhooks_total{provider="cloudapi",status="403"} 1)"));
  // One HELP and one TYPE line for the family, not one per series.
  EXPECT_EQ(text.find("# TYPE"), text.rfind("# TYPE"));
  EXPECT_EQ(text.find("# HELP"), text.rfind("# HELP"));
}

TEST(Metrics, SameLabelsReturnTheSameCounter) {
  Metrics m;
  Counter& a = m.counter("recado_x_total", "X.", {{"tenant", "clinic1"}});
  Counter& b = m.counter("recado_x_total", "X.", {{"tenant", "clinic1"}});
  Counter& other = m.counter("recado_x_total", "X.", {{"tenant", "clinic2"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
  a.add(2);
  EXPECT_EQ(b.value(), 2u);
  EXPECT_EQ(other.value(), 0u);
  // The series stays where it is as more are made.
  for (int i = 0; i < 100; ++i)
    m.counter("recado_x_total", "X.", {{"tenant", "t" + std::to_string(i)}});
  EXPECT_EQ(&m.counter("recado_x_total", "X.", {{"tenant", "clinic1"}}), &a);
}

TEST(Metrics, LabelValuesAreEscaped) {
  Metrics m;
  m.counter("recado_e_total", "E.", {{"reason", "say \"hi\"\\now\nthen"}}).add();
  // Quote, backslash and newline escaped; the sample stays on one line.
  EXPECT_TRUE(has_line(m.render(), R"(recado_e_total{reason="say \"hi\"\\now\nthen"} 1)"));
}

TEST(Metrics, FamiliesRenderInNameOrder) {
  Metrics m;
  m.counter("recado_b_total", "B.").add();
  m.counter("recado_a_total", "A.").add();
  const std::string text = m.render();
  EXPECT_LT(text.find("recado_a_total"), text.find("recado_b_total"));
}

TEST(Metrics, GaugeIsReadAtEachRender) {
  Metrics m;
  double depth = 3;
  int reads = 0;
  m.gauge("recado_queue_depth", "Jobs waiting.",
          [&] {
            ++reads;
            return depth;
          },
          {{"queue", "default"}});
  EXPECT_EQ(reads, 0);  // not read until scraped
  std::string text = m.render();
  EXPECT_TRUE(has_line(text, "# TYPE recado_queue_depth gauge"));
  EXPECT_TRUE(has_line(text, R"(recado_queue_depth{queue="default"} 3)"));
  depth = 0.25;
  text = m.render();
  EXPECT_TRUE(has_line(text, R"(recado_queue_depth{queue="default"} 0.25)"));
  EXPECT_EQ(reads, 2);
}

TEST(Metrics, GaugeRegisteredAgainReplacesItsReader) {
  Metrics m;
  m.gauge("recado_g", "G.", [] { return 1.0; });
  m.gauge("recado_g", "G.", [] { return 2.0; });
  const std::string text = m.render();
  EXPECT_TRUE(has_line(text, "recado_g 2"));
  EXPECT_FALSE(has_line(text, "recado_g 1"));
}

TEST(Metrics, HistogramBucketsAreCumulative) {
  Metrics m;
  Histogram& h =
      m.histogram("recado_latency_seconds", "Latency.", {0.125, 0.5, 1}, {{"route", "/v1/jobs"}});
  // Binary fractions, so the sum prints exactly.
  for (double v : {0.0625, 0.125, 0.25, 0.75, 2.0}) h.observe(v);
  const auto snap = h.snapshot();
  EXPECT_EQ(snap.cumulative, (std::vector<uint64_t>{2, 3, 4, 5}));
  EXPECT_DOUBLE_EQ(snap.sum, 3.1875);
  EXPECT_EQ(snap.count, 5u);

  const std::string text = m.render();
  EXPECT_TRUE(has_line(text, "# HELP recado_latency_seconds Latency."));
  EXPECT_TRUE(has_line(text, "# TYPE recado_latency_seconds histogram"));
  // A value equal to a bound counts in that bound's bucket (le is "less or equal").
  EXPECT_TRUE(has_line(text, R"(recado_latency_seconds_bucket{route="/v1/jobs",le="0.125"} 2)"));
  EXPECT_TRUE(has_line(text, R"(recado_latency_seconds_bucket{route="/v1/jobs",le="0.5"} 3)"));
  EXPECT_TRUE(has_line(text, R"(recado_latency_seconds_bucket{route="/v1/jobs",le="1"} 4)"));
  EXPECT_TRUE(has_line(text, R"(recado_latency_seconds_bucket{route="/v1/jobs",le="+Inf"} 5)"));
  EXPECT_TRUE(has_line(text, R"(recado_latency_seconds_sum{route="/v1/jobs"} 3.1875)"));
  EXPECT_TRUE(has_line(text, R"(recado_latency_seconds_count{route="/v1/jobs"} 5)"));
  // Buckets come in increasing order of le, +Inf last.
  EXPECT_LT(text.find("le=\"0.125\""), text.find("le=\"0.5\""));
  EXPECT_LT(text.find("le=\"1\""), text.find("le=\"+Inf\""));
}

TEST(Metrics, HistogramWithoutLabelsStillLabelsItsBuckets) {
  Metrics m;
  Histogram& h = m.histogram("recado_batch_size", "Batch size.", {1, 10});
  h.observe(4);
  const std::string text = m.render();
  EXPECT_TRUE(has_line(text, R"(recado_batch_size_bucket{le="1"} 0)"));
  EXPECT_TRUE(has_line(text, R"(recado_batch_size_bucket{le="10"} 1)"));
  EXPECT_TRUE(has_line(text, R"(recado_batch_size_bucket{le="+Inf"} 1)"));
  EXPECT_TRUE(has_line(text, "recado_batch_size_sum 4"));
  EXPECT_TRUE(has_line(text, "recado_batch_size_count 1"));
}

TEST(Metrics, EmptyHistogramRendersZeros) {
  Metrics m;
  m.histogram("recado_h", "H.", {1});
  const std::string text = m.render();
  EXPECT_TRUE(has_line(text, R"(recado_h_bucket{le="1"} 0)"));
  EXPECT_TRUE(has_line(text, R"(recado_h_bucket{le="+Inf"} 0)"));
  EXPECT_TRUE(has_line(text, "recado_h_sum 0"));
  EXPECT_TRUE(has_line(text, "recado_h_count 0"));
}

TEST(Metrics, SameLabelsReturnTheSameHistogram) {
  Metrics m;
  Histogram& a = m.histogram("recado_h", "H.", {1}, {{"k", "v"}});
  Histogram& b = m.histogram("recado_h", "H.", {1}, {{"k", "v"}});
  EXPECT_EQ(&a, &b);
}

TEST(Metrics, AnotherTypeUnderAnExistingNameThrows) {
  Metrics m;
  m.counter("recado_thing", "T.");
  EXPECT_THROW(m.histogram("recado_thing", "T.", {1}), std::logic_error);
  EXPECT_THROW(m.gauge("recado_thing", "T.", [] { return 0.0; }), std::logic_error);
  m.gauge("recado_level", "L.", [] { return 0.0; });
  EXPECT_THROW(m.counter("recado_level", "L."), std::logic_error);
  // The failed requests left the original alone.
  const std::string text = m.render();
  EXPECT_TRUE(has_line(text, "# TYPE recado_thing counter"));
  EXPECT_TRUE(has_line(text, "# TYPE recado_level gauge"));
}

TEST(Metrics, BucketPresetsAreSortedAndSpanTheirRange) {
  for (const auto* b : {&latency_buckets(), &size_buckets()}) {
    ASSERT_FALSE(b->empty());
    EXPECT_TRUE(std::is_sorted(b->begin(), b->end()));
  }
  EXPECT_DOUBLE_EQ(latency_buckets().front(), 0.0005);
  EXPECT_DOUBLE_EQ(latency_buckets().back(), 10);
  EXPECT_DOUBLE_EQ(size_buckets().front(), 1);
  EXPECT_DOUBLE_EQ(size_buckets().back(), 1000);
}

// The text format spells non-finite values +Inf, -Inf and NaN. number() in
// src/metrics.cpp:36 casts the value to int64_t before checking its range, which is
// undefined behaviour for infinities, NaN and anything past 2^63 (GCC's and clang's
// -fsanitize=float-cast-overflow report "1e+20 is outside the range of representable values
// of type 'long int'"); on x86 it then falls through to fmt, which prints "inf" and "nan".
// Disabled until number() checks the range first and spells non-finite values as the format
// does.
TEST(Metrics, NonFiniteAndHugeGaugesUseTheTextFormatsSpelling) {
  Metrics m;
  m.gauge("recado_inf", "I.", [] { return std::numeric_limits<double>::infinity(); });
  m.gauge("recado_minus_inf", "M.", [] { return -std::numeric_limits<double>::infinity(); });
  m.gauge("recado_nan", "N.", [] { return std::numeric_limits<double>::quiet_NaN(); });
  m.gauge("recado_huge", "H.", [] { return 1e20; });
  const std::string text = m.render();
  EXPECT_TRUE(has_line(text, "recado_inf +Inf"));
  EXPECT_TRUE(has_line(text, "recado_minus_inf -Inf"));
  EXPECT_TRUE(has_line(text, "recado_nan NaN"));
  EXPECT_TRUE(has_line(text, "recado_huge 1e+20"));
}

// HELP text must escape backslash and newline (text format 0.0.4); render() writes it raw
// (src/metrics.cpp:103, in Metrics::render), so a newline in a help string
// ends the comment and the scraper fails on the rest of the line. Disabled until render()
// escapes it.
TEST(Metrics, HelpTextIsEscaped) {
  Metrics m;
  m.counter("recado_h_total", "first line\nsecond \\ line").add();
  EXPECT_TRUE(has_line(m.render(), R"(# HELP recado_h_total first line\nsecond \\ line)"));
}

}  // namespace
}  // namespace recado

#include "metrics/metrics.h"

#include <gtest/gtest.h>

#include <thread>

#include "testutil/prometheus_text.h"

namespace ringkv::metrics {
namespace {

using testutil::ParsePrometheusText;

TEST(MetricsTest, RendersEveryTypeInStrictTextFormat) {
  Registry r;
  r.GetCounter("ringkv_test_requests_total", "Requests.", {{"type", "get"}})->Inc(3);
  r.GetCounter("ringkv_test_requests_total", "Requests.", {{"type", "put"}})->Inc();
  r.GetGauge("ringkv_test_in_flight", "In flight.\nSecond line")->Set(2.5);
  Histogram* h = r.GetHistogram("ringkv_test_duration_seconds", "Durations.", {0.1, 1});
  h->Observe(0.05);
  h->Observe(0.1);  // on a bound: that bucket (le is inclusive)
  h->Observe(5);
  auto handle = r.AddCollector([](Sink& s) {
    s.Gauge("ringkv_test_members", "Members.", {{"state", "alive"}}, 3);
    s.Gauge("ringkv_test_members", "Members.", {{"state", "we\"ird\\"}}, 1);
    s.CounterValue("ringkv_test_applied_total", "Applied.", {}, 42);
  });
  std::string text = r.Render();
  auto p = ParsePrometheusText(text);
  ASSERT_TRUE(p.ok()) << p.error << "\n" << text;
  EXPECT_EQ(p.Value("ringkv_test_requests_total", "ringkv_test_requests_total", {{"type", "get"}}),
            3);
  EXPECT_EQ(p.Value("ringkv_test_in_flight", "ringkv_test_in_flight"), 2.5);
  EXPECT_EQ(p.Value("ringkv_test_duration_seconds", "ringkv_test_duration_seconds_bucket",
                    {{"le", "0.1"}}),
            2);
  EXPECT_EQ(p.Value("ringkv_test_duration_seconds", "ringkv_test_duration_seconds_bucket",
                    {{"le", "+Inf"}}),
            3);
  EXPECT_EQ(p.Value("ringkv_test_duration_seconds", "ringkv_test_duration_seconds_sum"), 5.15);
  EXPECT_EQ(p.Value("ringkv_test_members", "ringkv_test_members", {{"state", "we\"ird\\"}}), 1);
  EXPECT_EQ(p.families.at("ringkv_test_applied_total").type, "counter");
  EXPECT_EQ(p.families.at("ringkv_test_in_flight").help, "In flight.\\nSecond line");

  handle.Reset();
  p = ParsePrometheusText(r.Render());
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_EQ(p.families.count("ringkv_test_members"), 0u);
}

TEST(MetricsTest, SamePointerForSameSeries) {
  Registry r;
  Counter* a = r.GetCounter("x_total", "X.", {{"k", "v"}});
  EXPECT_EQ(a, r.GetCounter("x_total", "X.", {{"k", "v"}}));
  EXPECT_NE(a, r.GetCounter("x_total", "X.", {{"k", "w"}}));
}

TEST(MetricsTest, ConcurrentUpdatesAreCounted) {
  Registry r;
  Counter* c = r.GetCounter("c_total", "C.");
  Histogram* h = r.GetHistogram("h_seconds", "H.", ApplyBuckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c->Inc();
        h->Observe(0.001);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c->Value(), 40000);
  EXPECT_EQ(h->Take().count, 40000u);
}

TEST(MetricsTest, BucketLayoutsMatchEtcd) {
  auto sync = DiskSyncBuckets();
  ASSERT_EQ(sync.size(), 14u);
  EXPECT_DOUBLE_EQ(sync.front(), 0.001);
  EXPECT_DOUBLE_EQ(sync.back(), 8.192);
  auto apply = ApplyBuckets();
  ASSERT_EQ(apply.size(), 20u);
  EXPECT_DOUBLE_EQ(apply.front(), 0.0001);
  EXPECT_EQ(FormatValue(0.001), "0.001");
  EXPECT_EQ(FormatValue(3), "3");
}

TEST(PrometheusParserTest, RejectsMalformedText) {
  EXPECT_FALSE(ParsePrometheusText("x 1\n").ok());                          // no TYPE
  EXPECT_FALSE(ParsePrometheusText("# TYPE x gauge\nx{a=b} 1\n").ok());      // unquoted
  EXPECT_FALSE(ParsePrometheusText("# TYPE x gauge\nx 1\nx 2\n").ok());      // duplicate
  EXPECT_FALSE(ParsePrometheusText("# TYPE x counter\nx 1\n").ok());         // no _total
  EXPECT_FALSE(ParsePrometheusText("# TYPE x gauge\nx one\n").ok());         // bad value
  EXPECT_FALSE(ParsePrometheusText("# TYPE x gauge\nx 1").ok());             // no newline
  EXPECT_FALSE(ParsePrometheusText(
                   "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
                   "h_sum 1\nh_count 1\n")
                   .ok());  // not cumulative
  EXPECT_TRUE(ParsePrometheusText("# HELP x X.\n# TYPE x gauge\nx{a=\"\\\"\"} -Inf\n").ok());
}

}  // namespace
}  // namespace ringkv::metrics

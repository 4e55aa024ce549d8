// kvbench's latency histogram (tools/kvbench/histogram.h), its CPU-time reader (cpu_time.h), its
// per-interval timeline (timeline.h) and a short load run against the fake server. Lives with the kvctl tests because tests/kvbench/ is not a test folder the top-level
// CMakeLists.txt adds.
#include "histogram.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <sstream>

#include "client/fake_server.h"
#include "cpu_time.h"
#include "load.h"
#include "timeline.h"

namespace ringkv::kvbench {
namespace {

TEST(LatencyHistogramTest, BucketsAreContiguousAndTight) {
  const uint64_t values[] = {0, 1, 127, 128, 129, 255, 256, 1000, 123456,
                            (uint64_t{1} << 40) + 12345, UINT64_MAX};
  for (uint64_t v : values) {
    const size_t b = LatencyHistogram::BucketFor(v);
    EXPECT_GE(LatencyHistogram::BucketHigh(b), v) << v;
    if (b > 0) {
      EXPECT_LT(LatencyHistogram::BucketHigh(b - 1), v) << v;
    }
    // Relative width under 1/64 of the value.
    EXPECT_LE(LatencyHistogram::BucketHigh(b) - v, v / 64 + 1) << v;
  }
}

TEST(LatencyHistogramTest, PercentilesOfUniformValues) {
  LatencyHistogram h;
  for (uint64_t v = 1; v <= 10000; ++v) h.Record(v);
  EXPECT_EQ(h.count(), 10000u);
  EXPECT_EQ(h.min(), 1u);
  EXPECT_EQ(h.max(), 10000u);
  EXPECT_DOUBLE_EQ(h.mean(), 5000.5);
  EXPECT_NEAR(static_cast<double>(h.Percentile(0.5)), 5000, 5000 / 64.0 + 1);
  EXPECT_NEAR(static_cast<double>(h.Percentile(0.99)), 9900, 9900 / 64.0 + 1);
  EXPECT_NEAR(static_cast<double>(h.Percentile(0.999)), 9990, 9990 / 64.0 + 1);
  EXPECT_EQ(h.Percentile(1.0), 10000u);
  LatencyHistogram other;
  other.Record(20000);
  h.Merge(other);
  EXPECT_EQ(h.max(), 20000u);
  EXPECT_EQ(h.Percentile(1.0), 20000u);
  EXPECT_EQ(LatencyHistogram().Percentile(0.5), 0u);
}

TEST(CpuTimeTest, ParsesUtimePlusStimeAfterTheCommandName) {
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  // A command name with spaces and ')' must not shift the fields.
  auto r = ParseProcStatCpuSeconds(
      "1234 (kvd (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 1 2 3\n");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_DOUBLE_EQ(*r, 300 / hz);
  EXPECT_FALSE(ParseProcStatCpuSeconds("1234 (kvd) S 1 2").ok());
  EXPECT_FALSE(ParseProcStatCpuSeconds("no parenthesis").ok());
  EXPECT_FALSE(ParseProcStatCpuSeconds("1 (a) S 1 1 1 0 -1 0 0 0 0 0 x 5 0").ok());
}

TEST(CpuTimeTest, ReadsThisProcessAndRejectsAMissingOne) {
  auto self = ProcessesCpuSeconds({static_cast<int>(getpid())});
  ASSERT_TRUE(self.ok()) << self.status();
  EXPECT_GE(*self, 0.0);
  EXPECT_TRUE(ProcessesCpuSeconds({}).ok());
  // Beyond the kernel's pid_max (at most 2^22), so never a live process.
  EXPECT_EQ(ProcessesCpuSeconds({1 << 23}).status().code(), StatusCode::kNotFound);
}

TEST(LoadTest, ShortRunCountsOpsAndErrorsByKind) {
  client::testing::FakeServer server;
  server.Start();
  client::testing::MemoryStore store;
  server.SetHandler([&](const kvpb::Request& r, int n) {
    if (n % 10 == 9) return client::testing::FakeServer::Error(kvpb::INVALID_ARGUMENT, true);
    return store.Handle(r);
  });
  LoadOptions o;
  o.endpoints = {server.address()};
  o.concurrency = 8;
  o.keys = 100;
  o.read_ratio = 0.5;
  o.duration = std::chrono::milliseconds(300);
  o.warmup = std::chrono::milliseconds(0);
  o.cpu_pids = {static_cast<int>(getpid())};  // the fake server runs in this process
  o.timeline_interval = std::chrono::milliseconds(100);
  auto r = RunLoad(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GT(r->ok_reads, 0u);
  EXPECT_GT(r->ok_writes, 0u);
  EXPECT_EQ(r->all.count(), r->ok_reads + r->ok_writes);
  EXPECT_GT(r->errors["InvalidArgument"], 0u);
  EXPECT_EQ(r->errors.size(), 1u);
  EXPECT_TRUE(r->have_server_cpu);
  // The same process over the same window, read two ways: /proc/PID/stat in whole clock ticks
  // (10 ms) and getrusage in microseconds.
  EXPECT_GT(r->client_cpu_seconds, 0.0);
  EXPECT_NEAR(r->server_cpu_seconds, r->client_cpu_seconds, 0.05);
  // The timeline saw every completion of the window (and nothing before it: no warmup).
  ASSERT_NE(r->timeline, nullptr);
  std::ostringstream out;
  r->timeline->Write(out);
  std::istringstream in(out.str());
  std::string line;
  uint64_t ok = 0, errors = 0;
  while (std::getline(in, line)) {
    if (line[0] == '#') continue;
    std::istringstream fields(line);
    uint64_t t, o_ok, o_err;
    fields >> t >> o_ok >> o_err;
    ok += o_ok;
    errors += o_err;
  }
  EXPECT_EQ(ok, r->ok_reads + r->ok_writes);
  EXPECT_EQ(errors, r->errors["InvalidArgument"]);
}

TEST(TimelineTest, IntervalsStampedOnTheWallClockWithSparseBuckets) {
  const auto start = Timeline::Clock::now();
  const std::chrono::system_clock::time_point wall{std::chrono::milliseconds(1000000)};
  Timeline t(start, wall, std::chrono::milliseconds(100));
  t.Record(start - std::chrono::milliseconds(1), true, 5);  // before the start: ignored
  t.Record(start + std::chrono::milliseconds(10), true, 100);
  t.Record(start + std::chrono::milliseconds(20), true, 100);
  t.Record(start + std::chrono::milliseconds(30), false, 7);
  t.Record(start + std::chrono::milliseconds(250), true, 2000);
  std::ostringstream out;
  t.Write(out);
  EXPECT_EQ(out.str(),
            "# kvbench timeline, 100 ms intervals: start_unix_ms ok errors p50_ms p99_ms max_ms "
            "latency_us\n"
            "1000000 2 1 0.100 0.100 0.100 100:2\n"
            "1000100 0 0 0.000 0.000 0.000 -\n"
            "1000200 1 0 2.000 2.000 2.000 2015:1\n");
}

}  // namespace
}  // namespace ringkv::kvbench

// SimScheduler and SimNodeEnv: tasks run only when stepped, in (time, order posted); timers
// replace and cancel; off-loop work runs in order after its latency; Stop and Kill end a node
// the way AsioNodeEnv's Stop and a crash do.
#include "store/sim_node_env.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace ringkv::store::sim {
namespace {

using namespace std::chrono_literals;

TEST(SimNodeEnvTest, NothingRunsUntilStepped) {
  SimScheduler s;
  SimNodeEnv env(&s, 1);
  std::vector<std::string> ran;
  env.loop().Post([&] { ran.push_back("a"); });
  env.loop().Post([&] { ran.push_back("b"); });
  EXPECT_TRUE(ran.empty());
  const Clock::TimePoint t0 = s.Now();
  EXPECT_TRUE(s.Step());
  EXPECT_EQ(ran, (std::vector<std::string>{"a"}));
  EXPECT_TRUE(s.Step());
  EXPECT_FALSE(s.Step());
  EXPECT_EQ(ran, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(s.Now(), t0);  // posted tasks run at once: no time passes
  EXPECT_EQ(s.steps(), 2u);
}

TEST(SimNodeEnvTest, TimersRunAtTheirTimeAndCanBeReplacedOrCancelled) {
  SimScheduler s;
  SimNodeEnv env(&s, 1);
  const Clock::TimePoint t0 = s.Now();
  std::vector<std::string> ran;
  std::unique_ptr<LoopTimer> a = env.loop().NewTimer();
  std::unique_ptr<LoopTimer> b = env.loop().NewTimer();
  a->RunAfter(20ms, [&] { ran.push_back("a1"); });
  a->RunAfter(30ms, [&] { ran.push_back("a2"); });  // replaces a1
  b->RunAfter(10ms, [&] { ran.push_back("b"); });
  env.loop().Post([&] { ran.push_back("posted"); });
  s.RunFor(25ms);
  EXPECT_EQ(ran, (std::vector<std::string>{"posted", "b"}));
  EXPECT_EQ(s.Now(), t0 + 25ms);
  a->Cancel();
  s.RunFor(1s);
  EXPECT_EQ(ran, (std::vector<std::string>{"posted", "b"}));
  b->RunAfter(5ms, [&] { ran.push_back("b2"); });
  b.reset();  // destroying a timer cancels it
  s.RunFor(1s);
  EXPECT_EQ(ran, (std::vector<std::string>{"posted", "b"}));
}

TEST(SimNodeEnvTest, OffLoopWorkRunsInOrderAfterItsLatencyAndReportsToTheLoop) {
  SimScheduler s;
  SimNodeEnv env(&s, 1, SimNodeEnv::Options{.storage_latency = 2ms, .snapshot_latency = 5ms});
  const Clock::TimePoint t0 = s.Now();
  std::vector<std::string> ran;
  env.snapshot_worker().Post([&] { ran.push_back("snap"); });
  env.storage_worker().Post([&] {
    ran.push_back("write1");
    env.loop().Post([&] { ran.push_back("write1 done at " + std::to_string((s.Now() - t0) / 1ms)); });
  });
  env.storage_worker().Post([&] { ran.push_back("write2"); });
  while (s.Step()) {
  }
  EXPECT_EQ(ran, (std::vector<std::string>{"write1", "write2", "write1 done at 2", "snap"}));
}

TEST(SimNodeEnvTest, StopRunsWhatIsDueThenLastThenDrainsTheWorkers) {
  SimScheduler s;
  SimNodeEnv env(&s, 1);
  std::vector<std::string> ran;
  std::unique_ptr<LoopTimer> t = env.loop().NewTimer();
  t->RunAfter(10ms, [&] { ran.push_back("timer"); });
  env.loop().Post([&] { ran.push_back("due"); });
  env.storage_worker().Post([&] {
    ran.push_back("write");
    env.loop().Post([&] { ran.push_back("after stop"); });  // the loop is gone: dropped
  });
  env.Stop([&] { ran.push_back("last"); });
  while (s.Step()) {
  }
  EXPECT_EQ(ran, (std::vector<std::string>{"due", "last", "write"}));
}

TEST(SimNodeEnvTest, KillDropsEveryTaskOfTheNodeOnly) {
  SimScheduler s;
  SimNodeEnv dying(&s, 1);
  SimNodeEnv other(&s, 2);
  std::vector<std::string> ran;
  dying.loop().Post([&] { ran.push_back("dying loop"); });
  dying.storage_worker().Post([&] { ran.push_back("dying write"); });
  other.loop().Post([&] { ran.push_back("other"); });
  dying.Kill();
  dying.loop().Post([&] { ran.push_back("dying later"); });
  dying.Stop([&] { ran.push_back("dying last"); });
  while (s.Step()) {
  }
  EXPECT_EQ(ran, (std::vector<std::string>{"other"}));
}

}  // namespace
}  // namespace ringkv::store::sim

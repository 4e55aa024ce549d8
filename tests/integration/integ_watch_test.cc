// Watches against real kvd processes. The central property: a watch delivers every committed
// change of its keys, in version order, once — across a SIGKILL of the leader it talks to and a
// restart of that node. Checked against the writes themselves: every put writes a unique value
// and reports the version it got, and each event names the version it replaced, so a skipped
// event breaks the prev_version chain and a repeated one breaks the strict order.
// Also: a compacted start fails with "compacted, resume from N" and resuming there works; a
// prefix watch merges every shard's changes, tagged with the shard; `kvctl watch -w json`.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "integration/test_cluster.h"
#include "testutil/status_matchers.h"

namespace ringkv::integration {
namespace {

// Collects a watch's updates (from the client's I/O thread).
class Recorder {
 public:
  void OnUpdate(const client::WatchUpdate& u) {
    std::lock_guard<std::mutex> l(mu_);
    if (u.created) ++created_;
    for (const auto& e : u.events) events_.push_back(e);
  }
  void OnEnd(const client::WatchEnd& e) {
    std::lock_guard<std::mutex> l(mu_);
    end_ = e;
  }
  std::vector<client::WatchEvent> events() const {
    std::lock_guard<std::mutex> l(mu_);
    return events_;
  }
  int created() const {
    std::lock_guard<std::mutex> l(mu_);
    return created_;
  }
  std::optional<client::WatchEnd> end() const {
    std::lock_guard<std::mutex> l(mu_);
    return end_;
  }
  bool HasVersion(uint64_t v) const {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& e : events_) {
      if (e.version >= v) return true;
    }
    return false;
  }
  std::unique_ptr<client::WatchHandle> Watch(client::Client& c, const std::string& key,
                                             const client::WatchOptions& o) {
    auto h = c.Watch(
        key, o, [this](const client::WatchUpdate& u) { OnUpdate(u); },
        [this](const client::WatchEnd& e) { OnEnd(e); });
    EXPECT_OK(h);
    return h.ok() ? std::move(*h) : nullptr;
  }

 private:
  mutable std::mutex mu_;
  std::vector<client::WatchEvent> events_;
  int created_ = 0;
  std::optional<client::WatchEnd> end_;
};

// Puts "w<n>" to one key in a loop, remembering the version of every acknowledged put.
class KeyWriter {
 public:
  KeyWriter(client::Client& c, std::string key) : c_(c), key_(std::move(key)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~KeyWriter() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int acked() const { return acked_.load(); }
  // value -> version of each acknowledged put. REQUIRES: Stop() returned.
  const std::map<std::string, uint64_t>& versions() const { return versions_; }

 private:
  void Run() {
    client::CallOptions co;
    co.timeout = 5s;
    for (int n = 0; !stop_; ++n) {
      const std::string value = "w" + std::to_string(n);
      auto r = c_.Put(key_, value, co);
      if (r.ok()) {
        versions_[value] = *r;
        ++acked_;
      }
    }
  }

  client::Client& c_;
  const std::string key_;
  std::atomic<bool> stop_{false};
  std::atomic<int> acked_{0};
  std::map<std::string, uint64_t> versions_;
  std::thread thread_;
};

class WatchTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> flags = {}) {
    TestClusterOptions o;
    o.extra_flags = std::move(flags);
    o.extra_flags.push_back("--shards=4");
    cluster_ = std::make_unique<TestCluster>(o);
    ASSERT_OK(cluster_->StartAll());
    auto leader = cluster_->WaitForLeader();
    ASSERT_TRUE(leader.ok()) << leader.status().ToString();
  }

  std::unique_ptr<TestCluster> cluster_;
};

// Checks that `events` (of one key) are exactly the changes after `start`: strictly increasing
// versions, each replacing the one before, ending at `last`.
void ExpectUnbrokenChain(const std::vector<client::WatchEvent>& events, uint64_t start,
                         uint64_t last) {
  ASSERT_FALSE(events.empty());
  uint64_t prev = start;
  for (size_t i = 0; i < events.size(); ++i) {
    ASSERT_EQ(events[i].prev_version, prev)
        << "event " << i << " (version " << events[i].version << ", " << events[i].value
        << ") does not follow version " << prev << ": a change was skipped or repeated";
    ASSERT_GT(events[i].version, prev);
    prev = events[i].version;
  }
  EXPECT_EQ(prev, last);
}

TEST_F(WatchTest, NoGapNoDuplicateAcrossLeaderKillAndRestart) {
  Start();
  client::Client& c = cluster_->client();
  const std::string key = "watched";
  auto v0 = c.Put(key, "start");
  ASSERT_OK(v0);
  auto group = cluster_->GroupOf(key);
  ASSERT_OK(group);

  Recorder rec;
  client::WatchOptions o;
  o.from_version = *v0 + 1;
  auto watch = rec.Watch(c, key, o);
  ASSERT_TRUE(WaitUntil([&] { return rec.created() > 0; }, 10s));

  KeyWriter writer(c, key);
  ASSERT_TRUE(WaitUntil([&] { return writer.acked() >= 30; }, 20s));

  // 1. SIGKILL the leader the watch talks to.
  const int first = cluster_->LeaderOf(*group);
  ASSERT_NE(first, 0);
  const int created_before = rec.created();
  cluster_->Kill(first);
  int at = writer.acked();
  ASSERT_TRUE(WaitUntil([&] { return writer.acked() >= at + 30; }, 30s)) << "writes stalled";
  ASSERT_TRUE(WaitUntil([&] { return rec.created() > created_before; }, 20s))
      << "the watch did not resume at the new leader";

  // 2. Bring it back; then restart the node the watch now talks to.
  ASSERT_OK(cluster_->Start(first));
  ASSERT_OK(cluster_->WaitCaughtUp(first));
  const int second = cluster_->LeaderOf(*group);
  ASSERT_NE(second, 0);
  const int created_mid = rec.created();
  cluster_->Kill(second);
  at = writer.acked();
  ASSERT_TRUE(WaitUntil([&] { return writer.acked() >= at + 30; }, 30s)) << "writes stalled";
  ASSERT_OK(cluster_->Start(second));
  ASSERT_TRUE(WaitUntil([&] { return rec.created() > created_mid; }, 20s));
  at = writer.acked();
  ASSERT_TRUE(WaitUntil([&] { return writer.acked() >= at + 30; }, 30s));
  writer.Stop();

  // The key's last version is what the watch must end at.
  auto last = c.Get(key);
  ASSERT_OK(last);
  ASSERT_TRUE(last->has_value());
  ASSERT_TRUE(WaitUntil([&] { return rec.HasVersion((*last)->version); }, 20s))
      << "the watch never delivered version " << (*last)->version;
  watch->Cancel();
  EXPECT_FALSE(rec.end().has_value());

  const auto events = rec.events();
  ExpectUnbrokenChain(events, *v0, (*last)->version);
  // Every acknowledged put is there with its value (unknown outcomes may be there too).
  std::map<uint64_t, std::string> delivered;
  for (const auto& e : events) delivered[e.version] = e.value;
  for (const auto& [value, version] : writer.versions()) {
    auto it = delivered.find(version);
    ASSERT_NE(it, delivered.end()) << "acknowledged put " << value << " at version " << version
                                   << " was never delivered";
    EXPECT_EQ(it->second, value);
  }
  std::cout << "[ metric ] " << events.size() << " events delivered in order across two leader "
            << "losses (" << writer.versions().size() << " acknowledged puts)\n";
}

TEST_F(WatchTest, CompactedStartSaysWhereToResume) {
  Start({"--watch_history_entries=20"});
  client::Client& c = cluster_->client();
  uint64_t first = 0;
  for (int i = 0; i < 60; ++i) {
    auto v = c.Put("busy", std::to_string(i));
    ASSERT_OK(v);
    if (i == 0) first = *v;
  }
  Recorder rec;
  client::WatchOptions o;
  o.from_version = first;
  auto watch = rec.Watch(c, "busy", o);
  ASSERT_TRUE(WaitUntil([&] { return rec.end().has_value(); }, 10s));
  const client::WatchEnd end = *rec.end();
  EXPECT_EQ(end.status.code(), StatusCode::kFailedPrecondition) << end.status;
  EXPECT_NE(end.status.message().find("compacted, resume from"), std::string::npos) << end.status;
  EXPECT_GT(end.resume_version, first);

  Recorder resumed;
  o.from_version = end.resume_version;
  auto again = resumed.Watch(c, "busy", o);
  auto last = c.Get("busy");
  ASSERT_OK(last);
  ASSERT_TRUE(WaitUntil([&] { return resumed.HasVersion((*last)->version); }, 10s));
  EXPECT_EQ(resumed.events().front().version, end.resume_version);
  EXPECT_FALSE(resumed.end().has_value());
}

TEST_F(WatchTest, PrefixWatchMergesEveryShardTaggedWithItsShard) {
  Start();
  client::Client& c = cluster_->client();
  Recorder rec;
  client::WatchOptions o;
  o.prefix = true;
  o.from_version = 1;  // every shard from its beginning
  auto watch = rec.Watch(c, "p/", o);
  std::map<std::string, uint64_t> versions;
  for (int i = 0; i < 40; ++i) {
    const std::string key = "p/" + std::to_string(i);
    auto v = c.Put(key, "x");
    ASSERT_OK(v);
    versions[key] = *v;
  }
  ASSERT_OK(c.Put("q/outside", "x"));
  ASSERT_TRUE(WaitUntil([&] { return rec.events().size() >= versions.size(); }, 20s))
      << rec.events().size();
  std::set<uint32_t> shards;
  for (const auto& e : rec.events()) {
    ASSERT_EQ(e.key.rfind("p/", 0), 0u) << e.key;
    auto group = cluster_->GroupOf(e.key);
    ASSERT_OK(group);
    EXPECT_EQ(e.shard, *group) << e.key;
    EXPECT_EQ(e.version, versions[e.key]) << e.key;
    shards.insert(e.shard);
  }
  EXPECT_EQ(rec.events().size(), versions.size());
  EXPECT_GT(shards.size(), 1u) << "40 keys should spread over the 4 shards";
}

TEST_F(WatchTest, KvctlWatchPrintsOneJsonEventPerLine) {
  if (KvctlBinary().empty() || !std::filesystem::exists(KvctlBinary())) {
    GTEST_SKIP() << "kvctl was not built";
  }
  Start();
  client::Client& c = cluster_->client();
  auto v = c.Put("cfg/a", "1");
  ASSERT_OK(v);
  ASSERT_OK(c.Put("cfg/b", "2"));
  ASSERT_OK(c.Delete("cfg/a"));
  KvdProcess kvctl(KvctlBinary(),
                   {"--endpoints=" + cluster_->endpoints(), "watch", "cfg/", "--prefix",
                    "--from-version=1", "-w", "json"},
                   cluster_->dir() + "/kvctl_watch.log");
  ASSERT_OK(kvctl.Start());
  auto lines = [&] {
    std::vector<nlohmann::json> out;
    std::istringstream in(kvctl.ReadLog());
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!j.is_discarded()) out.push_back(j);
    }
    return out;
  };
  ASSERT_TRUE(WaitUntil([&] { return lines().size() >= 3; }, 15s)) << kvctl.ReadLog();
  // One shard's events come in version order; across shards in any order.
  std::map<std::string, std::vector<std::string>> by_key;
  for (const auto& j : lines()) by_key[j["key"]].push_back(j["type"]);
  EXPECT_EQ(by_key["cfg/a"], (std::vector<std::string>{"PUT", "DELETE"}));
  EXPECT_EQ(by_key["cfg/b"], (std::vector<std::string>{"PUT"}));
  EXPECT_EQ(kvctl.Stop(), 130);  // SIGTERM: interrupted
}

}  // namespace
}  // namespace ringkv::integration

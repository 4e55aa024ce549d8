// Overload (issue #10): one node flooded over raw connections with far more requests in flight
// than its admission limits allow (64 KiB puts, written without reading a single answer) sheds
// the excess at once with BUSY "too many requests" and a retry_after_ms, answers every request,
// does not crash, keeps its memory growth bounded, and serves normally right after.
//
// Memory is measured from /proc/<pid>/status of the kvd process (VmRSS before, VmHWM after) and
// asserted only against a generous bound, well below what the flood costs when the node queues
// it (it offers 150 MiB of values, held several times over on the write path). No assertion on
// time.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "integration/raw_socket.h"
#include "integration/test_cluster.h"
#include "net/handshake.h"
#include "proto/kv.pb.h"
#include "proto/transport.pb.h"
#include "testutil/status_matchers.h"

namespace ringkv::integration {
namespace {

constexpr int kConnections = 8;
constexpr int kPerConnection = 300;
constexpr size_t kValueBytes = 64 << 10;
// The node's admission limits in this test: 2,400 requests offered at once against 100.
const std::vector<std::string> kFlags = {"--admission_max_connection_requests=50",
                                         "--admission_max_node_requests=100"};

// A field of /proc/<pid>/status in KiB ("VmRSS", "VmHWM"); -1 when unreadable.
int64_t ProcStatusKiB(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1));
  }
  return -1;
}

// Keys of groups that node `node` leads (so the flood reaches its write path, not redirects).
std::vector<std::string> KeysLedBy(TestCluster& cluster, int node, size_t want) {
  std::map<uint64_t, int> leaders = cluster.Leaders();
  std::vector<std::string> keys;
  for (int i = 0; keys.size() < want && i < 400; ++i) {
    const std::string key = "flood/" + std::to_string(i);
    auto g = cluster.GroupOf(key);
    if (g.ok() && leaders[*g] == node) keys.push_back(key);
  }
  return keys;
}

struct Tally {
  int answered = 0;
  int ok = 0;
  int busy = 0;
  std::map<std::string, int> other;  // by error code name
  std::string bad_busy;              // the first shed answer without a hint or reason
};

TEST(OverloadTest, FloodedNodeShedsWithRetryAfterStaysBoundedAndServesAfter) {
  TestClusterOptions options;
  options.extra_flags = kFlags;
  TestCluster cluster(options);
  ASSERT_OK(cluster.StartAll());
  auto leader = cluster.WaitForLeader();
  ASSERT_TRUE(leader.ok()) << leader.status().ToString();
  const int target = *leader;  // the node leading the most groups
  const std::vector<std::string> keys = KeysLedBy(cluster, target, 8);
  ASSERT_FALSE(keys.empty()) << "no key of a group led by node " << target;

  const pid_t pid = cluster.process(target).pid();
  const int64_t rss_before = ProcStatusKiB(pid, "VmRSS");
  ASSERT_GT(rss_before, 0);

  // Flood: every connection gets all its requests before any answer is read.
  std::vector<RawSocket> conns;
  const std::string value(kValueBytes, 'v');
  for (int c = 0; c < kConnections; ++c) {
    RawSocket s = RawSocket::Connect(cluster.client_port(target));
    ASSERT_TRUE(s.valid());
    ASSERT_TRUE(s.WriteFrame(
        net::MakeHandshake(cluster.cluster_id(), NodeId(0), 1, "127.0.0.1:1").SerializeAsString()));
    auto hs = s.ReadFrame();
    ASSERT_TRUE(hs.has_value()) << "no handshake reply";
    conns.push_back(std::move(s));
  }
  for (int c = 0; c < kConnections; ++c) {
    for (int i = 0; i < kPerConnection; ++i) {
      kvpb::Request req;
      req.set_request_id(static_cast<uint64_t>(i) + 1);
      req.set_timeout_ms(10000);
      req.mutable_put()->set_key(keys[static_cast<size_t>(i) % keys.size()]);
      req.mutable_put()->set_value(value);
      ASSERT_TRUE(conns[static_cast<size_t>(c)].WriteFrame(req.SerializeAsString()))
          << "connection " << c << " closed by the server at request " << i;
    }
  }

  Tally t;
  for (auto& s : conns) {
    for (int i = 0; i < kPerConnection; ++i) {
      auto frame = s.ReadFrame(std::chrono::seconds(60));
      ASSERT_TRUE(frame.has_value()) << "answers stopped after " << t.answered;
      kvpb::Response resp;
      ASSERT_TRUE(resp.ParseFromString(*frame));
      ++t.answered;
      if (!resp.has_error() || resp.error().code() == kvpb::OK) {
        ++t.ok;
      } else if (resp.error().code() == kvpb::BUSY) {
        ++t.busy;
        const kvpb::Error& e = resp.error();
        if (t.bad_busy.empty() &&
            (e.retry_after_ms() == 0 || !e.definite() ||
             e.message().find("too many requests") == std::string::npos)) {
          t.bad_busy = e.ShortDebugString();
        }
      } else {
        ++t.other[kvpb::ErrorCode_Name(resp.error().code())];
      }
    }
  }
  const int64_t peak = ProcStatusKiB(pid, "VmHWM");
  std::cout << "flood of " << kConnections * kPerConnection << " puts of " << kValueBytes
            << " bytes: " << t.ok << " ok, " << t.busy << " shed";
  for (const auto& [code, n] : t.other) std::cout << ", " << n << " " << code;
  std::cout << "; node " << target << " RSS " << rss_before / 1024 << " MiB before, peak "
            << peak / 1024 << " MiB\n";

  EXPECT_EQ(t.answered, kConnections * kPerConnection);
  // The flood is 24 times the node's limit, so many requests are shed (not most, necessarily:
  // NOT_LEADER answers free room fast). If the node stopped leading before most of the flood
  // was read (seen on a loaded machine: 2,177 NOT_LEADER, 185 shed), it answered cheaply and
  // shedding a tenth is not due; some shedding still is.
  EXPECT_GT(t.busy, 0) << "the flood must be shed";
  const int not_leader = t.other["NOT_LEADER"] + t.other["NO_LEADER"];
  if (not_leader < kConnections * kPerConnection / 2) {
    EXPECT_GT(t.busy, kConnections * kPerConnection / 10)
        << "the flood must be shed (" << not_leader << " NOT_LEADER/NO_LEADER answers)";
  }
  EXPECT_GT(t.ok, 0) << "admitted requests must still be served";
  EXPECT_TRUE(t.bad_busy.empty()) << "a shed answer lacks its hint: " << t.bad_busy;
  ASSERT_TRUE(cluster.Running(target)) << "node " << target << " died under the flood";
  // Generous: admitted, the flood grew RSS by about 100 MiB; queued whole (admission limits
  // set out of reach), by 420 MiB.
  EXPECT_LT(peak - rss_before, 256 * 1024) << "RSS grew from " << rss_before / 1024
                                           << " MiB to a peak of " << peak / 1024 << " MiB";

  // The node reports what it shed.
  auto st = cluster.NodeStatus(target);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_GE(st->admission().shed_total(), static_cast<uint64_t>(t.busy));
  EXPECT_GE(st->admission().admitted_total(), static_cast<uint64_t>(t.ok));

  // Normal service right after: a write through the cluster lands on the flooded node.
  conns.clear();
  client::CallOptions co;
  co.timeout = 10s;
  ASSERT_OK(cluster.client().Put(keys[0], "after the flood", co).status());
  auto get = cluster.client().Get(keys[0], co);
  ASSERT_TRUE(get.ok()) << get.status().ToString();
  ASSERT_TRUE(get->has_value());
  EXPECT_EQ((*get)->value, "after the flood");
  EXPECT_TRUE(WaitUntil(
      [&] {
        auto kv = cluster.LocalGet(target, keys[0]);
        return kv.ok() && kv->has_value() && (*kv)->value() == "after the flood";
      },
      10s));
}

// Issue #14 ("memory that stays bounded with 2,000 clients sending 64 KiB values"): 2,000
// client connections, each with a 64 KiB put in flight, all at once against one node running
// with the DEFAULT flags (issue #10: peak RSS under 1 GiB per node with the default flags,
// whatever the load). Every client gets an answer, the node survives, and its memory stays far
// below what queueing the whole offer would cost (125 MiB of values, held several times over
// on the write path).
TEST(OverloadTest, TwoThousandClientsWith64KiBValuesStayUnderTheMemoryBound) {
  constexpr int kClients = 2000;
  // One descriptor per client here and one per client in the node (which inherits the limit).
  rlimit nofile{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &nofile), 0);
  const rlim_t want = 2 * kClients + 512;
  if (nofile.rlim_cur < want) {
    nofile.rlim_cur = std::min<rlim_t>(want, nofile.rlim_max);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &nofile), 0);
  }
  if (nofile.rlim_cur < want) {
    GTEST_SKIP() << "needs " << want << " file descriptors, the hard limit is " << nofile.rlim_max;
  }
  TestClusterOptions options;  // the default flags
  TestCluster cluster(options);
  ASSERT_OK(cluster.StartAll());
  auto leader = cluster.WaitForLeader();
  ASSERT_TRUE(leader.ok()) << leader.status().ToString();
  const int target = *leader;
  const std::vector<std::string> keys = KeysLedBy(cluster, target, 16);
  ASSERT_FALSE(keys.empty()) << "no key of a group led by node " << target;
  const pid_t pid = cluster.process(target).pid();
  const int64_t rss_before = ProcStatusKiB(pid, "VmRSS");
  ASSERT_GT(rss_before, 0);

  std::vector<RawSocket> clients;
  clients.reserve(kClients);
  for (int c = 0; c < kClients; ++c) {
    RawSocket s = RawSocket::Connect(cluster.client_port(target));
    ASSERT_TRUE(s.valid()) << "connection " << c;
    ASSERT_TRUE(s.WriteFrame(
        net::MakeHandshake(cluster.cluster_id(), NodeId(0), 1, "127.0.0.1:1").SerializeAsString()));
    ASSERT_TRUE(s.ReadFrame().has_value()) << "no handshake reply on connection " << c;
    clients.push_back(std::move(s));
  }
  // Every client sends its put before any answer is read.
  const std::string value(kValueBytes, 'v');
  for (int c = 0; c < kClients; ++c) {
    kvpb::Request req;
    req.set_request_id(1);
    req.set_timeout_ms(10000);
    req.mutable_put()->set_key(keys[static_cast<size_t>(c) % keys.size()]);
    req.mutable_put()->set_value(value);
    ASSERT_TRUE(clients[static_cast<size_t>(c)].WriteFrame(req.SerializeAsString()))
        << "client " << c << " closed by the server";
  }
  Tally t;
  for (auto& s : clients) {
    auto frame = s.ReadFrame(std::chrono::seconds(60));
    ASSERT_TRUE(frame.has_value()) << "answers stopped after " << t.answered;
    kvpb::Response resp;
    ASSERT_TRUE(resp.ParseFromString(*frame));
    ++t.answered;
    if (!resp.has_error() || resp.error().code() == kvpb::OK) {
      ++t.ok;
    } else if (resp.error().code() == kvpb::BUSY) {
      ++t.busy;
    } else {
      ++t.other[kvpb::ErrorCode_Name(resp.error().code())];
    }
  }
  const int64_t peak = ProcStatusKiB(pid, "VmHWM");
  std::cout << kClients << " clients, one " << kValueBytes << "-byte put each: " << t.ok
            << " ok, " << t.busy << " shed";
  for (const auto& [code, n] : t.other) std::cout << ", " << n << " " << code;
  std::cout << "; node " << target << " RSS " << rss_before / 1024 << " MiB before, peak "
            << peak / 1024 << " MiB\n";
  EXPECT_EQ(t.answered, kClients);
  EXPECT_GT(t.ok, 0) << "admitted requests must be served";
  ASSERT_TRUE(cluster.Running(target)) << "node " << target << " died under 2,000 clients";
  // The bound issue #10 sets for the default flags. Seen: peaks of 450-500 MiB from about
  // 20 MiB (read buffers of 2,000 connections, admitted requests and their copies on the write
  // path, RocksDB's memtables).
  EXPECT_LT(peak, 1024 * 1024) << "peak RSS " << peak / 1024 << " MiB (from " << rss_before / 1024
                               << " MiB), over the 1 GiB bound";
  clients.clear();
  // And it serves normally right after.
  client::CallOptions co;
  co.timeout = 10s;
  ASSERT_OK(cluster.client().Put(keys[0], "after 2,000 clients", co).status());
}

}  // namespace
}  // namespace ringkv::integration

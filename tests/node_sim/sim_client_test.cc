// SimClient and HistoryRecorder against a fake cluster on a virtual clock: one linearizable map
// behind a lossy network with a moving leader. With the fake's exactly-once sessions every
// history checks valid; with sessions ignored (a retried append applies twice) or with reads
// served from a lagging copy, the checkers catch it. This is the client half of the node
// simulation, proven before it drives real nodes.
#include "node_sim/sim_client.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <queue>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace ringkv::node_sim {
namespace {

// A deterministic event queue: tasks ordered by (virtual time, insertion).
class EventQueue {
 public:
  int64_t now() const { return now_; }
  void After(int64_t delay, std::function<void()> task) {
    queue_.push(Event{now_ + delay, next_seq_++, std::move(task)});
  }
  // Runs events until the queue is empty or the clock passes `until`.
  void RunUntil(int64_t until) {
    while (!queue_.empty() && queue_.top().at <= until) {
      Event e = queue_.top();
      queue_.pop();
      now_ = e.at;
      e.task();
    }
    now_ = std::max(now_, until);
  }

 private:
  struct Event {
    int64_t at;
    uint64_t seq;
    std::function<void()> task;
    bool operator<(const Event& o) const { return std::tie(at, seq) > std::tie(o.at, o.seq); }
  };
  std::priority_queue<Event> queue_;
  int64_t now_ = 0;
  uint64_t next_seq_ = 0;
};

enum class FakeBug { kNone, kForgetSessions, kStaleFollowerReads };

// One linearizable map: the leader applies each request at once and answers after a delay.
// Sessions remember every answer (client_id, sequence) at or above first_incomplete.
class FakeCluster {
 public:
  FakeCluster(EventQueue* q, Random* rng, FakeBug bug) : q_(q), rng_(rng), bug_(bug) {}

  void Send(uint64_t node, kvpb::Request req, std::function<void(kvpb::Response)> reply) {
    if (rng_->Bernoulli(0.1)) return;  // request lost
    q_->After(1 + static_cast<int64_t>(rng_->Uniform(20)), [=, this] {
      kvpb::Response resp = Handle(node, req);
      if (rng_->Bernoulli(0.1)) return;  // answer lost (the request may have applied)
      q_->After(1 + static_cast<int64_t>(rng_->Uniform(20)), [reply, resp] { reply(resp); });
    });
  }
  void MoveLeader() { leader_ = 1 + rng_->Uniform(3); }
  // The lagging copy a buggy follower serves reads from catches up now and then.
  void CatchUpFollowers() { follower_copy_ = data_; }

 private:
  // A scan of the whole (one-shard) map, from `from`.
  static kvpb::Response ScanOf(const std::map<std::string, std::string>& from) {
    kvpb::Response resp;
    kvpb::ScanResponse* scan = resp.mutable_scan();
    for (const auto& [k, v] : from) {
      kvpb::KeyValue* kv = scan->add_kvs();
      kv->set_key(k);
      kv->set_value(v);
    }
    return resp;
  }

  kvpb::Response Handle(uint64_t node, const kvpb::Request& req) {
    kvpb::Response resp;
    if (req.has_scan() && bug_ == FakeBug::kStaleFollowerReads && node != leader_) {
      return ScanOf(follower_copy_);
    }
    if (req.has_get() && bug_ == FakeBug::kStaleFollowerReads && node != leader_) {
      auto it = follower_copy_.find(req.get().key());
      resp.mutable_get()->set_found(it != follower_copy_.end());
      if (it != follower_copy_.end()) resp.mutable_get()->mutable_kv()->set_value(it->second);
      return resp;
    }
    if (node != leader_) {
      resp.mutable_error()->set_code(kvpb::NOT_LEADER);
      resp.mutable_error()->set_definite(true);
      resp.mutable_error()->set_leader_hint(leader_);
      return resp;
    }
    if (req.has_scan()) return ScanOf(data_);
    if (req.has_get()) {
      auto it = data_.find(req.get().key());
      resp.mutable_get()->set_found(it != data_.end());
      if (it != data_.end()) resp.mutable_get()->mutable_kv()->set_value(it->second);
      return resp;
    }
    const auto session = std::make_pair(req.client_id(), req.sequence());
    if (bug_ != FakeBug::kForgetSessions) {
      if (auto it = answers_.find(session); it != answers_.end()) return it->second;
    }
    ++version_;
    if (req.has_put()) {
      data_[req.put().key()] = req.put().value();
      resp.mutable_put()->set_version(version_);
    } else if (req.has_append()) {
      data_[req.append().key()] += req.append().suffix();
      resp.mutable_append()->set_version(version_);
    } else if (req.has_cas()) {
      auto it = data_.find(req.cas().key());
      const bool match = it != data_.end() && it->second == req.cas().expected_value();
      resp.mutable_cas()->set_succeeded(match);
      if (match) {
        it->second = req.cas().new_value();
        resp.mutable_cas()->set_version(version_);
      }
    }
    answers_[session] = resp;
    return resp;
  }

  EventQueue* q_;
  Random* rng_;
  FakeBug bug_;
  uint64_t leader_ = 1;
  uint64_t version_ = 0;
  std::map<std::string, std::string> data_, follower_copy_;
  std::map<std::pair<uint64_t, uint64_t>, kvpb::Response> answers_;
};

struct RunResult {
  HistoryVerdict verdict;
  SimClient::Counts counts;
  size_t ops = 0;
};

// `processes` Jepsen processes share one SimClient (one session, many writes in flight). Every
// tenth operation is a scan; with `reads_by_scan`, every read is.
RunResult RunClients(uint64_t seed, bool append_workload, FakeBug bug, int processes = 8,
                     bool reads_by_scan = false) {
  EventQueue q;
  Random rng(seed);
  FakeCluster cluster(&q, &rng, bug);
  HistoryRecorder recorder;
  ClientEnv env{[&q] { return q.now(); },
                [&q](int64_t d, std::function<void()> t) { q.After(d, std::move(t)); },
                [&cluster](uint64_t node, kvpb::Request r, std::function<void(kvpb::Response)> cb) {
                  cluster.Send(node, std::move(r), std::move(cb));
                },
                {1, 2, 3}};
  SimClient client(env, ClientTiming{}, &recorder, &rng);
  int64_t next_value = 1;
  const std::vector<std::string> keys = {"k0", "k1"};
  for (int64_t t = 0; t < 20'000; t += 10) {
    if (rng.Bernoulli(0.01)) cluster.MoveLeader();
    if (rng.Bernoulli(0.05)) cluster.CatchUpFollowers();
    for (int p = 0; p < processes; ++p) {
      if (client.Busy(p) || !rng.Bernoulli(0.3)) continue;
      const std::string& key = keys[rng.Uniform(keys.size())];
      const uint64_t dice = rng.Uniform(10);
      const bool read = append_workload ? dice >= 5 : dice < 4;
      if (dice == 9 || (read && reads_by_scan)) {
        client.Scan(p, GroupId(1), keys, append_workload);
      } else if (append_workload) {
        if (dice < 5) {
          client.Append(p, key, next_value++);
        } else {
          client.ReadList(p, key);
        }
      } else if (dice < 4) {
        client.Read(p, key);
      } else if (dice < 7) {
        client.Write(p, key, next_value++);
      } else {
        const auto expected = static_cast<int64_t>(rng.Uniform(static_cast<uint64_t>(next_value)));
        client.Cas(p, key, expected, next_value++);
      }
    }
    q.RunUntil(t + 10);
  }
  q.RunUntil(q.now() + 60'000);  // let every call finish
  EXPECT_EQ(client.in_flight(), 0u);
  RunResult out;
  out.verdict = append_workload ? CheckAppendHistory(recorder.history())
                                : CheckRegisterHistory(recorder.history());
  out.counts = client.counts();
  out.ops = recorder.operations();
  return out;
}

TEST(SimClient, HistoriesOfACorrectClusterAreValid) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    for (bool append : {false, true}) {
      RunResult r = RunClients(seed, append, FakeBug::kNone);
      EXPECT_EQ(r.verdict.verdict, jepsen::Verdict::kValid)
          << "seed " << seed << (append ? " append" : " register") << "\n" << r.verdict.report;
      EXPECT_GT(r.ops, 400u);
      EXPECT_GT(r.counts.ok, r.ops / 2) << "seed " << seed;
      EXPECT_GT(r.counts.attempts, r.ops) << "retries happened";
    }
  }
}

TEST(SimClient, ARunIsAFunctionOfItsSeed) {
  RunResult a = RunClients(7, true, FakeBug::kNone);
  RunResult b = RunClients(7, true, FakeBug::kNone);
  EXPECT_EQ(a.ops, b.ops);
  EXPECT_EQ(a.counts.attempts, b.counts.attempts);
  EXPECT_EQ(a.counts.info, b.counts.info);
}

TEST(SimClient, CheckersCatchAClusterThatForgetsSessions) {
  bool caught = false;
  for (uint64_t seed = 1; seed <= 5 && !caught; ++seed) {
    HistoryVerdict v = RunClients(seed, true, FakeBug::kForgetSessions).verdict;
    caught = v.verdict == jepsen::Verdict::kInvalid &&
             v.report.find("duplicated") != std::string::npos;
  }
  EXPECT_TRUE(caught) << "a retried append applied twice must show as a duplicate";

}

TEST(SimClient, CheckersCatchStaleFollowerReads) {
  bool caught = false;
  for (uint64_t seed = 1; seed <= 5 && !caught; ++seed) {
    HistoryVerdict v = RunClients(seed, false, FakeBug::kStaleFollowerReads).verdict;
    caught = v.verdict == jepsen::Verdict::kInvalid &&
             v.report.find("could not linearize") != std::string::npos;
  }
  EXPECT_TRUE(caught) << "reads from a lagging follower must not linearize";
}

TEST(SimClient, CheckersCatchStaleFollowerScans) {
  // Every read is a scan: the stale answers can only come from scans.
  bool caught = false;
  for (uint64_t seed = 1; seed <= 5 && !caught; ++seed) {
    HistoryVerdict v = RunClients(seed, false, FakeBug::kStaleFollowerReads, 8, true).verdict;
    caught = v.verdict == jepsen::Verdict::kInvalid &&
             v.report.find("could not linearize") != std::string::npos;
  }
  EXPECT_TRUE(caught) << "scans served from a lagging follower must not linearize";
}

}  // namespace
}  // namespace ringkv::node_sim

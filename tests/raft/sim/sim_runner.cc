#include "raft/sim/sim_runner.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "raft/sim/cluster.h"

namespace ringkv::raft::sim {
namespace {

SimFlags g_flags;
std::function<void(Cluster&, uint64_t)> g_seed_hook;

template <typename T>
const T& Pick(Random& rng, const std::vector<T>& v) {
  return v[rng.Uniform(v.size())];
}

// The fault and workload mix of one seed, chosen from the seed.
struct FaultMix {
  double write = 0.3;
  double read = 0.15;
  double crash = 0.01;
  double crash_leader = 0.005;
  double partition = 0.01;
  double net_change = 0.01;
  double transfer = 0.005;
  double campaign = 0.003;
  double compact = 0.1;
  double conf_change = 0.01;
  double window_crash = 0.05;
  // Probability that a newly elected leader crashes within 30 ms (figure 8 needs leaders that
  // die before their own-term entry replicates).
  double crash_new_leader = 0;
  // Probability that a newly elected leader proposes a membership change at once, while an
  // uncommitted change of the previous term may still sit in its log.
  double conf_change_new_leader = 0;
  // Probability that a proposed membership change is followed at once by a leadership transfer.
  double transfer_after_conf_change = 0;
};

// Drives workload and faults, one decision round per tick.
class ChaosController {
 public:
  // `quiet`: with quiescence, the stream that pauses the workload now and then (faults go on),
  // so groups sleep and the faults hit sleeping groups. Null: no pauses.
  ChaosController(Cluster* c, const FaultMix& mix, bool membership, Random* quiet = nullptr)
      : c_(c), rng_(c->rng()), mix_(mix), membership_(membership), quiet_(quiet) {}

  void OnTick() {
    const std::vector<NodeId> up = c_->up_node_ids();
    if (quiet_ != nullptr && c_->now_ms() >= quiet_until_ && quiet_->Bernoulli(0.01)) {
      quiet_until_ = c_->now_ms() + 100 + static_cast<int64_t>(quiet_->Uniform(1500));
    }
    if (!up.empty() && c_->now_ms() >= quiet_until_) Workload(up);
    Faults(up);
    if (rng_.Bernoulli(0.02)) c_->ExpireReads(3000);
  }

 private:
  void Workload(const std::vector<NodeId>& up) {
    static const std::vector<std::string> kKeys = {"a", "b", "c"};
    if (rng_.Bernoulli(mix_.write)) {
      c_->Write(Pick(rng_, up), Pick(rng_, kKeys)).status().IgnoreError();  // may be refused
    }
    if (rng_.Bernoulli(mix_.read)) {
      // Half the reads go to a node that believes it leads (possibly a stale leader).
      std::vector<NodeId> leaders;
      for (NodeId id : up) {
        if (c_->node(id).raw().role() == StateRole::kLeader) leaders.push_back(id);
      }
      const NodeId at =
          !leaders.empty() && rng_.Bernoulli(0.5) ? Pick(rng_, leaders) : Pick(rng_, up);
      c_->Read(at, Pick(rng_, kKeys)).status().IgnoreError();  // may be refused
    }
    if (rng_.Bernoulli(mix_.compact)) {
      const NodeId id = Pick(rng_, up);
      c_->node(id).Compact(rng_.Uniform(6));
      c_->WithNode(id, [](RawNode&) {});
    }
  }

  void Faults(const std::vector<NodeId>& up) {
    const int64_t now = c_->now_ms();
    if (!up.empty() && rng_.Bernoulli(mix_.crash)) {
      c_->ScheduleCrash(Pick(rng_, up), now, 10 + static_cast<int64_t>(rng_.Uniform(600)));
    }
    const NodeId l = c_->Leader();
    if (l != kNoNode) {
      const Term t = c_->node(l).raw().term();
      if (t != last_leader_term_) {
        last_leader_term_ = t;
        // (Zero probabilities draw nothing, so the standard profile's seeds keep their runs.)
        if (membership_ && mix_.conf_change_new_leader > 0 &&
            rng_.Bernoulli(mix_.conf_change_new_leader)) {
          ConfChange();
        }
        if (rng_.Bernoulli(mix_.crash_new_leader)) {
          c_->ScheduleCrash(l, now + static_cast<int64_t>(rng_.Uniform(30)),
                            static_cast<int64_t>(rng_.Uniform(300)));
        }
      }
    }
    if (rng_.Bernoulli(mix_.crash_leader)) {
      const NodeId l = c_->Leader();
      if (l != kNoNode) c_->ScheduleCrash(l, now, static_cast<int64_t>(rng_.Uniform(400)));
    }
    if (c_->network().partitioned()) {
      if (now >= heal_at_) {
        c_->network().HealAll();
        c_->Note(kNoNode, "partition healed");
      }
    } else if (rng_.Bernoulli(mix_.partition)) {
      Partition();
    }
    if (rng_.Bernoulli(mix_.net_change)) ChangeNetwork();
    if (rng_.Bernoulli(mix_.transfer)) {
      const NodeId l = c_->Leader();
      if (l != kNoNode) {
        const raftpb::ConfState& cs = c_->node(l).conf_state();
        if (cs.voters_size() > 0) {
          const NodeId to(cs.voters(static_cast<int>(rng_.Uniform(cs.voters_size()))));
          c_->Note(l, "transfer leadership to n" + std::to_string(to.value()));
          c_->WithNode(l, [to](RawNode& r) { r.TransferLeader(to); });
        }
      }
    }
    if (!up.empty() && rng_.Bernoulli(mix_.campaign)) {
      const NodeId id = Pick(rng_, up);
      c_->Note(id, "campaigns now");
      c_->WithNode(
          id, [](RawNode& r) { r.Campaign(); }, true);
    }
    if (membership_ && rng_.Bernoulli(mix_.conf_change)) ConfChange();
  }

  void Partition() {
    std::vector<NodeId> all = c_->node_ids();
    const NodeId leader = c_->Leader();
    const uint64_t kind = rng_.Uniform(5);
    SimNetwork& net = c_->network();
    std::string what;
    if ((kind == 1 || kind == 2 || kind == 3) && leader != kNoNode) {
      std::vector<NodeId> others;
      for (NodeId id : all) {
        if (id != leader) others.push_back(id);
      }
      if (kind == 1) {
        net.Split({leader}, others);
        what = "isolate leader n" + std::to_string(leader.value());
      } else if (kind == 2) {
        for (NodeId o : others) net.Block(o, leader);
        what = "leader n" + std::to_string(leader.value()) + " hears nobody (one-way)";
      } else {
        for (NodeId o : others) net.Block(leader, o);
        what = "nobody hears leader n" + std::to_string(leader.value()) + " (one-way)";
      }
    } else if (kind == 4) {
      const uint64_t links = 1 + rng_.Uniform(all.size());
      for (uint64_t i = 0; i < links; ++i) net.Block(Pick(rng_, all), Pick(rng_, all));
      what = "random one-way links";
    } else {
      // Majority / minority split.
      for (size_t i = all.size(); i > 1; --i) std::swap(all[i - 1], all[rng_.Uniform(i)]);
      const size_t minority = 1 + rng_.Uniform(std::max<size_t>(1, (all.size() - 1) / 2));
      std::vector<NodeId> a(all.begin(), all.begin() + static_cast<long>(minority));
      std::vector<NodeId> b(all.begin() + static_cast<long>(minority), all.end());
      net.Split(a, b);
      what = "split minority/majority";
    }
    heal_at_ = c_->now_ms() + 100 + static_cast<int64_t>(rng_.Uniform(1500));
    c_->Note(kNoNode, "partition: " + what + " [" + net.Describe() + "]");
  }

  void ChangeNetwork() {
    NetworkParams p;
    p.drop = Pick(rng_, std::vector<double>{0, 0, 0.01, 0.05, 0.2});
    p.duplicate = Pick(rng_, std::vector<double>{0, 0.02, 0.1});
    p.min_delay_ms = 1;
    p.max_delay_ms = Pick(rng_, std::vector<int64_t>{3, 10, 30});
    p.long_delay = Pick(rng_, std::vector<double>{0, 0.02, 0.1});
    p.long_delay_ms = 200;
    c_->network().set_params(p);
    std::ostringstream os;
    os << "network: drop=" << p.drop << " dup=" << p.duplicate << " delay=1-" << p.max_delay_ms
       << "ms long=" << p.long_delay;
    c_->Note(kNoNode, os.str());
  }

  void ConfChange() {
    const NodeId l = c_->Leader();
    if (l == kNoNode) return;
    const raftpb::ConfState cs = c_->node(l).conf_state();
    raftpb::ConfChange cc;
    const bool joint = cs.voters_outgoing_size() > 0;
    NodeId spawn;
    if (joint) {
      if (cs.auto_leave()) return;
      // An explicit joint configuration is left with an empty change.
    } else {
      std::vector<uint64_t> learners(cs.learners().begin(), cs.learners().end());
      std::vector<uint64_t> voters(cs.voters().begin(), cs.voters().end());
      const uint64_t kind = rng_.Uniform(6);
      auto add = [&cc](raftpb::ConfChangeType t, uint64_t id) {
        raftpb::ConfChangeSingle* s = cc.add_changes();
        s->set_type(t);
        s->set_node_id(id);
      };
      if (kind == 0 && c_->node_ids().size() < 8) {
        spawn = c_->next_node_id();
        add(raftpb::CONF_ADD_LEARNER_NODE, spawn.value());
      } else if (kind == 1 && !learners.empty() && voters.size() < 6) {
        add(raftpb::CONF_ADD_NODE, Pick(rng_, learners));
      } else if (kind == 2 && voters.size() > 2) {
        add(raftpb::CONF_REMOVE_NODE, Pick(rng_, voters));
      } else if (kind == 3 && voters.size() > 2) {
        add(raftpb::CONF_REMOVE_NODE, l.value());  // the leader removes itself
      } else if (kind == 4 && !learners.empty()) {
        add(raftpb::CONF_REMOVE_NODE, Pick(rng_, learners));
      } else if (kind == 5 && !learners.empty() && voters.size() > 1) {
        // Joint consensus: promote a learner and remove a voter at once.
        add(raftpb::CONF_ADD_NODE, Pick(rng_, learners));
        add(raftpb::CONF_REMOVE_NODE, Pick(rng_, voters));
        cc.set_transition(Pick(rng_, std::vector<raftpb::ConfChangeTransition>{
                                         raftpb::TRANSITION_AUTO, raftpb::TRANSITION_JOINT_IMPLICIT,
                                         raftpb::TRANSITION_JOINT_EXPLICIT}));
      } else {
        return;
      }
    }
    Result<EntryId> r = c_->ProposeConfChange(l, cc);
    if (r.ok() && spawn != kNoNode) c_->AddNode();
    if (r.ok() && mix_.transfer_after_conf_change > 0 &&
        rng_.Bernoulli(mix_.transfer_after_conf_change)) {
      const raftpb::ConfState& now = c_->node(l).conf_state();
      if (now.voters_size() > 0) {
        const NodeId to(now.voters(static_cast<int>(rng_.Uniform(now.voters_size()))));
        c_->Note(l, "transfer leadership to n" + std::to_string(to.value()) +
                        " right after a conf change");
        c_->WithNode(l, [to](RawNode& raw) { raw.TransferLeader(to); });
      }
    }
  }

  Cluster* c_;
  Random& rng_;
  FaultMix mix_;
  bool membership_;
  int64_t heal_at_ = 0;
  Term last_leader_term_;
  Random* quiet_;
  int64_t quiet_until_ = 0;
};

// After the heal: propose at the leader until a write is acknowledged.
bool CheckLiveness(Cluster& c) {
  const int64_t healed_at = c.now_ms();
  const int64_t deadline = healed_at + kLivenessBoundMs;
  uint64_t write = 0;
  int64_t proposed_at = 0;
  while (c.now_ms() < deadline) {
    if (!c.RunFor(c.options().tick_ms)) return false;
    if (write != 0 && c.WriteAcked(write)) return true;
    const NodeId l = c.Leader();
    if (l != kNoNode && (write == 0 || c.now_ms() - proposed_at > 500)) {
      Result<uint64_t> w = c.Write(l, "live");
      if (w.ok()) {
        write = *w;
        proposed_at = c.now_ms();
      }
    }
  }
  std::ostringstream os;
  os << "liveness: all nodes up and the network reliable since t=" << healed_at
     << "ms, but no write was acknowledged within " << kLivenessBoundMs << "ms (leader: n"
     << c.Leader().value() << "). Nodes:";
  for (NodeId id : c.node_ids()) {
    const SimNode& n = c.node(id);
    const RaftStatus st = n.raw().GetStatus();
    os << "\n    n" << id.value() << " " << StateRoleName(st.soft_state.role) << " term "
       << st.hard_state.term() << " vote " << st.hard_state.vote() << " lead "
       << st.soft_state.lead.value() << " last " << st.last_index << " commit "
       << st.hard_state.commit() << " applied " << n.sm().applied() << " core conf {"
       << st.conf_state.ShortDebugString() << "} applied conf {"
       << n.conf_state().ShortDebugString() << "}";
  }
  c.checker().Fail(os.str());
  return false;
}

// Fault phase until the step budget (or 60 s of virtual time) is spent, then heal and check
// liveness and every node's final state. Stops at the first violation.
void RunPhases(Cluster& c, uint64_t step_budget) {
  const int64_t max_ms = 60000;
  while (!c.failed() && c.steps() < step_budget && c.now_ms() < max_ms) {
    c.RunFor(c.options().tick_ms);
  }
  if (c.failed()) return;
  // Heal: everything up, network reliable, no more faults.
  c.set_on_tick(nullptr);
  c.CancelScheduledFaults();
  c.set_window_crash_probability(0);
  c.network().HealAll();
  c.network().set_params(NetworkParams{});
  c.Note(kNoNode, "HEAL: all nodes up, network reliable; liveness bound starts");
  for (NodeId id : c.node_ids()) {
    if (!c.node(id).up()) c.Restart(id);
  }
  if (!c.failed()) CheckLiveness(c);
  if (c.failed()) return;
  for (NodeId id : c.node_ids()) c.checker().CheckNode(c.node(id), true);
}

}  // namespace

void SetSeedHookForTesting(std::function<void(Cluster&, uint64_t seed)> hook) {
  g_seed_hook = std::move(hook);
}

SeedResult RunSeed(uint64_t seed, uint64_t step_budget) {
  Random cfg(seed * 0xD1B54A32D192ED03ull + 7);
  ClusterOptions co;
  co.seed = seed;
  co.num_nodes = cfg.Bernoulli(0.5) ? 3 : 5;
  co.trace_capacity = g_flags.trace_size;
  NodeParams& p = co.node_params;
  p.max_size_per_msg = Pick(cfg, std::vector<uint64_t>{1, 64, 1 << 20});
  p.max_inflight_msgs = Pick(cfg, std::vector<int>{1, 4, 256});
  p.check_quorum = cfg.Bernoulli(0.85);
  p.pre_vote = cfg.Bernoulli(0.8);
  p.read_only_option =
      p.check_quorum && cfg.Bernoulli(0.1) ? ReadOnlyOption::kLeaseBased : ReadOnlyOption::kSafe;
  co.persist_max_ms = Pick(cfg, std::vector<int64_t>{2, 10, 30});
  FaultMix mix;
  mix.crash = Pick(cfg, std::vector<double>{0.002, 0.01, 0.03});
  mix.partition = Pick(cfg, std::vector<double>{0.005, 0.02, 0.05});
  mix.window_crash = Pick(cfg, std::vector<double>{0.01, 0.05, 0.2});
  mix.conf_change = Pick(cfg, std::vector<double>{0, 0.01, 0.03});
  mix.campaign = Pick(cfg, std::vector<double>{0.002, 0.01, 0.03});
  mix.crash_new_leader = Pick(cfg, std::vector<double>{0, 0.1, 0.3});
  if (g_flags.profile == SimProfile::kMembership) {
    // Membership changes in every seed and in the hard moments: right after elections,
    // followed by transfers, with more removals of leaders, crashes and partitions around them.
    // Drawn from a separate stream so the standard profile's seeds keep their runs.
    Random more(seed * 0x94D049BB133111EBull + 11);
    mix.conf_change = Pick(more, std::vector<double>{0.02, 0.04, 0.08});
    mix.conf_change_new_leader = Pick(more, std::vector<double>{0.3, 0.6, 1.0});
    mix.transfer_after_conf_change = Pick(more, std::vector<double>{0, 0.1, 0.3});
    mix.crash_leader = Pick(more, std::vector<double>{0.005, 0.01, 0.02});
    mix.partition = Pick(more, std::vector<double>{0.01, 0.02, 0.05});
    co.split_snapshot_apply = true;
  }
  const bool membership = mix.conf_change > 0;
  // Quiescence in half the seeds, with a failure detector of 50 ms to 1 s. Drawn from a
  // separate stream so the other seeds keep their runs.
  Random quiesce(seed * 0xBF58476D1CE4E5B9ull + 13);
  p.quiesce = quiesce.Bernoulli(0.5);
  co.detect_ms = Pick(quiesce, std::vector<int64_t>{50, 200, 1000});
  // Coalesced (driver) heartbeats in half the seeds, as kvd runs them. Its own stream too.
  Random beats(seed * 0xD6E8FEB86659FD93ull + 17);
  p.driver_heartbeats = beats.Bernoulli(0.5);

  Cluster c(co);
  ChaosController chaos(&c, mix, membership, p.quiesce ? &quiesce : nullptr);
  c.set_on_tick([&chaos] { chaos.OnTick(); });
  c.set_window_crash_probability(mix.window_crash);
  {
    NetworkParams np;
    np.max_delay_ms = 10;
    c.network().set_params(np);
  }

  if (g_seed_hook) g_seed_hook(c, seed);
  try {
    RunPhases(c, step_budget);
  } catch (const CorePanic& e) {
    // The core is fail-stop: this seed ends here, recorded as a violation (OnRaftLog already
    // did unless the panic came without a logger), and the next seed runs.
    if (!c.failed()) c.checker().Fail(std::string("raft panic: ") + e.what());
  }

  SeedResult r;
  r.seed = seed;
  r.steps = c.steps();
  r.violation = c.failed();
  if (r.violation) r.violation_text = c.checker().violation();
  if (r.violation || g_flags.print_trace) {
    r.report = c.Report();
    if (g_flags.profile == SimProfile::kMembership) {
      r.report = "  (membership profile: rerun with --profile=membership --seed=" +
                 std::to_string(seed) + ")\n" + r.report;
    }
  }
  const ClusterStats& s = c.stats();
  std::ostringstream os;
  os << "seed " << seed << (g_flags.profile == SimProfile::kMembership ? " (membership)" : "")
     << ": check_quorum=" << p.check_quorum << " pre_vote=" << p.pre_vote
     << " lease_reads=" << (p.read_only_option == ReadOnlyOption::kLeaseBased)
     << (p.quiesce ? " quiesce(detector " + std::to_string(co.detect_ms) + " ms)" : "")
     << (p.driver_heartbeats ? " driver_heartbeats" : "")
     << " max_size_per_msg=" << p.max_size_per_msg << " max_inflight=" << p.max_inflight_msgs
     << "; " << co.num_nodes << " voters, " << c.node_ids().size() << " nodes, " << c.steps()
     << " steps, " << c.now_ms() << " ms, writes " << s.writes_acked << "/" << s.writes_proposed
     << " acked, reads " << s.reads_completed << ", crashes " << s.crashes << ", snapshots sent "
     << s.snapshots_sent << ", conf changes applied " << s.conf_changes_applied
     << (p.quiesce ? ", quiesced " + std::to_string(s.quiesces) + " times" : "") << ", terms "
     << c.checker().leaders().size();
  r.summary = os.str();
  return r;
}

RunTotals RunSeeds(uint64_t first, uint64_t count, uint64_t step_budget, bool stop_at_first,
                   const std::function<bool(const std::string&)>& counts) {
  RunTotals t;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    SeedResult r = RunSeed(seed, step_budget);
    ++t.seeds;
    t.steps += r.steps;
    if (!r.violation) continue;
    const bool counted = !counts || counts(r.violation_text);
    std::cout << "raft-sim: " << (counted ? "violation" : "(not counted) violation")
              << " --seed=" << seed
              << (g_flags.profile == SimProfile::kMembership ? " --profile=membership" : "") << ": "
              << r.violation_text.substr(0, r.violation_text.find('\n')) << "\n";
    if (!counted) continue;
    ++t.violations;
    if (t.first_failing_seed == 0) {
      t.first_failing_seed = seed;
      t.first_report = r.report;
    }
    if (stop_at_first) break;
  }
  return t;
}

std::string SummaryLine(const RunTotals& t) {
  std::ostringstream os;
  os << "raft-sim: ";
  if (g_flags.profile == SimProfile::kMembership) os << "membership profile, ";
  os << t.seeds << " seeds, " << t.steps << " steps, " << t.violations
     << " violations";
  return os.str();
}

SimFlags ParseSimFlags(int* argc, char** argv) {
  SimFlags f;
  if (const char* env = std::getenv("RAFT_SIM_SEED"); env != nullptr && *env != '\0') {
    f.first_seed = std::strtoull(env, nullptr, 10);
    f.seeds = 1;
    f.single_seed = true;
  }
  int out = 1;
  for (int i = 1; i < *argc; ++i) {
    const std::string a = argv[i];
    auto value = [&a](const char* prefix) -> const char* {
      const size_t n = std::strlen(prefix);
      return a.compare(0, n, prefix) == 0 ? a.c_str() + n : nullptr;
    };
    if (const char* v = value("--seed=")) {
      f.first_seed = std::strtoull(v, nullptr, 10);
      f.seeds = 1;
      f.single_seed = true;
    } else if (const char* v = value("--seeds=")) {
      f.seeds = std::strtoull(v, nullptr, 10);
    } else if (const char* v = value("--first-seed=")) {
      f.first_seed = std::strtoull(v, nullptr, 10);
    } else if (const char* v = value("--steps=")) {
      f.steps = std::strtoull(v, nullptr, 10);
    } else if (const char* v = value("--trace-size=")) {
      f.trace_size = std::strtoull(v, nullptr, 10);
    } else if (const char* v = value("--profile=")) {
      const std::string p = v;
      if (p != "standard" && p != "membership") {
        std::fprintf(stderr, "unknown --profile=%s (standard|membership)\n", v);
        std::exit(2);
      }
      f.profile = p == "membership" ? SimProfile::kMembership : SimProfile::kStandard;
    } else if (a == "--trace") {
      f.print_trace = true;
    } else if (const char* v = value("--expect-bug=")) {
      f.expect_bug = v;
    } else {
      argv[out++] = argv[i];
    }
  }
  *argc = out;
  g_flags = f;
  return f;
}

const SimFlags& GlobalSimFlags() { return g_flags; }

}  // namespace ringkv::raft::sim

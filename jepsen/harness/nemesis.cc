#include "jepsen/harness/nemesis.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <set>

namespace ringkv::jepsen {

constexpr size_t kReplication = 3;  // kvd's default --replication, which the harness keeps

namespace {

constexpr double kPauseLengths[] = {0.2, 0.4, 0.8, 1.5, 3.0};


double UniformIn(Random& rng, double lo, double hi) {
  return lo + (hi - lo) * static_cast<double>(rng.Next() >> 11) * 0x1.0p-53;
}

// `v` in a seeded order.
std::vector<int> Shuffled(std::vector<int> v, uint64_t seed) {
  Random rng(seed);
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.Uniform(i)]);
  return v;
}

std::string NodeList(const std::vector<int>& nodes) {
  std::string s;
  for (int n : nodes) s += (s.empty() ? "n" : ",n") + std::to_string(n);
  return "[" + s + "]";
}

// Cuts every link between the two groups, both ways.
void CutBetween(const std::vector<int>& a, const std::vector<int>& b, Grudge* g) {
  for (int x : a) {
    for (int y : b) {
      g->emplace_back(NodeIp(x), NodeIp(y));
      g->emplace_back(NodeIp(y), NodeIp(x));
    }
  }
}

// The family a fault kind belongs to: every partition shape is one family (Jepsen's
// "partition" nemesis), every other kind its own.
int FamilyOf(FaultKind k) {
  switch (k) {
    case FaultKind::kPartitionOne:
    case FaultKind::kPartitionHalves:
    case FaultKind::kPartitionRing:
    case FaultKind::kPartitionBridge:
    case FaultKind::kPartitionLeader:
    case FaultKind::kPartitionOneWay:
    case FaultKind::kPartitionClients: return 0;
    default: return 1 + static_cast<int>(k);
  }
}

// Deals items in seeded rounds: each round is every item once, in a fresh shuffled order.
// Used so that a combined nemesis gives every family (and every partition shape) its turn
// before any gets a second, instead of letting chance skip one in a short run.
template <typename T>
class ShuffleBag {
 public:
  explicit ShuffleBag(std::vector<T> items) : items_(std::move(items)) {}
  T Deal(Random& rng) {
    if (next_ == 0) {
      for (size_t i = items_.size(); i > 1; --i) std::swap(items_[i - 1], items_[rng.Uniform(i)]);
    }
    T v = items_[next_];
    next_ = (next_ + 1) % items_.size();
    return v;
  }

 private:
  std::vector<T> items_;
  size_t next_ = 0;
};

}  // namespace

std::vector<FaultPlan> MakeSchedule(const RunOptions& options) {
  std::vector<FaultPlan> out;
  if (options.faults.empty()) return out;
  Random rng(options.seed * 0x9E3779B97F4A7C15ull + 17);
  // The enabled kinds grouped by family (in the order the spec names them), a bag each, and a
  // bag of the families.
  std::vector<int> family_ids;
  std::vector<std::vector<FaultKind>> by_family;
  for (FaultKind k : options.faults) {
    size_t i = std::find(family_ids.begin(), family_ids.end(), FamilyOf(k)) - family_ids.begin();
    if (i == family_ids.size()) {
      family_ids.push_back(FamilyOf(k));
      by_family.emplace_back();
    }
    by_family[i].push_back(k);
  }
  std::vector<ShuffleBag<FaultKind>> kinds;
  std::vector<size_t> family_index;
  for (auto& members : by_family) {
    family_index.push_back(kinds.size());
    kinds.emplace_back(std::move(members));
  }
  ShuffleBag<size_t> families(std::move(family_index));

  // Every window ends a healthy second before the workload does (healing is forced then too);
  // a window drawn longer than what is left is shortened, so faults fill the whole run.
  const double last_end = options.time_s - 1;
  double t = UniformIn(rng, options.quiet_min_s, options.quiet_max_s);
  while (true) {
    FaultPlan p;
    p.kind = kinds[families.Deal(rng)].Deal(rng);
    p.choice = rng.Next();
    double len = UniformIn(rng, options.fault_min_s, options.fault_max_s);
    double min_len = options.fault_min_s;
    if (p.kind == FaultKind::kPause) {
      len = kPauseLengths[rng.Uniform(std::size(kPauseLengths))];
      min_len = kPauseLengths[0];
    }
    if (t + min_len > last_end) break;
    p.start_s = t;
    p.end_s = std::min(t + len, last_end);
    out.push_back(p);
    t = p.end_s + UniformIn(rng, options.quiet_min_s, options.quiet_max_s);
  }
  return out;
}

Nemesis::Nemesis(const RunOptions& options, Cluster* cluster, Network* network,
                 Recorder* recorder)
    : options_(options),
      cluster_(cluster),
      network_(network),
      recorder_(recorder),
      schedule_(MakeSchedule(options)) {}

Nemesis::~Nemesis() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Nemesis::Start() { thread_ = std::thread([this] { Run(); }); }

bool Nemesis::SleepUntil(double at_s) {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    double now = recorder_->Elapsed();
    if (now >= at_s) return true;
    cv_.wait_for(l, std::chrono::duration<double>(at_s - now));
  }
  return false;
}

void Nemesis::RecordEvent(const std::string& f, const std::string& value) {
  Op op;
  op.process = kNemesisProcess;
  op.type = OpType::kInfo;
  op.f = f;
  op.value = edn::Value::String(value);
  recorder_->Record(op);
}

void Nemesis::Run() {
  for (const FaultPlan& plan : schedule_) {
    if (!SleepUntil(plan.start_s)) return;
    Active active = Begin(plan);
    bool go_on = SleepUntil(plan.end_s);
    End(active);
    if (!go_on) return;
  }
}

Grudge Nemesis::PartitionGrudge(const FaultPlan& plan, std::string* detail) {
  const std::vector<int> members = cluster_->Members();
  const int n = static_cast<int>(members.size());
  std::vector<int> order = Shuffled(members, plan.choice);
  Grudge g;
  auto others = [&](int x) {
    std::vector<int> v;
    for (int i : members) {
      if (i != x) v.push_back(i);
    }
    return v;
  };
  FaultKind kind = plan.kind;
  if (kind == FaultKind::kPartitionRing && n < 5) kind = FaultKind::kPartitionHalves;
  switch (kind) {
    case FaultKind::kPartitionOne: {
      int x = order[0];
      CutBetween({x}, others(x), &g);
      *detail = "isolated n" + std::to_string(x);
      break;
    }
    case FaultKind::kPartitionLeader: {
      int x = cluster_->FindLeader().value_or(order[0]);
      CutBetween({x}, others(x), &g);
      *detail = "isolated leader n" + std::to_string(x);
      break;
    }
    case FaultKind::kPartitionHalves: {
      size_t minority = static_cast<size_t>(n / 2);
      if (minority == 0) minority = 1;
      std::vector<int> a(order.begin(), order.begin() + static_cast<long>(minority));
      std::vector<int> b(order.begin() + static_cast<long>(minority), order.end());
      CutBetween(a, b, &g);
      *detail = "halves " + NodeList(a) + " | " + NodeList(b);
      break;
    }
    case FaultKind::kPartitionRing: {
      // Each node keeps links to its ring neighbours within distance d: a majority each, no
      // two nodes seeing the same majority.
      const int d = (n / 2 + 1) / 2;
      for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) {
          int dist = std::abs(i - j);
          dist = std::min(dist, n - dist);
          if (i != j && dist > d) g.emplace_back(NodeIp(order[i]), NodeIp(order[j]));
        }
      }
      *detail = "majorities ring " + NodeList(order) + " (links to neighbours within " +
                std::to_string(d) + ")";
      break;
    }
    case FaultKind::kPartitionBridge: {
      const size_t half = static_cast<size_t>(n / 2);
      std::vector<int> a(order.begin(), order.begin() + static_cast<long>(half));
      int bridge = order[half];
      std::vector<int> b(order.begin() + static_cast<long>(half) + 1, order.end());
      CutBetween(a, b, &g);
      *detail = "bridge n" + std::to_string(bridge) + " between " + NodeList(a) + " and " +
                NodeList(b);
      break;
    }
    case FaultKind::kPartitionOneWay: {
      int x = order[0];
      bool outgoing = (plan.choice >> 40) & 1;
      for (int y : others(x)) {
        g.emplace_back(NodeIp(outgoing ? x : y), NodeIp(outgoing ? y : x));
      }
      *detail = outgoing ? "one-way: packets from n" + std::to_string(x) + " to the others dropped"
                         : "one-way: packets to n" + std::to_string(x) + " from the others dropped";
      break;
    }
    case FaultKind::kPartitionClients: {
      int x = cluster_->FindLeader().value_or(order[0]);
      g.emplace_back(NodeIp(x), options_.client_source);
      *detail = "responses from leader n" + std::to_string(x) + " to clients dropped";
      break;
    }
    default: break;
  }
  return g;
}

Nemesis::Active Nemesis::Begin(const FaultPlan& plan) {
  Active a;
  a.window.kind = FaultKindName(plan.kind);
  a.window.start_s = recorder_->Elapsed();
  const std::vector<int> members = cluster_->Members();
  const int n = static_cast<int>(members.size());
  std::vector<int> order = Shuffled(members, plan.choice);
  const uint64_t mode = plan.choice >> 48;
  Status st;
  switch (plan.kind) {
    case FaultKind::kKill:
    case FaultKind::kKillUnsynced: {
      // kill: one, the leader, a majority, or all; kill-unsynced: a majority (2/3) or all
      // (losing unsynced writes on a minority alone is always survivable).
      const uint64_t m = plan.kind == FaultKind::kKill ? mode % 4 : (mode % 3 == 0 ? 3 : 2);
      std::vector<int> victims;
      if (m == 0) victims = {order[0]};
      if (m == 1) victims = {cluster_->FindLeader().value_or(order[0])};
      if (m == 2) victims.assign(order.begin(), order.begin() + n / 2 + 1);
      if (m == 3) victims = order;
      for (int v : victims) cluster_->Kill(v);
      a.killed = victims;
      static const char* kModes[] = {"one", "leader", "majority", "all"};
      a.window.detail = std::string("kill -9 (") + kModes[m] + ") " + NodeList(victims);
      break;
    }
    case FaultKind::kPause: {
      int x = (mode & 1) ? cluster_->FindLeader().value_or(order[0]) : order[0];
      cluster_->Pause(x);
      a.paused = {x};
      a.window.detail = std::string("SIGSTOP ") + ((mode & 1) ? "leader " : "") + "n" +
                        std::to_string(x) + " for " +
                        std::to_string(static_cast<int>((plan.end_s - plan.start_s) * 1000)) +
                        " ms";
      break;
    }
    case FaultKind::kMember:
      st = ChangeMembership(order, mode, &a.window.detail);
      break;
    default: {
      Grudge g = PartitionGrudge(plan, &a.window.detail);
      st = network_->Cut(g);
      a.network = true;
      break;
    }
  }
  if (!st.ok()) {
    std::lock_guard<std::mutex> l(mu_);
    errors_.push_back(a.window.kind + ": " + st.ToString());
  }
  RecordEvent("start-" + a.window.kind, a.window.detail);
  return a;
}

MemberChoice ChooseMemberAction(size_t members, int nodes, uint64_t mode,
                                const std::function<Status()>& replicas_healthy) {
  const size_t min_members = std::max<size_t>(kReplication, static_cast<size_t>(nodes) - 1);
  const size_t max_members = static_cast<size_t>(nodes) + 1;
  const bool can_add = members < max_members;
  const bool can_shrink = members > min_members;
  MemberChoice c;
  if (!can_add && !can_shrink) return c;
  c.action = mode % 3 == 0 ? MemberAction::kAdd
             : mode % 3 == 1 ? MemberAction::kDecommission
                             : MemberAction::kRemove;
  if (c.action != MemberAction::kAdd && !can_shrink) c.action = MemberAction::kAdd;
  if (c.action == MemberAction::kAdd && !can_add) {
    c.action = (mode / 3) % 2 ? MemberAction::kRemove : MemberAction::kDecommission;
  }
  if (c.action == MemberAction::kRemove) {
    // Losing a node for good is survivable only if every group still has its full set of
    // live voters; otherwise a group could drop below its quorum forever.
    if (Status h = replicas_healthy(); !h.ok()) {
      c.why = " (not removing: " + std::string(h.message()) + ")";
      c.action = can_add ? MemberAction::kAdd : MemberAction::kDecommission;
    }
  }
  return c;
}

Status Nemesis::ChangeMembership(const std::vector<int>& order, uint64_t mode,
                                 std::string* detail) {
  const MemberChoice c = ChooseMemberAction(order.size(), options_.nodes, mode, [this] {
    return cluster_->ReplicasHealthy(kReplication);
  });
  const std::string& why = c.why;
  switch (c.action) {
    case MemberAction::kNone:
      *detail = "no change (membership at its bounds)";
      return Status::OK();
    case MemberAction::kAdd: {
      ASSIGN_OR_RETURN(int id, cluster_->AddNode());
      *detail = "added n" + std::to_string(id) + " (joins by gossip)" + why;
      return Status::OK();
    }
    case MemberAction::kDecommission:
      *detail = "decommission n" + std::to_string(order[0]) + why;
      return cluster_->Decommission(order[0]);
    case MemberAction::kRemove:
      cluster_->Remove(order[0]);
      *detail = "removed n" + std::to_string(order[0]) + " (kill -9, data dir wiped)";
      return Status::OK();
  }
  return Status::OK();
}

void Nemesis::End(Active& a) {
  Status st;
  if (a.network) st = network_->Heal();
  for (int x : a.paused) cluster_->Resume(x);
  for (int x : a.killed) {
    Status s = cluster_->Start(x);
    if (!s.ok() && st.ok()) st = s;
  }
  a.window.end_s = recorder_->Elapsed();
  RecordEvent("stop-" + a.window.kind, a.window.detail);
  std::lock_guard<std::mutex> l(mu_);
  if (!st.ok()) errors_.push_back("healing " + a.window.kind + ": " + st.ToString());
  windows_.push_back(a.window);
}

Status Nemesis::StopAndHeal() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  Status net = network_->Heal();
  Status nodes = cluster_->HealAll();
  if (!net.ok()) return net;
  return nodes;
}

std::vector<FaultWindow> Nemesis::Windows() const {
  std::lock_guard<std::mutex> l(mu_);
  return windows_;
}

std::vector<std::string> Nemesis::Errors() const {
  std::lock_guard<std::mutex> l(mu_);
  return errors_;
}

}  // namespace ringkv::jepsen

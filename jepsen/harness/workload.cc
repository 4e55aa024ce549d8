#include "jepsen/harness/workload.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <thread>

namespace ringkv::jepsen {
namespace {

constexpr int kKeyWindow = 5;
constexpr uint64_t kOpsPerWindowStep = 100;
constexpr int kSetKeys = 3;
constexpr int64_t kFinalProcessBase = 1000000;

edn::Value IntOrString(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc() && p == s.data() + s.size()) return edn::Value::Int(v);
  return edn::Value::String(s);
}

}  // namespace

edn::Value ParseList(const std::string& s) {
  std::vector<edn::Value> items;
  size_t start = 0;
  while (start < s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) items.push_back(IntOrString(std::string_view(s).substr(start, comma - start)));
    start = comma + 1;
  }
  return edn::Value::Vector(std::move(items));
}

Workload::Workload(const RunOptions& options, Recorder* recorder, ClusterView cluster)
    : options_(options), recorder_(recorder), cluster_(std::move(cluster)) {}

std::unique_ptr<client::Client> Workload::NewClient(std::vector<std::string> endpoints,
                                                    uint64_t seed) {
  client::ClientOptions o;
  o.endpoints = std::move(endpoints);
  o.lazy_connect = true;
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(options_.op_timeout_s * 1000));
  o.request_timeout = timeout;
  o.attempt_timeout = std::max(std::chrono::milliseconds(300), timeout / 3);
  o.dial_timeout = std::chrono::milliseconds(500);
  o.max_backoff = std::chrono::milliseconds(200);
  o.seed = seed;
  auto c = client::Client::Connect(o);
  if (!c.ok()) return nullptr;
  return std::move(*c);
}

client::CallOptions Workload::Call(client::Consistency c, const std::string& via) const {
  client::CallOptions o;
  o.consistency = c;
  o.via_endpoint = via;
  return o;
}

std::string Workload::Home(const Worker& w) {
  if (w.endpoints.empty()) return "";
  return w.endpoints[static_cast<size_t>(w.index) % w.endpoints.size()];
}

Status Workload::Run(double until_s) {
  std::vector<Worker> workers(static_cast<size_t>(options_.concurrency));
  for (int i = 0; i < options_.concurrency; ++i) {
    Worker& w = workers[static_cast<size_t>(i)];
    w.index = i;
    w.process = i;
    w.rng = Random(options_.seed * 1000003 + static_cast<uint64_t>(i) + 1);
    w.endpoints = cluster_.endpoints();
    w.client = NewClient(w.endpoints, options_.seed * 7919 + static_cast<uint64_t>(i) + 1);
    if (!w.client) return Status::Unavailable("cannot create a client");
  }
  std::vector<std::thread> threads;
  for (Worker& w : workers) {
    threads.emplace_back([this, &w, until_s] {
      if (options_.workload == WorkloadKind::kPipeline) {
        PipelineLoop(&w, until_s);
      } else {
        WorkerLoop(&w, until_s);
      }
    });
  }
  for (auto& t : threads) t.join();
  return Status::OK();
}

void Workload::WorkerLoop(Worker* w, double until_s) {
  // Jepsen's stagger: exponential gaps with mean concurrency/rate per worker.
  const double mean_gap = options_.rate > 0 ? options_.concurrency / options_.rate : 0;
  while (recorder_->Elapsed() < until_s) {
    const int64_t process = w->process;
    DoOne(w);
    if (w->process != process) {
      // A new process: like a new Jepsen client, it connects to the members as they are now.
      std::vector<std::string> now = cluster_.endpoints();
      if (!now.empty() && now != w->endpoints) {
        if (auto c = NewClient(now, options_.seed * 7919 + static_cast<uint64_t>(w->process) + 1)) {
          w->client = std::move(c);
          w->endpoints = std::move(now);
        }
      }
    }
    if (mean_gap > 0) {
      double u = (static_cast<double>(w->rng.Next() >> 11) + 1) * 0x1.0p-53;
      double gap = std::min(-std::log(u) * mean_gap, until_s - recorder_->Elapsed());
      if (gap > 0) std::this_thread::sleep_for(std::chrono::duration<double>(gap));
    }
  }
}

std::string Workload::PickKey(Worker* w) {
  std::string key;
  if (options_.workload == WorkloadKind::kSet) {
    key = "s" + std::to_string(w->rng.Uniform(kSetKeys));
  } else {
    const uint64_t base = op_count_.load() / kOpsPerWindowStep;
    const char* prefix = options_.workload == WorkloadKind::kRegister   ? "r"
                         : options_.workload == WorkloadKind::kPipeline ? "p"
                         : options_.workload == WorkloadKind::kWatch    ? "w"
                                                                        : "a";
    key = prefix + std::to_string(base + w->rng.Uniform(kKeyWindow));
  }
  std::lock_guard<std::mutex> l(mu_);
  keys_.insert(key);
  return key;
}

void Workload::DoOne(Worker* w) {
  std::string key = PickKey(w);
  op_count_.fetch_add(1);
  switch (options_.workload) {
    case WorkloadKind::kRegister:
    case WorkloadKind::kWatch: DoRegister(w, key); break;
    case WorkloadKind::kAppend:
      if (w->rng.Bernoulli(0.5)) {
        DoAppend(w, key, false);
      } else {
        Read(*w->client, &w->process, key, client::Consistency::kLinearizable, true, false,
             Home(*w));
      }
      break;
    case WorkloadKind::kPipeline:  // PipelineLoop, never one at a time
      break;
    case WorkloadKind::kSet:
      if (w->rng.Bernoulli(0.9)) {
        DoAppend(w, key, true);
      } else {
        Read(*w->client, &w->process, key, client::Consistency::kLinearizable, true, false,
             Home(*w));
      }
      break;
  }
}

void Workload::NoteError(const Status& s) {
  std::string msg = s.ToString();
  // Keep messages groupable: cut at the first digit-heavy detail.
  if (msg.size() > 120) msg.resize(120);
  std::lock_guard<std::mutex> l(mu_);
  ++errors_[msg];
}

OpType Workload::Complete(int64_t* process, const Op& invoke, const Status& status,
                          bool is_read) {
  Op done = invoke;
  done.index = 0;
  if (status.ok()) {
    done.type = OpType::kOk;
  } else {
    NoteError(status);
    const StatusCode c = status.code();
    const bool definite = c == StatusCode::kUnavailable || c == StatusCode::kResourceExhausted ||
                          c == StatusCode::kInvalidArgument;
    if (c == StatusCode::kDeadlineExceeded || (!definite && !is_read)) {
      done.type = OpType::kInfo;
    } else {
      done.type = OpType::kFail;
    }
  }
  recorder_->Record(done);
  // After an unknown outcome the process is retired: it may still be "running" the operation.
  if (done.type == OpType::kInfo) *process += options_.concurrency;
  return done.type;
}

void Workload::DoRegister(Worker* w, const std::string& key) {
  Op inv;
  inv.process = w->process;
  inv.type = OpType::kInvoke;
  inv.key = key;
  const uint64_t dice = w->rng.Uniform(10);
  if (dice < 4) {
    Read(*w->client, &w->process, key, client::Consistency::kLinearizable, false, false,
         Home(*w));
    return;
  }
  const int64_t v = next_value_.fetch_add(1);
  if (dice < 7) {
    inv.f = "write";
    inv.value = edn::Value::Int(v);
    recorder_->Record(inv);
    Result<uint64_t> r = w->client->Put(key, std::to_string(v), Call());
    Op done = inv;
    if (r.ok()) done.version = static_cast<int64_t>(*r);
    if (Complete(&w->process, done, r.status(), false) == OpType::kOk) {
      std::lock_guard<std::mutex> l(mu_);
      last_value_[key] = v;
    }
    return;
  }
  std::optional<int64_t> expected;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = last_value_.find(key);
    if (it != last_value_.end()) expected = it->second;
  }
  inv.f = "cas";
  inv.value = edn::Value::Vector(
      {expected ? edn::Value::Int(*expected) : edn::Value::Nil(), edn::Value::Int(v)});
  recorder_->Record(inv);
  const client::Expect expect = expected ? client::Expect::Value(std::to_string(*expected))
                                         : client::Expect::Absent();
  Result<client::CasResult> r = w->client->CompareAndSwap(key, expect, std::to_string(v), Call());
  Op done = inv;
  if (r.ok() && r->succeeded) {
    done.version = static_cast<int64_t>(r->version);
    Complete(&w->process, done, Status::OK(), false);
    std::lock_guard<std::mutex> l(mu_);
    last_value_[key] = v;
  } else if (r.ok()) {
    // The compare failed: definitely not applied. Remember what the key holds now.
    done.type = OpType::kFail;
    recorder_->Record(done);
    std::lock_guard<std::mutex> l(mu_);
    if (r->current) {
      edn::Value cur = IntOrString(r->current->value);
      last_value_[key] = cur.IsInt() ? std::optional<int64_t>(cur.integer) : std::nullopt;
    } else {
      last_value_[key] = std::nullopt;
    }
  } else {
    Complete(&w->process, done, r.status(), false);
  }
}

void Workload::DoAppend(Worker* w, const std::string& key, bool set_add) {
  const int64_t e = next_value_.fetch_add(1);
  Op inv;
  inv.process = w->process;
  inv.type = OpType::kInvoke;
  inv.key = key;
  inv.f = set_add ? "add" : "append";
  inv.value = edn::Value::Int(e);
  recorder_->Record(inv);
  Result<client::AppendResult> r = w->client->Append(key, std::to_string(e) + ",", Call());
  Op done = inv;
  if (r.ok()) done.version = static_cast<int64_t>(r->version);
  Complete(&w->process, done, r.status(), false);
}

bool Workload::Read(client::Client& c, int64_t* process, const std::string& key,
                    client::Consistency consistency, bool as_list, bool retry_until_done,
                    const std::string& via) {
  const double give_up = std::min(recorder_->Elapsed() + 10, final_deadline_s_);
  while (true) {
    Op inv;
    inv.process = *process;
    inv.type = OpType::kInvoke;
    inv.key = key;
    inv.f = "read";
    recorder_->Record(inv);
    Result<std::optional<client::KeyValue>> r = c.Get(key, Call(consistency, via));
    Op done = inv;
    if (r.ok()) {
      if (r->has_value()) {
        done.value = as_list ? ParseList((*r)->value) : IntOrString((*r)->value);
        done.version = static_cast<int64_t>((*r)->version);
      } else {
        done.value = as_list ? edn::Value::Vector({}) : edn::Value::Nil();
        done.version = 0;
      }
    }
    OpType t = Complete(process, done, r.status(), true);
    if (t == OpType::kOk) return true;
    if (!retry_until_done || recorder_->Elapsed() > give_up) return false;
  }
}

std::vector<std::string> Workload::FinalReads() {
  std::vector<std::string> keys;
  {
    std::lock_guard<std::mutex> l(mu_);
    keys.assign(keys_.begin(), keys_.end());
  }
  int64_t process = kFinalProcessBase;
  final_deadline_s_ = recorder_->Elapsed() + 20;
  const std::vector<std::string> endpoints = cluster_.endpoints();
  const bool register_like =
      options_.workload == WorkloadKind::kRegister || options_.workload == WorkloadKind::kWatch;
  if (!register_like) {
    // Every replica of each key's shard, one node at a time (a node serves serializable reads
    // of the shards it holds only).
    std::map<std::string, std::vector<std::string>> per_node;  // endpoint -> keys
    for (const auto& [key, replicas] : cluster_.replicas(keys)) {
      for (const auto& e : replicas) per_node[e].push_back(key);
    }
    uint64_t n = 0;
    for (const auto& [endpoint, node_keys] : per_node) {
      auto c = NewClient({endpoint}, options_.seed + 31 * n++ + 5);
      if (!c) continue;
      for (const auto& key : node_keys) {
        Read(*c, &process, key, client::Consistency::kSerializable, true, true);
      }
      process += 1000;
    }
  }
  std::vector<std::string> unavailable;
  auto c = NewClient(endpoints, options_.seed + 77);
  if (!c) return keys;
  for (const auto& key : keys) {
    if (!Read(*c, &process, key, client::Consistency::kLinearizable, !register_like, true)) {
      unavailable.push_back(key);
    }
  }
  return unavailable;
}

std::vector<std::string> Workload::TopErrors(size_t n) const {
  std::vector<std::pair<uint64_t, std::string>> v;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [msg, count] : errors_) v.emplace_back(count, msg);
  }
  std::sort(v.rbegin(), v.rend());
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size() && i < n; ++i) {
    out.push_back(std::to_string(v[i].first) + " x " + v[i].second);
  }
  return out;
}

}  // namespace ringkv::jepsen

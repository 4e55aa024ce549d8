#include "node_sim/sim_client.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <utility>

#include "client/error_policy.h"

namespace ringkv::node_sim {

using jepsen::OpType;
namespace edn = jepsen::edn;

enum class Kind { kRead, kWrite, kCas, kAppend, kReadList, kScan };

struct SimClient::Call {
  uint64_t id = 0;
  int64_t process = 0;
  Kind kind = Kind::kRead;
  std::string f;
  std::string key;
  edn::Value invoke_value;
  kvpb::Request request;
  std::optional<client::WriteSession> session;
  int64_t deadline_ms = 0;
  bool uncertain = false;  // an attempt may have applied without a definite answer
  uint64_t attempt = 0;    // the current attempt; answers of older ones are ignored
  uint64_t target = 0;     // the node to try next; 0 = pick one
  int redirects_in_row = 0;
  // A scan: the keys it reads, each recorded by a process of its own; lists = append workload.
  std::vector<std::pair<std::string, int64_t>> scan_reads;
  bool lists = false;
  bool IsWrite() const {
    return kind != Kind::kRead && kind != Kind::kReadList && kind != Kind::kScan;
  }
};

namespace {

std::optional<int64_t> ParseInt(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// "1,2,3," -> [1 2 3]; nullopt when an element is not an integer.
std::optional<edn::Value> ParseList(std::string_view s) {
  std::vector<edn::Value> items;
  while (!s.empty()) {
    size_t comma = s.find(',');
    if (comma == std::string_view::npos) return std::nullopt;
    std::optional<int64_t> e = ParseInt(s.substr(0, comma));
    if (!e) return std::nullopt;
    items.push_back(edn::Value::Int(*e));
    s.remove_prefix(comma + 1);
  }
  return edn::Value::Vector(std::move(items));
}

}  // namespace

SimClient::SimClient(ClientEnv env, ClientTiming timing, HistoryRecorder* recorder, Random* rng)
    : env_(std::move(env)),
      timing_(timing),
      recorder_(recorder),
      rng_(rng),
      // Session ids from the simulation's seed, start times from its clock: a run is a
      // function of its seed.
      sessions_(client::SessionPool::kDefaultMaxSpan,
                client::SessionPool::Sources{[rng] { return rng->Next(); },
                                             [this] {
                                               return static_cast<uint64_t>(env_.now_ms());
                                             }}) {}

SimClient::~SimClient() = default;

void SimClient::Read(int64_t process, const std::string& key) {
  auto c = std::make_unique<Call>();
  c->process = process;
  c->kind = Kind::kRead;
  c->f = "read";
  c->key = key;
  c->request.mutable_get()->set_key(key);
  Start(std::move(c));
}

void SimClient::ReadList(int64_t process, const std::string& key) {
  auto c = std::make_unique<Call>();
  c->process = process;
  c->kind = Kind::kReadList;
  c->f = "read";
  c->key = key;
  c->request.mutable_get()->set_key(key);
  Start(std::move(c));
}

void SimClient::Scan(int64_t process, GroupId group, std::vector<std::string> keys, bool lists) {
  auto c = std::make_unique<Call>();
  c->process = process;
  c->kind = Kind::kScan;
  c->f = "read";
  c->key = "shard " + std::to_string(group.value());  // names the shard in leader_of_key_
  c->lists = lists;
  for (std::string& k : keys) c->scan_reads.emplace_back(std::move(k), next_scan_process_++);
  c->request.set_group_id(group.value());
  c->request.mutable_scan();  // the whole key range, the server's page size
  Start(std::move(c));
}

void SimClient::FinishScan(Call* c, const kvpb::ScanResponse& scan) {
  ++counts_.ok;
  for (const auto& [key, process] : c->scan_reads) {
    auto kv = std::find_if(scan.kvs().begin(), scan.kvs().end(),
                           [&key](const kvpb::KeyValue& p) { return p.key() == key; });
    const bool found = kv != scan.kvs().end();
    edn::Value value = edn::Value::Nil();
    std::optional<int64_t> version;
    OpType type = OpType::kOk;
    if (c->lists) {
      std::optional<edn::Value> list = ParseList(found ? kv->value() : "");
      if (list) {
        value = std::move(*list);
      } else {
        type = OpType::kInfo;
        value = edn::Value::String(kv->value());
      }
    } else if (found) {
      std::optional<int64_t> v = ParseInt(kv->value());
      if (v) {
        value = edn::Value::Int(*v);
        version = static_cast<int64_t>(kv->version());
      } else {
        type = OpType::kInfo;
        value = edn::Value::String(kv->value());
      }
    }
    recorder_->Complete(process, type, c->f, key, std::move(value), version, env_.now_ms());
  }
  calls_.erase(c->process);  // destroys *c
}

void SimClient::Write(int64_t process, const std::string& key, int64_t value) {
  auto c = std::make_unique<Call>();
  c->process = process;
  c->kind = Kind::kWrite;
  c->f = "write";
  c->key = key;
  c->invoke_value = edn::Value::Int(value);
  c->request.mutable_put()->set_key(key);
  c->request.mutable_put()->set_value(std::to_string(value));
  Start(std::move(c));
}

void SimClient::Cas(int64_t process, const std::string& key, int64_t expected, int64_t value) {
  auto c = std::make_unique<Call>();
  c->process = process;
  c->kind = Kind::kCas;
  c->f = "cas";
  c->key = key;
  c->invoke_value = edn::Value::Vector({edn::Value::Int(expected), edn::Value::Int(value)});
  kvpb::CasRequest* cas = c->request.mutable_cas();
  cas->set_key(key);
  cas->set_expected_value(std::to_string(expected));
  cas->set_new_value(std::to_string(value));
  Start(std::move(c));
}

void SimClient::Append(int64_t process, const std::string& key, int64_t element) {
  auto c = std::make_unique<Call>();
  c->process = process;
  c->kind = Kind::kAppend;
  c->f = "append";
  c->key = key;
  c->invoke_value = edn::Value::Int(element);
  c->request.mutable_append()->set_key(key);
  c->request.mutable_append()->set_suffix(std::to_string(element) + ",");
  Start(std::move(c));
}

void SimClient::Start(std::unique_ptr<Call> call) {
  call->id = next_call_id_++;
  call->deadline_ms = env_.now_ms() + timing_.call_timeout_ms;
  call->request.set_consistency(kvpb::LINEARIZABLE);
  if (call->IsWrite()) call->session = sessions_.Acquire();
  if (call->kind == Kind::kScan) {
    for (const auto& [key, process] : call->scan_reads) {
      recorder_->Invoke(process, call->f, key, edn::Value::Nil(), env_.now_ms());
    }
  } else {
    auto renamed = process_of_slot_.find(call->process);
    recorder_->Invoke(renamed == process_of_slot_.end() ? call->process : renamed->second,
                      call->f, call->key, call->invoke_value, env_.now_ms());
  }
  const int64_t process = call->process;
  const uint64_t id = call->id;
  calls_[process] = std::move(call);
  Attempt(process, id);
}

SimClient::Call* SimClient::Find(int64_t process, uint64_t call_id) {
  auto it = calls_.find(process);
  if (it == calls_.end() || it->second->id != call_id) return nullptr;
  return it->second.get();
}

void SimClient::Attempt(int64_t process, uint64_t call_id) {
  Call* c = Find(process, call_id);
  if (c == nullptr) return;
  if (env_.now_ms() >= c->deadline_ms) return GiveUp(c);
  uint64_t node = c->target;
  if (node == 0) {
    auto cached = leader_of_key_.find(c->key);
    node = cached != leader_of_key_.end()
               ? cached->second
               : env_.node_ids[rng_->Uniform(env_.node_ids.size())];
  }
  c->target = 0;
  const uint64_t attempt = ++c->attempt;
  ++counts_.attempts;
  kvpb::Request req = c->request;
  req.set_request_id(call_id * 1000 + attempt);
  req.set_timeout_ms(static_cast<uint32_t>(timing_.attempt_timeout_ms));
  if (c->session) {
    req.set_client_id(c->session->client_id);
    req.set_sequence(c->session->sequence);
    req.set_session_started_ms(sessions_.StartedMs(c->session->client_id));
    req.set_first_incomplete(sessions_.FirstIncomplete(c->session->client_id));
  }
  env_.send(node, std::move(req), [this, process, call_id, attempt, node](kvpb::Response r) {
    OnAnswer(process, call_id, attempt, node, std::move(r));
  });
  env_.after(timing_.attempt_timeout_ms, [this, process, call_id, attempt, node] {
    OnAttemptTimeout(process, call_id, attempt, node);
  });
}

void SimClient::OnAttemptTimeout(int64_t process, uint64_t call_id, uint64_t attempt,
                                 uint64_t node) {
  Call* c = Find(process, call_id);
  if (c == nullptr || c->attempt != attempt) return;
  // No answer: the attempt may or may not have reached the node.
  if (c->IsWrite()) c->uncertain = true;
  auto cached = leader_of_key_.find(c->key);
  if (cached != leader_of_key_.end() && cached->second == node) leader_of_key_.erase(cached);
  RetryAfter(c, Backoff(0));
}

void SimClient::OnAnswer(int64_t process, uint64_t call_id, uint64_t attempt, uint64_t node,
                         kvpb::Response r) {
  Call* c = Find(process, call_id);
  if (c == nullptr || c->attempt != attempt) return;  // abandoned attempt
  ++c->attempt;  // this attempt is settled; its timeout must do nothing
  const client::Action action = client::Classify(r);
  if (action == client::Action::kDone) {
    leader_of_key_[c->key] = node;
    if (r.error().code() == kvpb::CAS_FAILED || (c->kind == Kind::kCas && !r.cas().succeeded())) {
      return Finish(c, OpType::kFail, c->invoke_value, std::nullopt);
    }
    switch (c->kind) {
      case Kind::kRead: {
        if (!r.get().found()) return Finish(c, OpType::kOk, edn::Value::Nil(), std::nullopt);
        std::optional<int64_t> v = ParseInt(r.get().kv().value());
        if (!v) return Finish(c, OpType::kInfo, edn::Value::String(r.get().kv().value()), {});
        return Finish(c, OpType::kOk, edn::Value::Int(*v),
                      static_cast<int64_t>(r.get().kv().version()));
      }
      case Kind::kReadList: {
        const std::string value = r.get().found() ? r.get().kv().value() : "";
        std::optional<edn::Value> list = ParseList(value);
        if (!list) return Finish(c, OpType::kInfo, edn::Value::String(value), {});
        return Finish(c, OpType::kOk, std::move(*list), std::nullopt);
      }
      case Kind::kWrite:
        return Finish(c, OpType::kOk, c->invoke_value, static_cast<int64_t>(r.put().version()));
      case Kind::kCas:
        return Finish(c, OpType::kOk, c->invoke_value, static_cast<int64_t>(r.cas().version()));
      case Kind::kAppend:
        return Finish(c, OpType::kOk, c->invoke_value,
                      static_cast<int64_t>(r.append().version()));
      case Kind::kScan:
        return FinishScan(c, r.scan());
    }
  }
  const kvpb::Error& err = r.error();
  switch (action) {
    case client::Action::kFail:
      return Finish(c, OpType::kFail, c->invoke_value, std::nullopt);
    case client::Action::kSessionExpired:
      // As client/call.cc: an uncertain write ends "outcome unknown"; otherwise it has not
      // happened and is retried as a new write.
      if (c->uncertain) return Finish(c, OpType::kInfo, c->invoke_value, std::nullopt);
      if (err.expired_through_ms() != 0) {
        sessions_.Expire(c->session->client_id, err.expired_through_ms());
      }
      sessions_.Complete(*c->session);
      c->session = sessions_.Acquire();
      return RetryAfter(c, 0);
    case client::Action::kRedirect: {
      leader_of_key_.erase(c->key);
      if (err.leader_hint() != 0) c->target = err.leader_hint();
      if (++c->redirects_in_row <= timing_.max_redirects_in_row && err.retry_after_ms() == 0) {
        return RetryAfter(c, 0);
      }
      c->redirects_in_row = 0;
      return RetryAfter(c, Backoff(err.retry_after_ms()));
    }
    case client::Action::kBackoffSame:
      c->target = node;
      return RetryAfter(c, Backoff(err.retry_after_ms()));
    case client::Action::kRetryUnknown:
      if (c->IsWrite()) c->uncertain = true;
      [[fallthrough]];
    case client::Action::kBackoffRotate:
      leader_of_key_.erase(c->key);
      return RetryAfter(c, Backoff(err.retry_after_ms()));
    case client::Action::kDone:
      break;
  }
}

void SimClient::RetryAfter(Call* c, int64_t delay_ms) {
  if (env_.now_ms() + delay_ms >= c->deadline_ms) return GiveUp(c);
  const int64_t process = c->process;
  const uint64_t id = c->id;
  if (delay_ms == 0) {
    // Through the event queue, as the real client posts: an answer never re-enters a send.
    env_.after(0, [this, process, id] { Attempt(process, id); });
    return;
  }
  env_.after(delay_ms, [this, process, id] { Attempt(process, id); });
}

void SimClient::GiveUp(Call* c) {
  // Out of time: a write that may have applied is unknown; anything else certainly did not
  // happen (a read observed nothing).
  Finish(c, c->IsWrite() && c->uncertain ? OpType::kInfo : OpType::kFail, c->invoke_value,
         std::nullopt);
}

void SimClient::Finish(Call* c, OpType type, edn::Value value, std::optional<int64_t> version) {
  if (c->session) sessions_.Complete(*c->session);
  switch (type) {
    case OpType::kOk: ++counts_.ok; break;
    case OpType::kFail: ++counts_.fail; break;
    default: ++counts_.info; break;
  }
  if (c->kind == Kind::kScan) {
    // Failed (a scan changes nothing, so it is never uncertain): every read it stood for.
    for (const auto& [key, process] : c->scan_reads) {
      recorder_->Complete(process, type, c->f, key, value, std::nullopt, env_.now_ms());
    }
    calls_.erase(c->process);  // destroys *c
    return;
  }
  auto renamed = process_of_slot_.find(c->process);
  const int64_t process = renamed == process_of_slot_.end() ? c->process : renamed->second;
  recorder_->Complete(process, type, c->f, c->key, std::move(value), version, env_.now_ms());
  if (type == OpType::kInfo) process_of_slot_[c->process] = next_process_++;
  calls_.erase(c->process);  // destroys *c
}

int64_t SimClient::Backoff(int64_t at_least_ms) {
  const int64_t span = timing_.backoff_max_ms - timing_.backoff_min_ms + 1;
  const int64_t jittered =
      timing_.backoff_min_ms + static_cast<int64_t>(rng_->Uniform(static_cast<uint64_t>(span)));
  return std::max(jittered, at_least_ms);
}

}  // namespace ringkv::node_sim

// SimClient: a client of the simulated cluster, on the simulation's virtual clock. It keeps the
// real client's contract (src/client/call.h) with the real client's pure parts: the retry
// policy (client/error_policy.h: follow leader hints, back off, rotate nodes) and exactly-once
// write sessions (client/session_pool.h: every attempt of one write carries the same
// (client_id, sequence), many writes of one session are in flight at once, and each attempt
// carries the session's first incomplete sequence). A write any attempt of which may have
// reached a server without a definite answer is "uncertain", and ends as :info if it runs out of
// time; otherwise an unfinished call is a :fail.
//
// Every operation is recorded in a HistoryRecorder as a Jepsen process's invoke and completion:
//   register  :read (nil or the integer), :write v, :cas [expected new] (a failed compare is :fail)
//   append    :append e (server-side Append of "e,"), :read [e1 e2 ...] (the key's elements)
//   scan      a linearizable scan of one shard, recorded as one :read of each given key of
//             that shard at the scan's invocation and completion (a key it does not return
//             reads nil, or [] in the append workload). Each of these reads is a process of
//             its own (numbered from 2,000,000 up), so the history stays well-formed.
// The caller names "slots": a slot has one operation at a time, and one SimClient serves many
// slots, so one session has as many writes in flight as the client has busy slots. A slot is a
// Jepsen process until one of its operations ends :info; it then continues as a new process
// (as Jepsen's workers do), numbered from 1,000,000 up.
//
// Thread-safety: not thread-safe; the simulation is single-threaded.
#ifndef RINGKV_TESTS_NODE_SIM_SIM_CLIENT_H_
#define RINGKV_TESTS_NODE_SIM_SIM_CLIENT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "client/session_pool.h"
#include "common/ids.h"
#include "common/random.h"
#include "node_sim/history_recorder.h"
#include "proto/kv.pb.h"

namespace ringkv::node_sim {

// What a SimClient needs from the simulation.
struct ClientEnv {
  std::function<int64_t()> now_ms;  // the virtual clock
  // Runs `task` after `delay_ms` of virtual time.
  std::function<void(int64_t delay_ms, std::function<void()> task)> after;
  // Sends one attempt to node `node_id`; `reply` runs when its answer arrives, if it ever does.
  std::function<void(uint64_t node_id, kvpb::Request request,
                     std::function<void(kvpb::Response)> reply)>
      send;
  std::vector<uint64_t> node_ids;  // the nodes to try
};

struct ClientTiming {
  int64_t attempt_timeout_ms = 500;  // an attempt without an answer by then is abandoned
  int64_t call_timeout_ms = 5000;    // the operation's deadline
  int64_t backoff_min_ms = 10;       // retries wait a uniform time in [min, max]
  int64_t backoff_max_ms = 60;
  int max_redirects_in_row = 3;      // leader hints followed at once before backing off
};

class SimClient {
 public:
  SimClient(ClientEnv env, ClientTiming timing, HistoryRecorder* recorder, Random* rng);
  ~SimClient();
  SimClient(const SimClient&) = delete;
  SimClient& operator=(const SimClient&) = delete;

  // Register workload. `process` must not have an operation in flight.
  void Read(int64_t process, const std::string& key);
  void Write(int64_t process, const std::string& key, int64_t value);
  void Cas(int64_t process, const std::string& key, int64_t expected, int64_t value);
  // Append workload.
  void Append(int64_t process, const std::string& key, int64_t element);
  void ReadList(int64_t process, const std::string& key);
  // Both workloads: scans shard `group` (its whole key range) and reads `keys` (keys of that
  // shard) from the answer; `lists` as ReadList, else as Read.
  void Scan(int64_t process, GroupId group, std::vector<std::string> keys, bool lists);

  bool Busy(int64_t slot) const { return calls_.contains(slot); }
  // The nodes to try from now on (membership changed: nodes added, or gone for good).
  void SetNodeIds(std::vector<uint64_t> ids) { env_.node_ids = std::move(ids); }
  size_t in_flight() const { return calls_.size(); }
  // Completions by outcome, for the simulation's summary.
  struct Counts {
    uint64_t ok = 0, fail = 0, info = 0, attempts = 0;
  };
  const Counts& counts() const { return counts_; }

 private:
  struct Call;
  void Start(std::unique_ptr<Call> call);
  void Attempt(int64_t process, uint64_t call_id);
  void OnAnswer(int64_t process, uint64_t call_id, uint64_t attempt, uint64_t node,
                kvpb::Response response);
  void OnAttemptTimeout(int64_t process, uint64_t call_id, uint64_t attempt, uint64_t node);
  void RetryAfter(Call* call, int64_t delay_ms);
  void GiveUp(Call* call);
  void Finish(Call* call, jepsen::OpType type, jepsen::edn::Value value,
              std::optional<int64_t> version);
  Call* Find(int64_t process, uint64_t call_id);
  // A scan's answer as the per-key reads it records (sim_client.cc).
  void FinishScan(Call* c, const kvpb::ScanResponse& scan);
  int64_t Backoff(int64_t at_least_ms);

  ClientEnv env_;
  ClientTiming timing_;
  HistoryRecorder* recorder_;
  Random* rng_;
  client::SessionPool sessions_;
  std::map<std::string, uint64_t> leader_of_key_;  // last node that answered as leader
  std::map<int64_t, std::unique_ptr<Call>> calls_;  // by slot
  std::map<int64_t, int64_t> process_of_slot_;      // slots that became new processes
  int64_t next_process_ = 1'000'000;
  int64_t next_scan_process_ = 2'000'000;
  uint64_t next_call_id_ = 1;
  Counts counts_;
};

}  // namespace ringkv::node_sim

#endif  // RINGKV_TESTS_NODE_SIM_SIM_CLIENT_H_

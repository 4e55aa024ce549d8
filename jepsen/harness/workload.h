// The client side of a test: `concurrency` worker threads, each with its own Client (its own
// connections and leader cache), generating operations of one workload and recording every
// invocation and completion; then the final reads after healing.
//
// Workloads (values are unique integers, from one global counter):
//   register  keys r<k> in a sliding window of 5 keys (the window moves every 100 operations,
//             so each key sees ~100 operations and the search stays small); 40% read (Get),
//             30% write (Put), 30% cas (CompareAndSwap on the last value this run saw for the
//             key; a failed compare is :fail, as in Knossos' cas-register).
//   append    keys a<k> in the same kind of window; 50% append of a unique element (server-side
//             Append of "<e>," to the key's string), 50% read (Get, parsed back into a list).
//   set       keys s0..s2 for the whole run; 90% add (Append "<e>,"), 10% read.
//   pipeline  keys p<k> in the append workload's window; 60% append, 40% read, but each worker's
//             client keeps --in-flight operations going at once through the async API: one
//             client session has many writes in flight, and their retries (attempt timeout 1 s)
//             overtake later writes of the same session. Slot s of worker i is its own Jepsen
//             process (i * in_flight + s), since a process has one operation at a time.
//             Checked by the append checker: a write answered with a definite failure whose
//             element a read later sees is a "failed-observed" anomaly (issue 10).
// Reads during the run start at the worker's home node (worker i -> member i mod n) and follow
// redirects from there, so every node's read path is exercised, not only the leaders'.
// Outcomes: OK -> :ok (with :version); kDeadlineExceeded ("outcome unknown") and any code the
// client does not call definite -> :info (the worker then continues as a new process, as in
// Jepsen); kUnavailable, kResourceExhausted, kInvalidArgument -> :fail; a read that did not
// complete is :fail (it had no effect either way) unless the client says unknown.
// Final reads: every key the run touched is read linearizably (retried until one read
// completes, for at most 10 s per key and 20 s for the whole phase); the set and append
// workloads first read every key from every replica of its shard separately with serializable
// consistency (a client whose only endpoint is that node).
//
// Endpoints: the cluster's current members (asked again when a worker becomes a new process
// and for the final reads), so workers keep finding nodes while membership changes.
//
// Thread-safety: Run and FinalReads from one controlling thread.
#ifndef RINGKV_JEPSEN_HARNESS_WORKLOAD_H_
#define RINGKV_JEPSEN_HARNESS_WORKLOAD_H_

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/random.h"
#include "common/thread_annotations.h"
#include "jepsen/harness/options.h"
#include "jepsen/harness/recorder.h"
#include "ringkv/client.h"

namespace ringkv::jepsen {

class Workload {
 public:
  // What the workload needs to know of the cluster; both must be thread-safe.
  struct ClusterView {
    // Client addresses of the current members.
    std::function<std::vector<std::string>()> endpoints;
    // For each key, the client addresses of the nodes holding a replica of its shard.
    std::function<std::map<std::string, std::vector<std::string>>(const std::vector<std::string>&)>
        replicas;
  };
  Workload(const RunOptions& options, Recorder* recorder, ClusterView cluster);

  // Runs the workers until `until_s` seconds since the test start (operations in flight then
  // complete). Returns an error only when no client could be created.
  Status Run(double until_s);
  // The final reads (see above). Returns the keys whose final linearizable read never
  // succeeded (the cluster was not available after healing).
  std::vector<std::string> FinalReads();
  // Most frequent error messages of :fail/:info completions, "count x message" lines.
  std::vector<std::string> TopErrors(size_t n) const;

 private:
  struct Worker {
    int index = 0;
    int64_t process = 0;
    Random rng{0};
    std::vector<std::string> endpoints;  // the client's
    std::unique_ptr<client::Client> client;
  };
  void WorkerLoop(Worker* w, double until_s);
  // The pipeline workload's worker (pipeline.cc): keeps options_.in_flight operations in
  // flight on w->client until `until_s`, then waits for them.
  void PipelineLoop(Worker* w, double until_s);
  void DoOne(Worker* w);
  void DoRegister(Worker* w, const std::string& key);
  void DoAppend(Worker* w, const std::string& key, bool set_add);
  // Returns whether a read completed :ok. `via`: the node its first attempt goes to ("" = the
  // cached leader).
  bool Read(client::Client& c, int64_t* process, const std::string& key,
            client::Consistency consistency, bool as_list, bool retry_until_done,
            const std::string& via = "");
  // The worker's home node: worker i's reads start at member i mod n, as Jepsen binds each
  // client to a node. A correct follower redirects a linearizable read to the leader; one that
  // serves it from its own state is caught by the checkers.
  static std::string Home(const Worker& w);
  std::string PickKey(Worker* w);
  // Records the completion for `status` (see the outcome rules); returns the type used.
  OpType Complete(int64_t* process, const Op& invoke, const Status& status, bool is_read);
  void NoteError(const Status& s);
  client::CallOptions Call(client::Consistency c = client::Consistency::kLinearizable,
                           const std::string& via = "") const;
  std::unique_ptr<client::Client> NewClient(std::vector<std::string> endpoints, uint64_t seed);

  const RunOptions options_;
  Recorder* const recorder_;
  const ClusterView cluster_;
  double final_deadline_s_ = 0;  // retries of final reads stop then (20 s for the whole phase)
  std::atomic<int64_t> next_value_{1};
  std::atomic<uint64_t> op_count_{0};
  mutable std::mutex mu_;
  std::map<std::string, std::optional<int64_t>> last_value_ GUARDED_BY(mu_);
  std::set<std::string> keys_ GUARDED_BY(mu_);
  std::map<std::string, uint64_t> errors_ GUARDED_BY(mu_);
};

// Parses "1,2,3," into [1 2 3]; tokens that are not integers are kept as strings.
edn::Value ParseList(const std::string& s);

}  // namespace ringkv::jepsen

#endif  // RINGKV_JEPSEN_HARNESS_WORKLOAD_H_

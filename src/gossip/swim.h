// Swim: the pure SWIM membership protocol of one node (Das, Gupta, Motivala, "SWIM: Scalable
// Weakly-consistent Infection-style Process Group Membership Protocol", DSN 2002), with the
// refinements of HashiCorp memberlist: round-robin probing over a shuffled list, suspicion with
// a timeout that grows with log(N), incarnation numbers for refutation, piggybacked
// dissemination with a bounded number of retransmits, a gossip fan-out, and periodic push-pull
// anti-entropy (full-state exchange) with one random peer, which is also how a node joins.
//
// Sans-IO, like the Raft core: no sockets, no clock, no threads, no logging. Time enters by
// Tick(now_ms), input by Receive(from_addr, envelope), output is an outbox of
// (destination address, envelope) that the caller drains with TakeOutbox() and sends, and a
// stream of membership events drained with TakeEvents(). Randomness comes from options.seed.
// The driver (gossip_driver.h) runs it over UDP; tests run many on a simulated network.
//
// Thread-safety: not thread-safe; one owner calls everything.
#ifndef RINGKV_GOSSIP_SWIM_H_
#define RINGKV_GOSSIP_SWIM_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/random.h"
#include "common/status.h"
#include "gossip/broadcast_queue.h"
#include "gossip/member.h"
#include "gossip/member_list.h"
#include "proto/gossip.pb.h"

namespace ringkv::gossip {

struct SwimOptions {
  // Every message carries it; messages with another cluster id are dropped. <= 64 bytes.
  std::string cluster_id;
  // This node: id (!= 0), name, addresses, meta, decommissioning. State and incarnation are
  // ignored (a node starts alive at incarnation 0).
  Member self;
  // Seeds the random choices (probe order, ping-req helpers, gossip targets).
  uint64_t seed = 1;

  // Period of the failure detector: one member is probed per interval. Default: 1000 ms.
  int64_t probe_interval_ms = 1000;
  // Wait for a direct ack before asking helpers (ping-req). REQUIRES < probe_interval_ms.
  // Default: 500 ms.
  int64_t probe_timeout_ms = 500;
  // Number of helpers asked to probe indirectly (SWIM's k). Default: 3.
  int indirect_checks = 3;
  // Minimum suspicion timeout = suspicion_mult * max(1, log10(N)) * probe_interval_ms,
  // N = live members (memberlist's formula). Default: 4.
  int suspicion_mult = 4;
  // Lifeguard (Dadgar et al. 2018, §IV-B): a suspicion starts at suspicion_max_timeout_mult
  // times the minimum and shrinks toward the minimum as independent accusers confirm it
  // (suspicion_mult - 2 confirmations expected). A lone false accusation thus leaves the member
  // a long time to refute, while a real crash, probed by many, is declared quickly.
  // 1 = always the minimum. Default: 6.
  int suspicion_max_timeout_mult = 6;
  // Each update is piggybacked at most retransmit_mult * ceil(log10(N + 1)) times (SWIM's
  // lambda * log N). Default: 4.
  int retransmit_mult = 4;
  // Every gossip_interval_ms, pending updates go to gossip_nodes random members even without a
  // probe to ride on (memberlist's gossip fan-out); 0 disables it (pure SWIM). Default: 200 ms,
  // 3 members.
  int64_t gossip_interval_ms = 200;
  int gossip_nodes = 3;
  // Dead members still receive gossip for this long, so a falsely declared node learns it and
  // refutes. Default: 30000 ms.
  int64_t gossip_to_dead_ms = 30000;
  // Period of push-pull anti-entropy with one random live member; 0 disables it.
  // Default: 30000 ms.
  int64_t push_pull_interval_ms = 30000;
  // While no other live member is known, push-pull to the seeds again this often.
  // Default: 1000 ms.
  int64_t join_retry_ms = 1000;
  // Dead and left members are forgotten (kReaped) after this long. Default: 1 h.
  int64_t dead_retention_ms = 3600 * 1000;

  // Byte budget of one probe/ack/gossip datagram's piggybacked updates (fits an Ethernet MTU
  // with the envelope). Default: 1200 bytes.
  size_t max_piggyback_bytes = 1200;
  // Byte budget of the members of one push-pull datagram; larger states are split.
  // Default: 32 KiB.
  size_t max_push_pull_bytes = 32 * 1024;
  // Bounds on input: updates per message and members in the view. Defaults: 256, 4096.
  size_t max_updates_per_message = 256;
  size_t max_members = 4096;
};

// Counters; monotone over the core's life.
struct SwimStats {
  uint64_t received = 0;                 // envelopes accepted
  uint64_t dropped_cluster_mismatch = 0;  // wrong cluster id
  uint64_t dropped_invalid = 0;           // out-of-bounds or malformed fields
  uint64_t dropped_id_conflict = 0;       // another node claims our id
  uint64_t dropped_wrong_target = 0;      // ping meant for another node id
  uint64_t sent = 0;
  uint64_t probes = 0;
  uint64_t indirect_probes = 0;  // probes that needed ping-req
  uint64_t probe_failures = 0;   // probes that ended in suspicion
  uint64_t suspicions_raised = 0;
  uint64_t refutations = 0;       // times this node raised its incarnation to refute
  uint64_t push_pulls_sent = 0;
};

struct OutMessage {
  std::string to;  // "host:port"
  gossippb::Envelope envelope;
};

class Swim {
 public:
  // REQUIRES: options.self.id != kNoNode, options.self.gossip_addr not empty,
  // probe_timeout_ms < probe_interval_ms. Starts alone (a one-member cluster) until Join.
  explicit Swim(SwimOptions options);

  // Advances time to `now_ms` (monotone; an earlier value is treated as the latest seen) and
  // runs every timer that is due: probe, ping-req, suspicion timeouts, gossip, push-pull,
  // join retries, reaping.
  void Tick(int64_t now_ms);

  // Handles one envelope received from `from_addr` (the datagram's source "host:port").
  // Returns kInvalidArgument (and counts it) when the envelope is dropped: wrong cluster id,
  // out-of-bounds fields, or a sender claiming this node's id. Dropping never affects state.
  Status Receive(const std::string& from_addr, const gossippb::Envelope& env);

  // Starts joining through `seeds` ("host:port"; our own address is skipped): sends them a
  // push-pull, and again every join_retry_ms while no other live member is known.
  void Join(const std::vector<std::string>& seeds);

  // Leaves gracefully: our state becomes left (at a higher incarnation) and is gossiped; this
  // node stops probing. Idempotent.
  void Leave();
  // True after Leave() once the left announcement has been sent its full retransmit count
  // (or no one is left to tell).
  bool LeaveDisseminated() const;

  // Announce a change of our own record (raises our incarnation, members see kUpdated).
  // REQUIRES: meta.size() <= kMaxMetaBytes.
  void SetMeta(std::string meta);
  void SetDecommissioning(bool decommissioning);

  // Drains the messages to send / the membership events, oldest first. The caller drains
  // them after every Tick, Receive, Join, Leave or Set* call (they are not bounded otherwise).
  std::vector<OutMessage> TakeOutbox();
  std::vector<MemberEvent> TakeEvents();

  NodeId id() const { return self_id_; }
  const Member& self() const;
  const MemberList& members() const { return members_; }
  const SwimStats& stats() const { return stats_; }
  // Suspicion timeout for the current cluster size, in ms.
  int64_t SuspicionTimeoutMs() const;
  // Retransmit limit for the current cluster size.
  int RetransmitLimit() const;

 private:
  struct Probe {
    NodeId target;
    std::string addr;
    uint64_t seq = 0;
    int64_t start_ms = 0;
    bool indirect_sent = false;
    int64_t fail_ms = 0;  // set when ping-reqs go out: no ack by then = suspect
  };
  // A suspicion we hold about a member (Lifeguard's suspicion timer).
  struct Suspicion {
    uint64_t incarnation = 0;  // of the suspect record it times
    int64_t start_ms = 0;
    int64_t min_ms = 0;  // timeout once k confirmations arrived
    int64_t max_ms = 0;  // timeout without confirmations
    int k = 0;           // confirmations expected
    std::vector<NodeId> accusers;  // distinct; the first is the original accuser (if known)
    int64_t deadline_ms = 0;
  };
  // A ping-req we are serving: when the target acks our `seq`, forward Ack{requester_seq}.
  struct Relay {
    std::string requester_addr;
    uint64_t requester_seq = 0;
    int64_t expire_ms = 0;
  };

  // Receive helpers (swim.cc).
  Status ValidateEnvelope(const gossippb::Envelope& env) const;
  void HandlePing(const std::string& from, const gossippb::Ping& ping);
  void HandleAck(const gossippb::Ack& ack);
  void HandlePingReq(const std::string& from, const gossippb::PingReq& req);
  void HandlePushPull(const std::string& from, const gossippb::PushPull& pp);
  // Applies an update about any member; `from_push_pull` softens dead into suspect
  // (memberlist mergeState: a peer's stale obituary should not kill a node outright).
  void ApplyUpdate(const gossippb::MemberInfo& info, bool from_push_pull);
  // Raises (or confirms) a suspicion of `m` on behalf of `accuser` after a failed probe.
  void SuspectMember(const Member& m, NodeId accuser);
  // Keeps suspicions_ in step with the view after a change of member `id`.
  void SyncSuspicion(NodeId id, NodeId accuser);
  // Counts `accuser` as an independent confirmation; true when it was new (re-gossip then).
  bool ConfirmSuspicion(NodeId id, NodeId accuser);
  void Refute(uint64_t seen_incarnation);

  // Timers (swim_timers.cc).
  void TickProbe();
  void StartProbe();
  void SendPingReqs();
  void TickSuspicions();
  void TickGossip();
  void TickPushPull();
  void TickJoin();
  void TickRelaysAndReaping();
  std::optional<NodeId> NextProbeTarget();

  // Output helpers (swim.cc).
  gossippb::Envelope NewEnvelope();
  // Piggybacks pending updates and queues the message.
  void Send(const std::string& to, gossippb::Envelope env);
  void SendPushPull(const std::string& to, bool reply_wanted, bool join);
  // Queues `m` for dissemination; `accuser` is set on suspect records.
  void Announce(const Member& m, NodeId accuser = kNoNode);
  void AddBuddyUpdate(const Member& m, gossippb::Envelope* env);
  void Emit(MemberEvent ev);
  void OnMembershipChange(const MemberEvent& ev);
  // At most `n` random members other than self and `exclude`: alive ones when `alive_only`,
  // else alive, suspect and recently dead ones (gossip targets).
  std::vector<NodeId> RandomMembers(size_t n, NodeId exclude, bool alive_only);

  SwimOptions opt_;
  const NodeId self_id_;
  Random rng_;
  // Latest time given to Tick; the clock of every timer.
  int64_t now_ms_ = 0;
  // Our view, self included. Only this node changes its own record.
  MemberList members_;
  // Updates waiting to be piggybacked.
  BroadcastQueue broadcasts_;
  // Round-robin probe order (SWIM §4.3): a shuffled list of member ids, walked to its end and
  // then reshuffled; new members are inserted at a random position.
  std::vector<NodeId> probe_order_;
  size_t probe_index_ = 0;
  std::optional<Probe> probe_;  // the probe in flight, if any
  int64_t next_probe_ms_ = 0;
  uint64_t next_seq_ = 1;
  std::map<uint64_t, Relay> relays_;  // keyed by our seq
  // The suspicion timer of every member we hold as suspect, keyed by id.
  std::map<NodeId, Suspicion> suspicions_;
  int64_t next_gossip_ms_ = 0;
  int64_t next_push_pull_ms_ = 0;
  std::vector<std::string> seeds_;
  int64_t next_join_ms_ = -1;  // < 0: not joining
  bool leaving_ = false;
  bool started_ = false;
  std::vector<OutMessage> outbox_;
  std::vector<MemberEvent> events_;
  SwimStats stats_;
};

}  // namespace ringkv::gossip

#endif  // RINGKV_GOSSIP_SWIM_H_

// The replica's event metrics (Prometheus instruments in metrics::Registry::Default()): writes
// this node proposed as leader that failed, by reason (etcd's proposals_failed_total). The
// replica calls this narrow hook where a proposal's failure is decided; proposals pending are
// a scrape-time gauge from status (kvpb.GroupStatus.pending_proposals).
//
// Thread-safety: safe from any thread (one relaxed atomic per call).
#ifndef RINGKV_REPLICA_REPLICA_METRICS_H_
#define RINGKV_REPLICA_REPLICA_METRICS_H_

namespace ringkv::replica {

enum class ProposalFailure {
  kDropped,         // the Raft core refused it while leading (leadership transfer, too much
                    // uncommitted log)
  kSuperseded,      // another leader's entry took its index: definitely not applied
  kTimeout,         // its deadline passed before it was applied (outcome unknown)
  kUnknownOutcome,  // a snapshot jumped over it (outcome unknown)
};

void CountProposalFailed(ProposalFailure why);
// Creates the counters (at zero), so a scrape shows them before the first failure.
void RegisterReplicaMetrics();

}  // namespace ringkv::replica

#endif  // RINGKV_REPLICA_REPLICA_METRICS_H_

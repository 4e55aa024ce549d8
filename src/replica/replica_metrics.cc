#include "replica/replica_metrics.h"

#include "metrics/metrics.h"

namespace ringkv::replica {
namespace {

metrics::Counter* FailedCounter(const char* reason) {
  return metrics::Registry::Default().GetCounter(
      "ringkv_proposals_failed_total",
      "Writes this node proposed as leader that failed, by reason: dropped (refused by Raft), "
      "superseded (another leader's entry won the index), timeout, unknown_outcome.",
      {{"reason", reason}});
}

struct Counters {
  metrics::Counter* dropped = FailedCounter("dropped");
  metrics::Counter* superseded = FailedCounter("superseded");
  metrics::Counter* timeout = FailedCounter("timeout");
  metrics::Counter* unknown_outcome = FailedCounter("unknown_outcome");
};

Counters& TheCounters() {
  static Counters* c = new Counters();
  return *c;
}

}  // namespace

void RegisterReplicaMetrics() { TheCounters(); }

void CountProposalFailed(ProposalFailure why) {
  Counters& c = TheCounters();
  switch (why) {
    case ProposalFailure::kDropped: c.dropped->Inc(); break;
    case ProposalFailure::kSuperseded: c.superseded->Inc(); break;
    case ProposalFailure::kTimeout: c.timeout->Inc(); break;
    case ProposalFailure::kUnknownOutcome: c.unknown_outcome->Inc(); break;
  }
}

}  // namespace ringkv::replica

// Peer metrics: per peer node, the transport's traffic counters (bytes sent and received, send
// failures, connection failures, whether connected) collected at scrape time, and the round
// trip of the transport's probes as a histogram (etcd's peer_round_trip_time_seconds). The
// label is `peer`, the peer's node id; a cluster has a handful of nodes, so per-peer series are
// always exported.
//
// Thread-safety: both functions are safe from any thread.
#ifndef RINGKV_SERVER_PEER_METRICS_H_
#define RINGKV_SERVER_PEER_METRICS_H_

#include <chrono>
#include <utility>
#include <vector>

#include "common/ids.h"
#include "metrics/metrics.h"
#include "net/transport.h"

namespace ringkv::server {

// Records one probe's round trip to `peer` (the transport's on_round_trip hook).
void ObservePeerRoundTrip(NodeId peer, std::chrono::microseconds rtt);

// Emits the counters of every peer the transport knows.
void CollectPeerMetrics(const std::vector<std::pair<NodeId, net::PeerStats>>& peers,
                        metrics::Sink& out);

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_PEER_METRICS_H_

#include "server/peer_metrics.h"

#include <string>

namespace ringkv::server {

void ObservePeerRoundTrip(NodeId peer, std::chrono::microseconds rtt) {
  // One lookup per probe (one a second per peer): no cache needed.
  metrics::Registry::Default()
      .GetHistogram("ringkv_peer_round_trip_time_seconds",
                    "Round trip of the transport's probes to a peer: both nodes' connection "
                    "queues and the network, there and back.",
                    metrics::RoundTripBuckets(), {{"peer", std::to_string(peer.value())}})
      ->Observe(static_cast<double>(rtt.count()) / 1e6);
}

void CollectPeerMetrics(const std::vector<std::pair<NodeId, net::PeerStats>>& peers,
                        metrics::Sink& out) {
  for (const auto& [id, s] : peers) {
    const metrics::Labels l = {{"peer", std::to_string(id.value())}};
    out.CounterValue("ringkv_peer_sent_bytes_total",
                     "Bytes of Raft traffic and snapshots handed to the connection to a peer.", l,
                     static_cast<double>(s.sent_bytes));
    out.CounterValue("ringkv_peer_received_bytes_total",
                     "Bytes of Raft traffic and snapshots received from a peer.", l,
                     static_cast<double>(s.received_bytes));
    out.CounterValue("ringkv_peer_sent_messages_total",
                     "Raft messages handed to the connection to a peer.", l,
                     static_cast<double>(s.sent_messages));
    out.CounterValue("ringkv_peer_sent_failures_total",
                     "Messages to a peer dropped instead of sent: its queue was full, it was "
                     "unreachable or unknown (Raft retransmits).",
                     l, static_cast<double>(s.dropped_messages));
    out.CounterValue("ringkv_peer_connect_failures_total",
                     "Failed dials or handshakes to a peer, and lost connections.", l,
                     static_cast<double>(s.connect_failures));
    out.Gauge("ringkv_peer_connected", "1 while the outbound connection to a peer is up.", l,
              s.connected ? 1 : 0);
    out.Gauge("ringkv_peer_queued_bytes",
              "Bytes queued for a peer and not yet written to its socket.", l,
              static_cast<double>(s.queued_bytes));
  }
}

}  // namespace ringkv::server

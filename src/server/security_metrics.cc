#include "server/security_metrics.h"

namespace ringkv::server {

void CollectSecurityMetrics(const SecurityCounters& c, metrics::Sink& out) {
  for (const auto& [source, seconds] : c.expiry_seconds) {
    out.Gauge("ringkv_tls_certificate_expiry_seconds",
              "Seconds until the TLS certificate expires (negative: expired).",
              {{"source", source}}, static_cast<double>(seconds));
  }
  out.CounterValue("ringkv_tls_reload_failures_total",
                   "Certificate and key ring files that did not load (the old ones stay).", {},
                   static_cast<double>(c.reload_failures));
  out.CounterValue("ringkv_tls_handshake_refused_total",
                   "Connections refused in the TLS handshake, by port.", {{"port", "client"}},
                   static_cast<double>(c.client_tls_refused));
  out.CounterValue("ringkv_tls_handshake_refused_total",
                   "Connections refused in the TLS handshake, by port.", {{"port", "peer"}},
                   static_cast<double>(c.peer_tls_refused));
  out.CounterValue("ringkv_gossip_auth_failures_total",
                   "Gossip datagrams that no key of the key ring authenticates.", {},
                   static_cast<double>(c.gossip_auth_failures));
  out.CounterValue("ringkv_gossip_replays_dropped_total",
                   "Sealed gossip datagrams dropped as replays (or too old to tell).", {},
                   static_cast<double>(c.gossip_replays_dropped));
}

}  // namespace ringkv::server

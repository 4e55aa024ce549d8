// The security metrics of a node, emitted at scrape time (metrics/metrics.h collectors):
//   ringkv_tls_certificate_expiry_seconds{source}  seconds until each certificate expires
//                                                  (negative once expired): alert below 7 days
//   ringkv_tls_reload_failures_total               certificate / key ring files that did not load
//   ringkv_tls_handshake_refused_total{port}       connections refused in the TLS handshake
//                                                  (untrusted, expired or client certificate on
//                                                  the peer port, plain TCP on a TLS port, ...)
//   ringkv_gossip_auth_failures_total              gossip datagrams no key of the ring opens
//   ringkv_gossip_replays_dropped_total            sealed gossip datagrams seen before
// Refused requests are counted by the request metrics: ringkv_requests_total{code=
// "permission_denied"}.
//
// Thread-safety: a pure function over values.
#ifndef RINGKV_SERVER_SECURITY_METRICS_H_
#define RINGKV_SERVER_SECURITY_METRICS_H_

#include <cstdint>
#include <map>
#include <string>

#include "metrics/metrics.h"

namespace ringkv::server {

struct SecurityCounters {
  std::map<std::string, int64_t> expiry_seconds;  // by source ("client port", "peer port", ...)
  uint64_t reload_failures = 0;
  uint64_t client_tls_refused = 0;
  uint64_t peer_tls_refused = 0;
  uint64_t gossip_auth_failures = 0;
  uint64_t gossip_replays_dropped = 0;
};

void CollectSecurityMetrics(const SecurityCounters& c, metrics::Sink& out);

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_SECURITY_METRICS_H_

// The node's scrape-time metrics: gauges derived from its status (shards hosted, led and
// leaderless, commit/applied totals, replica lag, disk use, alarms) and its gossip view, per
// node by default and per shard with --metrics=extensive. Event counters and histograms
// (requests, syncs, applies, peers) are instruments updated where the events happen.
//
// Thread-safety: pure function over values.
#ifndef RINGKV_SERVER_NODE_METRICS_H_
#define RINGKV_SERVER_NODE_METRICS_H_

#include <string>
#include <vector>

#include "gossip/member.h"
#include "metrics/metrics.h"
#include "proto/kv.pb.h"

namespace ringkv::server {

// The API version kvctl and the HTTP API speak (kvpb), reported by /version and build_info.
inline constexpr char kApiVersion[] = "1";

void CollectNodeMetrics(const kvpb::NodeStatus& status, const std::vector<gossip::Member>& members,
                        bool extensive, metrics::Sink& out);

// ringkv_build_info and the alarm gauges, which need no status.
void CollectStaticMetrics(const std::string& version, const std::vector<std::string>& alarms,
                          metrics::Sink& out);

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_NODE_METRICS_H_

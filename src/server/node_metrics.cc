#include "server/node_metrics.h"

#include <algorithm>
#include <map>

namespace ringkv::server {

void CollectNodeMetrics(const kvpb::NodeStatus& st, const std::vector<gossip::Member>& members,
                        bool extensive, metrics::Sink& out) {
  double led = 0, leaderless = 0, committed = 0, applied = 0, max_lag = 0, log_bytes = 0;
  double pending = 0, entry_bytes = 0, quiesced = 0;
  std::map<std::string, double> roles = {{"leader", 0}, {"follower", 0}, {"candidate", 0},
                                         {"pre-candidate", 0}, {"learner", 0}};
  for (const auto& g : st.groups()) {
    const bool leads = g.role() == "leader";
    led += leads ? 1 : 0;
    const bool learner = std::find(g.learners().begin(), g.learners().end(), st.node_id()) !=
                         g.learners().end();
    roles[learner ? "learner" : g.role()] += 1;
    if (g.leader() == 0) leaderless += 1;
    quiesced += g.quiesced() ? 1 : 0;
    committed += static_cast<double>(g.commit());
    applied += static_cast<double>(g.applied());
    log_bytes += static_cast<double>(g.log_bytes());
    pending += static_cast<double>(g.pending_proposals());
    entry_bytes += static_cast<double>(g.log_entry_bytes());
    uint64_t lag = 0;
    if (leads) {
      for (uint64_t m : g.match()) lag = std::max(lag, g.last_index() - std::min(g.last_index(), m));
    }
    max_lag = std::max(max_lag, static_cast<double>(lag));
    if (!extensive) continue;
    metrics::Labels l = {{"shard", std::to_string(g.group_id())}};
    out.Gauge("ringkv_shard_term", "Raft term of this node's replica of the shard.", l,
              static_cast<double>(g.term()));
    out.Gauge("ringkv_shard_commit_index", "Commit index of this node's replica of the shard.", l,
              static_cast<double>(g.commit()));
    out.Gauge("ringkv_shard_applied_index", "Applied index of this node's replica of the shard.",
              l, static_cast<double>(g.applied()));
    out.Gauge("ringkv_shard_is_leader", "1 when this node leads the shard.", l, leads ? 1 : 0);
    out.Gauge("ringkv_shard_has_leader", "1 when this node knows the shard's leader.", l,
              g.leader() != 0 ? 1 : 0);
    out.Gauge("ringkv_shard_lag_entries",
              "On the leader: entries the slowest replica trails the leader's last index by.", l,
              static_cast<double>(lag));
    out.Gauge("ringkv_shard_log_bytes", "Approximate bytes of the shard's Raft log on this node.",
              l, static_cast<double>(g.log_bytes()));
    out.Gauge("ringkv_shard_data_bytes", "Approximate bytes of the shard's data on this node.", l,
              static_cast<double>(g.data_bytes()));
    out.Gauge("ringkv_shard_log_entry_bytes",
              "Serialized bytes of the entries in the shard's Raft log on this node.", l,
              static_cast<double>(g.log_entry_bytes()));
    out.Gauge("ringkv_shard_proposals_pending",
              "Writes proposed through this node's replica of the shard, not yet applied.", l,
              static_cast<double>(g.pending_proposals()));
  }
  for (const auto& [role, n] : roles) {
    out.Gauge("ringkv_shards_by_role", "Shard replicas this node hosts, by Raft role.",
              {{"role", role}}, n);
  }
  out.Gauge("ringkv_shards", "Shard replicas this node hosts.", {}, st.groups_size());
  out.Gauge("ringkv_shards_leaderless",
            "Shard replicas on this node that know no leader (an election, or quorum lost).", {},
            leaderless);
  out.Gauge("ringkv_has_leader", "1 when every shard replica on this node knows its leader.", {},
            leaderless == 0 ? 1 : 0);
  out.Gauge("ringkv_shards_led", "Shards this node leads.", {}, led);
  out.Gauge("ringkv_shards_quiesced",
            "Shard replicas on this node that sleep (quiescence: idle, neither ticking nor "
            "heartbeating).",
            {}, quiesced);
  out.Gauge("ringkv_proposals_pending",
            "Writes proposed through this node's replicas (as leaders), not yet applied or failed.",
            {}, pending);
  out.CounterValue("ringkv_proposals_committed_total",
                   "Sum over this node's replicas of the Raft commit index.", {}, committed);
  out.CounterValue("ringkv_proposals_applied_total",
                   "Sum over this node's replicas of the applied index.", {}, applied);
  out.Gauge("ringkv_replica_lag_entries_max",
            "Largest number of entries any replica trails a leader on this node by.", {}, max_lag);
  out.Gauge("ringkv_raft_log_bytes", "Approximate bytes of every Raft log on this node.", {},
            log_bytes);
  out.Gauge("ringkv_raft_log_entry_bytes",
            "Serialized bytes of the entries in every Raft log on this node (exact; what "
            "--raft_log_node_max_bytes limits).",
            {}, entry_bytes);
  out.Gauge("ringkv_raft_log_node_max_bytes", "--raft_log_node_max_bytes (0 = no node budget).",
            {}, static_cast<double>(st.raft_log_node_max_bytes()));
  out.Gauge("ringkv_storage_used_bytes", "Bytes under the data directory.", {},
            static_cast<double>(st.storage_used_bytes()));
  out.Gauge("ringkv_storage_quota_bytes", "--storage_quota_bytes (0 = no quota).", {},
            static_cast<double>(st.storage_quota_bytes()));
  out.Gauge("ringkv_storage_free_bytes", "Free bytes on the data directory's filesystem.", {},
            static_cast<double>(st.storage_free_bytes()));
  out.Gauge("ringkv_node_decommissioning", "1 while this node drains before leaving.", {},
            st.decommissioning() ? 1 : 0);
  if (st.has_admission()) {
    const kvpb::AdmissionStatus& a = st.admission();
    out.Gauge("ringkv_admission_in_flight_requests",
              "Client requests admitted and not yet answered (admission control).", {},
              static_cast<double>(a.in_flight_requests()));
    out.Gauge("ringkv_admission_in_flight_bytes",
              "Bytes of the client requests admitted and not yet answered.", {},
              static_cast<double>(a.in_flight_bytes()));
    out.Gauge("ringkv_admission_limit", "The adaptive limit on admitted requests now.", {},
              static_cast<double>(a.limit()));
    out.CounterValue("ringkv_admission_admitted_total", "Client requests admitted.", {},
                     static_cast<double>(a.admitted_total()));
    out.CounterValue("ringkv_admission_shed_total",
                     "Client requests shed: answered BUSY \"too many requests\" without the work.",
                     {}, static_cast<double>(a.shed_total()));
    out.Gauge("ringkv_admission_retry_after_seconds",
              "The retry_after a request shed now would be given.", {},
              static_cast<double>(a.retry_after_ms()) / 1000);
  }

  std::map<std::string, double> states = {{"alive", 0}, {"suspect", 0}, {"dead", 0}, {"left", 0}};
  for (const auto& m : members) states[std::string(gossip::MemberStateName(m.state))] += 1;
  for (const auto& [state, n] : states) {
    out.Gauge("ringkv_gossip_members", "Cluster members in this node's gossip view, by state.",
              {{"state", state}}, n);
  }
}

void CollectStaticMetrics(const std::string& version, const std::vector<std::string>& alarms,
                          metrics::Sink& out) {
  out.Gauge("ringkv_build_info", "Always 1; the labels say which build runs.",
            {{"version", version}, {"api_version", kApiVersion}}, 1);
  bool nospace = std::find(alarms.begin(), alarms.end(), "NOSPACE") != alarms.end();
  out.Gauge("ringkv_alarm_active", "1 while the alarm is raised on this node.",
            {{"alarm", "NOSPACE"}}, nospace ? 1 : 0);
}

}  // namespace ringkv::server

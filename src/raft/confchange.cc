#include "raft/confchange.h"

#include <algorithm>
#include <string>

#include "common/status_macros.h"

namespace ringkv::raft {
namespace {

Status Err(const std::string& msg) { return Status::FailedPrecondition("confchange: " + msg); }

raftpb::ConfChangeSingle Single(raftpb::ConfChangeType type, uint64_t id) {
  raftpb::ConfChangeSingle cc;
  cc.set_type(type);
  cc.set_node_id(id);
  return cc;
}

}  // namespace

bool EnterJointRequested(const raftpb::ConfChange& cc, bool* auto_leave) {
  if (cc.transition() != raftpb::TRANSITION_AUTO || cc.changes_size() > 1) {
    *auto_leave = cc.transition() == raftpb::TRANSITION_AUTO ||
                  cc.transition() == raftpb::TRANSITION_JOINT_IMPLICIT;
    return true;
  }
  *auto_leave = false;
  return false;
}

bool IsLeaveJoint(const raftpb::ConfChange& cc) {
  return cc.transition() == raftpb::TRANSITION_AUTO && cc.changes_size() == 0;
}

Result<ConfAndProgress> Changer::EnterJoint(
    bool auto_leave, const std::vector<raftpb::ConfChangeSingle>& ccs) const {
  TrackerConfig cfg = tracker_.config;
  ProgressMap prs = tracker_.progress;
  if (cfg.voters.joint()) return Err("config is already joint");
  if (cfg.voters.incoming.empty()) return Err("can't make a zero-voter config joint");
  cfg.voters.outgoing = cfg.voters.incoming;
  RETURN_IF_ERROR(Apply(&cfg, &prs, ccs));
  cfg.auto_leave = auto_leave;
  RETURN_IF_ERROR(CheckInvariants(cfg, prs));
  return ConfAndProgress{std::move(cfg), std::move(prs)};
}

Result<ConfAndProgress> Changer::LeaveJoint() const {
  TrackerConfig cfg = tracker_.config;
  ProgressMap prs = tracker_.progress;
  if (!cfg.voters.joint()) return Err("can't leave a non-joint config");
  for (NodeId id : cfg.learners_next) {
    cfg.learners.insert(id);
    prs.at(id).is_learner = true;
  }
  cfg.learners_next.clear();
  for (NodeId id : cfg.voters.outgoing.ids()) {
    bool is_voter = cfg.voters.incoming.contains(id);
    bool is_learner = cfg.learners.count(id) > 0;
    if (!is_voter && !is_learner) prs.erase(id);
  }
  cfg.voters.outgoing = MajorityConfig();
  cfg.auto_leave = false;
  RETURN_IF_ERROR(CheckInvariants(cfg, prs));
  return ConfAndProgress{std::move(cfg), std::move(prs)};
}

Result<ConfAndProgress> Changer::Simple(const std::vector<raftpb::ConfChangeSingle>& ccs) const {
  TrackerConfig cfg = tracker_.config;
  ProgressMap prs = tracker_.progress;
  if (cfg.voters.joint()) return Err("can't apply simple config change in joint config");
  RETURN_IF_ERROR(Apply(&cfg, &prs, ccs));
  // Raft §6 (single-server changes): at most one voter may change without joint consensus.
  const auto& before = tracker_.config.voters.incoming.ids();
  const auto& after = cfg.voters.incoming.ids();
  std::vector<NodeId> diff;
  std::set_symmetric_difference(before.begin(), before.end(), after.begin(), after.end(),
                                std::back_inserter(diff));
  if (diff.size() > 1) return Err("more than one voter changed without entering joint config");
  RETURN_IF_ERROR(CheckInvariants(cfg, prs));
  return ConfAndProgress{std::move(cfg), std::move(prs)};
}

Status Changer::Apply(TrackerConfig* cfg, ProgressMap* prs,
                      const std::vector<raftpb::ConfChangeSingle>& ccs) const {
  for (const raftpb::ConfChangeSingle& cc : ccs) {
    NodeId id(cc.node_id());
    if (id == kNoNode) continue;  // etcd: a zero id is ignored (used as a no-op change)
    switch (cc.type()) {
      case raftpb::CONF_ADD_NODE: MakeVoter(cfg, prs, id); break;
      case raftpb::CONF_ADD_LEARNER_NODE: MakeLearner(cfg, prs, id); break;
      case raftpb::CONF_REMOVE_NODE: Remove(cfg, prs, id); break;
      default: return Err("unknown change type " + std::to_string(cc.type()));
    }
  }
  if (cfg->voters.incoming.empty()) return Err("removed all voters");
  return Status::OK();
}

void Changer::MakeVoter(TrackerConfig* cfg, ProgressMap* prs, NodeId id) const {
  auto it = prs->find(id);
  if (it == prs->end()) {
    InitProgress(cfg, prs, id, /*is_learner=*/false);
    return;
  }
  it->second.is_learner = false;
  cfg->learners.erase(id);
  cfg->learners_next.erase(id);
  cfg->voters.incoming.mutable_ids().insert(id);
}

void Changer::MakeLearner(TrackerConfig* cfg, ProgressMap* prs, NodeId id) const {
  auto it = prs->find(id);
  if (it == prs->end()) {
    InitProgress(cfg, prs, id, /*is_learner=*/true);
    return;
  }
  if (it->second.is_learner) return;
  // Remove any voter role but keep the Progress: the node stays a member.
  Progress pr = it->second;
  Remove(cfg, prs, id);
  prs->insert_or_assign(id, pr);
  // A voter of the outgoing half cannot become a learner until the joint config is left.
  if (cfg->voters.outgoing.contains(id)) {
    cfg->learners_next.insert(id);
  } else {
    prs->at(id).is_learner = true;
    cfg->learners.insert(id);
  }
}

void Changer::Remove(TrackerConfig* cfg, ProgressMap* prs, NodeId id) const {
  if (prs->find(id) == prs->end()) return;
  cfg->voters.incoming.mutable_ids().erase(id);
  cfg->learners.erase(id);
  cfg->learners_next.erase(id);
  // A voter of the outgoing half keeps its Progress until the joint config is left.
  if (!cfg->voters.outgoing.contains(id)) prs->erase(id);
}

void Changer::InitProgress(TrackerConfig* cfg, ProgressMap* prs, NodeId id, bool is_learner) const {
  if (is_learner) {
    cfg->learners.insert(id);
  } else {
    cfg->voters.incoming.mutable_ids().insert(id);
  }
  // Starts probing at the leader's last index; treated as active so that adding a node does
  // not make CheckQuorum fail immediately.
  Progress pr = tracker_.MakeProgress(std::max(last_index_, Index(1)), is_learner);
  pr.recent_active = true;
  prs->insert_or_assign(id, std::move(pr));
}

Status Changer::CheckInvariants(const TrackerConfig& cfg, const ProgressMap& prs) {
  for (NodeId id : cfg.voters.Ids()) {
    if (prs.find(id) == prs.end()) return Err("no progress for voter " + std::to_string(id.value()));
  }
  for (NodeId id : cfg.learners) {
    auto it = prs.find(id);
    if (it == prs.end()) return Err("no progress for learner " + std::to_string(id.value()));
    if (cfg.voters.outgoing.contains(id) || cfg.voters.incoming.contains(id)) {
      return Err(std::to_string(id.value()) + " is both learner and voter");
    }
    if (!it->second.is_learner) return Err(std::to_string(id.value()) + " is learner but not marked");
  }
  for (NodeId id : cfg.learners_next) {
    auto it = prs.find(id);
    if (it == prs.end()) return Err("no progress for learner_next " + std::to_string(id.value()));
    if (!cfg.voters.outgoing.contains(id)) return Err("learner_next not an outgoing voter");
    if (it->second.is_learner) return Err("learner_next is already marked learner");
  }
  for (NodeId id : cfg.voters.Ids()) {
    if (prs.at(id).is_learner) return Err(std::to_string(id.value()) + " is voter but marked learner");
  }
  if (!cfg.voters.joint() && (!cfg.learners_next.empty() || cfg.auto_leave)) {
    return Err("learners_next or auto_leave set outside a joint config");
  }
  return Status::OK();
}

Result<ConfAndProgress> RestoreConfig(const ProgressTracker& empty_tracker, Index last_index,
                                      const raftpb::ConfState& cs) {
  std::vector<raftpb::ConfChangeSingle> outgoing, incoming;
  for (uint64_t id : cs.voters_outgoing()) {
    outgoing.push_back(Single(raftpb::CONF_ADD_NODE, id));
    incoming.push_back(Single(raftpb::CONF_REMOVE_NODE, id));
  }
  for (uint64_t id : cs.voters()) incoming.push_back(Single(raftpb::CONF_ADD_NODE, id));
  for (uint64_t id : cs.learners()) incoming.push_back(Single(raftpb::CONF_ADD_LEARNER_NODE, id));
  for (uint64_t id : cs.learners_next()) {
    incoming.push_back(Single(raftpb::CONF_ADD_LEARNER_NODE, id));
  }

  ProgressTracker tracker(empty_tracker.max_inflight(), empty_tracker.max_inflight_bytes());
  auto step = [&](const Result<ConfAndProgress>& r) -> Status {
    if (!r.ok()) return r.status();
    tracker.config = r->first;
    tracker.progress = r->second;
    return Status::OK();
  };
  if (outgoing.empty()) {
    // A plain config: add the members one at a time.
    for (const auto& cc : incoming) {
      RETURN_IF_ERROR(step(Changer(tracker, last_index).Simple({cc})));
    }
  } else {
    // Build the outgoing config first, then enter the joint config with the incoming changes.
    for (const auto& cc : outgoing) {
      RETURN_IF_ERROR(step(Changer(tracker, last_index).Simple({cc})));
    }
    RETURN_IF_ERROR(step(Changer(tracker, last_index).EnterJoint(cs.auto_leave(), incoming)));
  }
  return ConfAndProgress{tracker.config, tracker.progress};
}

}  // namespace ringkv::raft

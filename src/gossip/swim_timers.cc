// Swim: everything driven by Tick(): the probe cycle (SWIM §3.1, §4.3), gossip fan-out, push-pull anti-entropy, join retries, relay expiry and reaping.
#include <algorithm>
#include <utility>

#include "gossip/swim.h"

namespace ringkv::gossip {

void Swim::Tick(int64_t now_ms) {
  now_ms_ = std::max(now_ms_, now_ms);
  if (!started_) {
    started_ = true;
    // Stagger the first probe and push-pull so nodes started together do not move in step.
    next_probe_ms_ = now_ms_ + static_cast<int64_t>(
                                   rng_.Uniform(static_cast<uint64_t>(opt_.probe_interval_ms)));
    next_gossip_ms_ = now_ms_;
    if (opt_.push_pull_interval_ms > 0) {
      next_push_pull_ms_ =
          now_ms_ + opt_.push_pull_interval_ms / 2 +
          static_cast<int64_t>(rng_.Uniform(static_cast<uint64_t>(opt_.push_pull_interval_ms)));
    }
  }
  TickJoin();
  TickProbe();
  TickSuspicions();
  TickGossip();
  TickPushPull();
  TickRelaysAndReaping();
}

std::optional<NodeId> Swim::NextProbeTarget() {
  for (size_t tries = 0; tries <= probe_order_.size() + 1; ++tries) {
    if (probe_index_ >= probe_order_.size()) {
      // End of the round: rebuild from the live members and shuffle (Fisher-Yates).
      probe_order_.clear();
      for (const auto& [id, m] : members_.members()) {
        if (id != self_id_ && m.IsLive()) probe_order_.push_back(id);
      }
      for (size_t i = probe_order_.size(); i > 1; --i) {
        std::swap(probe_order_[i - 1], probe_order_[rng_.Uniform(i)]);
      }
      probe_index_ = 0;
      if (probe_order_.empty()) return std::nullopt;
    }
    const NodeId id = probe_order_[probe_index_++];
    const Member* m = members_.Find(id);
    if (m != nullptr && id != self_id_ && m->IsLive()) return id;
  }
  return std::nullopt;
}

void Swim::StartProbe() {
  next_probe_ms_ = now_ms_ + opt_.probe_interval_ms;
  std::optional<NodeId> target = NextProbeTarget();
  if (!target) return;
  const Member* m = members_.Find(*target);
  probe_ = Probe{*target, m->gossip_addr, next_seq_++, now_ms_, false, 0};
  ++stats_.probes;
  gossippb::Envelope env = NewEnvelope();
  env.mutable_ping()->set_seq_no(probe_->seq);
  env.mutable_ping()->set_target_id(target->value());
  AddBuddyUpdate(*m, &env);
  Send(probe_->addr, std::move(env));
}

void Swim::SendPingReqs() {
  probe_->indirect_sent = true;
  // The rest of the interval is left for the indirect path.
  probe_->fail_ms = now_ms_ + (opt_.probe_interval_ms - opt_.probe_timeout_ms);
  ++stats_.indirect_probes;
  for (NodeId helper : RandomMembers(static_cast<size_t>(std::max(opt_.indirect_checks, 0)),
                                     probe_->target, /*alive_only=*/true)) {
    gossippb::Envelope env = NewEnvelope();
    auto* req = env.mutable_ping_req();
    req->set_seq_no(probe_->seq);
    req->set_target_id(probe_->target.value());
    req->set_target_addr(probe_->addr);
    Send(members_.Find(helper)->gossip_addr, std::move(env));
  }
}

void Swim::TickProbe() {
  if (leaving_) return;
  if (probe_) {
    const Member* m = members_.Find(probe_->target);
    if (m == nullptr || !m->IsLive()) {
      probe_.reset();  // learned its fate from others meanwhile
    } else if (!probe_->indirect_sent) {
      if (now_ms_ >= probe_->start_ms + opt_.probe_timeout_ms) SendPingReqs();
    } else if (now_ms_ >= probe_->fail_ms) {
      // Neither a direct nor an indirect ack: suspect it (SWIM §4.2).
      ++stats_.probe_failures;
      SuspectMember(*m, self_id_);
      probe_.reset();
    }
  }
  if (!probe_ && now_ms_ >= next_probe_ms_) StartProbe();
}

void Swim::TickGossip() {
  if (opt_.gossip_interval_ms <= 0 || opt_.gossip_nodes <= 0) return;
  if (now_ms_ < next_gossip_ms_) return;
  next_gossip_ms_ = now_ms_ + opt_.gossip_interval_ms;
  if (broadcasts_.empty()) return;
  for (NodeId id : RandomMembers(static_cast<size_t>(opt_.gossip_nodes), kNoNode,
                                 /*alive_only=*/false)) {
    const Member* m = members_.Find(id);
    gossippb::Envelope env = NewEnvelope();
    AddBuddyUpdate(*m, &env);
    Send(m->gossip_addr, std::move(env));
  }
}

void Swim::TickPushPull() {
  if (opt_.push_pull_interval_ms <= 0 || leaving_ || now_ms_ < next_push_pull_ms_) return;
  next_push_pull_ms_ = now_ms_ + opt_.push_pull_interval_ms;
  for (NodeId id : RandomMembers(1, kNoNode, /*alive_only=*/true)) {
    SendPushPull(members_.Find(id)->gossip_addr, /*reply_wanted=*/true, /*join=*/false);
  }
}

void Swim::TickJoin() {
  if (next_join_ms_ < 0) return;
  if (members_.NumLive() > 1) {
    next_join_ms_ = -1;  // joined: someone answered
    return;
  }
  if (now_ms_ < next_join_ms_ || leaving_) return;
  for (const auto& s : seeds_) SendPushPull(s, /*reply_wanted=*/true, /*join=*/true);
  next_join_ms_ = now_ms_ + opt_.join_retry_ms;
}

void Swim::TickRelaysAndReaping() {
  for (auto it = relays_.begin(); it != relays_.end();) {
    it = it->second.expire_ms <= now_ms_ ? relays_.erase(it) : std::next(it);
  }
  for (Member& m : members_.Reap(now_ms_, opt_.dead_retention_ms)) {
    suspicions_.erase(m.id);
    const MemberState state = m.state;
    Emit(MemberEvent{MemberEvent::Type::kReaped, std::move(m), state});
  }
}

void Swim::AddBuddyUpdate(const Member& m, gossippb::Envelope* env) {
  // Lifeguard's "buddy system" (memberlist probeNode): a member we suspect (or hold dead) hears
  // it from us directly, so it can refute in time even if the rumour's retransmits missed it.
  if (m.state != MemberState::kAlive) *env->add_updates() = InfoFromMember(m);
}

std::vector<NodeId> Swim::RandomMembers(size_t n, NodeId exclude, bool alive_only) {
  std::vector<NodeId> candidates;
  for (const auto& [id, m] : members_.members()) {
    if (id == self_id_ || id == exclude) continue;
    if (alive_only ? m.state == MemberState::kAlive
                  : (m.IsLive() || (m.state == MemberState::kDead &&
                                    now_ms_ - m.state_change_ms < opt_.gossip_to_dead_ms))) {
      candidates.push_back(id);
    }
  }
  // Partial Fisher-Yates: the first n are a uniform sample.
  const size_t k = std::min(n, candidates.size());
  for (size_t i = 0; i < k; ++i) {
    std::swap(candidates[i], candidates[i + rng_.Uniform(candidates.size() - i)]);
  }
  candidates.resize(k);
  return candidates;
}

}  // namespace ringkv::gossip

// Swim: construction, message handling and output. Timers are in swim_timers.cc.
#include "gossip/swim.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace ringkv::gossip {

namespace {

// Fail-stop on a broken precondition of the caller. The pure core has no glog.
void RequireOrDie(bool cond, const char* what) {
  if (!cond) {
    std::fprintf(stderr, "gossip::Swim: precondition violated: %s\n", what);
    std::abort();
  }
}

}  // namespace

Swim::Swim(SwimOptions options)
    : opt_(std::move(options)),
      self_id_(opt_.self.id),
      rng_(opt_.seed),
      members_(std::max<size_t>(opt_.max_members, 1)) {
  RequireOrDie(self_id_ != kNoNode, "self id must not be 0");
  RequireOrDie(!opt_.self.gossip_addr.empty(), "self gossip address must be set");
  RequireOrDie(opt_.probe_interval_ms > 0, "probe_interval_ms > 0");
  RequireOrDie(opt_.probe_timeout_ms > 0 && opt_.probe_timeout_ms < opt_.probe_interval_ms,
               "0 < probe_timeout_ms < probe_interval_ms");
  RequireOrDie(opt_.cluster_id.size() <= kMaxClusterIdBytes, "cluster id too long");
  RequireOrDie(opt_.self.meta.size() <= kMaxMetaBytes, "meta too long");
  Member me = opt_.self;
  me.state = MemberState::kAlive;
  me.incarnation = 0;
  members_.Put(me);
}

const Member& Swim::self() const { return *members_.Find(self_id_); }

int64_t Swim::SuspicionTimeoutMs() const {
  const double n = static_cast<double>(std::max<size_t>(members_.NumLive(), 1));
  const double factor = std::max(1.0, std::log10(n));
  return static_cast<int64_t>(opt_.suspicion_mult * factor *
                              static_cast<double>(opt_.probe_interval_ms));
}

int Swim::RetransmitLimit() const {
  const double n = static_cast<double>(members_.NumLive());
  return opt_.retransmit_mult * static_cast<int>(std::ceil(std::log10(n + 1)));
}

// ---- Input -------------------------------------------------------------------------------

Status Swim::ValidateEnvelope(const gossippb::Envelope& env) const {
  if (env.sender_id() == 0) return Status::InvalidArgument("sender id 0");
  if (env.sender_addr().size() > kMaxAddrBytes) {
    return Status::InvalidArgument("sender address too long");
  }
  if (static_cast<size_t>(env.updates_size()) > opt_.max_updates_per_message) {
    return Status::InvalidArgument("too many piggybacked updates");
  }
  for (const auto& u : env.updates()) {
    Status s = ValidateMemberInfo(u);
    if (!s.ok()) return s;
  }
  if (env.has_ping_req()) {
    const auto& req = env.ping_req();
    if (req.target_addr().empty() || req.target_addr().size() > kMaxAddrBytes) {
      return Status::InvalidArgument("ping-req target address");
    }
  }
  if (env.has_push_pull()) {
    if (static_cast<size_t>(env.push_pull().members_size()) > opt_.max_members) {
      return Status::InvalidArgument("push-pull state too large");
    }
    for (const auto& m : env.push_pull().members()) {
      Status s = ValidateMemberInfo(m);
      if (!s.ok()) return s;
    }
  }
  return Status::OK();
}

Status Swim::Receive(const std::string& from_addr, const gossippb::Envelope& env) {
  if (env.cluster_id() != opt_.cluster_id) {
    ++stats_.dropped_cluster_mismatch;
    return Status::InvalidArgument("gossip message from another cluster");
  }
  if (Status s = ValidateEnvelope(env); !s.ok()) {
    ++stats_.dropped_invalid;
    return s;
  }
  if (NodeId(env.sender_id()) == self_id_ && env.sender_addr() != self().gossip_addr) {
    ++stats_.dropped_id_conflict;
    return Status::InvalidArgument("another node claims this node's id");
  }
  ++stats_.received;
  // Updates first, so that a refutation riding on an ack is seen before the ack.
  for (const auto& u : env.updates()) ApplyUpdate(u, /*from_push_pull=*/false);
  switch (env.body_case()) {
    case gossippb::Envelope::kPing: HandlePing(from_addr, env.ping()); break;
    case gossippb::Envelope::kAck: HandleAck(env.ack()); break;
    case gossippb::Envelope::kPingReq: HandlePingReq(from_addr, env.ping_req()); break;
    case gossippb::Envelope::kPushPull: HandlePushPull(from_addr, env.push_pull()); break;
    case gossippb::Envelope::BODY_NOT_SET: break;  // pure gossip
  }
  return Status::OK();
}

void Swim::HandlePing(const std::string& from, const gossippb::Ping& ping) {
  if (ping.target_id() != 0 && NodeId(ping.target_id()) != self_id_) {
    // Meant for an earlier node at this address; acking would hide its death.
    ++stats_.dropped_wrong_target;
    return;
  }
  gossippb::Envelope env = NewEnvelope();
  env.mutable_ack()->set_seq_no(ping.seq_no());
  Send(from, std::move(env));
}

void Swim::HandleAck(const gossippb::Ack& ack) {
  if (probe_ && probe_->seq == ack.seq_no()) {
    probe_.reset();  // the target is alive; the next probe starts at next_probe_ms_
    return;
  }
  auto it = relays_.find(ack.seq_no());
  if (it == relays_.end()) return;  // late or duplicate ack
  gossippb::Envelope env = NewEnvelope();
  env.mutable_ack()->set_seq_no(it->second.requester_seq);
  std::string to = std::move(it->second.requester_addr);
  relays_.erase(it);
  Send(to, std::move(env));
}

void Swim::HandlePingReq(const std::string& from, const gossippb::PingReq& req) {
  if (relays_.size() >= opt_.max_members) return;  // bounded: drop excess requests
  const uint64_t seq = next_seq_++;
  relays_[seq] = Relay{from, req.seq_no(), now_ms_ + opt_.probe_interval_ms};
  gossippb::Envelope env = NewEnvelope();
  env.mutable_ping()->set_seq_no(seq);
  env.mutable_ping()->set_target_id(req.target_id());
  Send(req.target_addr(), std::move(env));
}

void Swim::HandlePushPull(const std::string& from, const gossippb::PushPull& pp) {
  for (const auto& m : pp.members()) ApplyUpdate(m, /*from_push_pull=*/true);
  if (pp.reply_wanted()) SendPushPull(from, /*reply_wanted=*/false, /*join=*/false);
}

void Swim::ApplyUpdate(const gossippb::MemberInfo& info, bool from_push_pull) {
  Member update = MemberFromInfo(info);
  if (update.id == self_id_) {
    const Member& me = self();
    if (leaving_) {
      // Whatever others believe, we have left; say so louder than the stale claim.
      if (update.state != MemberState::kLeft && update.incarnation >= me.incarnation) {
        Member left = me;
        left.incarnation = update.incarnation + 1;
        members_.Put(left);
        Announce(left);
      }
      return;
    }
    // SWIM §4.2: a member suspected (or declared dead) at our incarnation or later refutes by
    // raising its incarnation. An alive claim that is newer than ours or differs from what we
    // announce (e.g. our previous life before a restart) is answered the same way.
    const bool refute =
        update.incarnation > me.incarnation ||
        (update.incarnation == me.incarnation &&
         (update.state != MemberState::kAlive || !SameAnnouncement(update, me)));
    if (refute) Refute(update.incarnation);
    return;
  }
  // memberlist mergeState: a peer's full state may be stale; treat its "dead" as "suspect" so
  // the member gets a chance to refute.
  if (from_push_pull && update.state == MemberState::kDead) update.state = MemberState::kSuspect;
  const NodeId accuser =
      update.state == MemberState::kSuspect ? NodeId(info.accuser()) : kNoNode;
  const Member* local = members_.Find(update.id);
  if (local != nullptr && local->state == MemberState::kSuspect &&
      update.state == MemberState::kSuspect && update.incarnation == local->incarnation) {
    // The suspicion we hold, heard again: maybe an independent confirmation (Lifeguard).
    if (ConfirmSuspicion(update.id, accuser)) Announce(*local, accuser);
    return;
  }
  MemberList::MergeOutcome out = members_.Merge(update, now_ms_);
  if (!out.applied) return;
  Announce(*members_.Find(update.id), accuser);
  SyncSuspicion(update.id, accuser);
  if (out.event) {
    OnMembershipChange(*out.event);
    Emit(std::move(*out.event));
  }
}

void Swim::Refute(uint64_t seen_incarnation) {
  Member me = self();
  me.incarnation = std::max(me.incarnation, seen_incarnation) + 1;
  members_.Put(me);
  ++stats_.refutations;
  Announce(me);
}

void Swim::OnMembershipChange(const MemberEvent& ev) {
  if (ev.type != MemberEvent::Type::kJoined) return;
  // Insert at a random position of the round-robin (memberlist: a newcomer is probed neither
  // always first nor always last).
  const NodeId id = ev.member.id;
  if (std::find(probe_order_.begin(), probe_order_.end(), id) == probe_order_.end()) {
    const size_t pos = rng_.Uniform(probe_order_.size() + 1);
    probe_order_.insert(probe_order_.begin() + static_cast<ptrdiff_t>(pos), id);
    if (pos < probe_index_) ++probe_index_;
  }
}

// ---- Local API ---------------------------------------------------------------------------

void Swim::Join(const std::vector<std::string>& seeds) {
  seeds_.clear();
  for (const auto& s : seeds) {
    if (!s.empty() && s != self().gossip_addr && s.size() <= kMaxAddrBytes) seeds_.push_back(s);
  }
  if (seeds_.empty()) return;
  for (const auto& s : seeds_) SendPushPull(s, /*reply_wanted=*/true, /*join=*/true);
  next_join_ms_ = now_ms_ + opt_.join_retry_ms;
}

void Swim::Leave() {
  if (leaving_) return;
  leaving_ = true;
  probe_.reset();
  Member me = self();
  me.state = MemberState::kLeft;
  ++me.incarnation;
  members_.Put(me);
  Announce(me);
}

bool Swim::LeaveDisseminated() const {
  return leaving_ && (!broadcasts_.Contains(self_id_) || members_.NumLive() == 0);
}

void Swim::SetMeta(std::string meta) {
  RequireOrDie(meta.size() <= kMaxMetaBytes, "meta too long");
  Member me = self();
  me.meta = std::move(meta);
  ++me.incarnation;
  members_.Put(me);
  Announce(me);
}

void Swim::SetDecommissioning(bool decommissioning) {
  Member me = self();
  if (me.decommissioning == decommissioning) return;
  me.decommissioning = decommissioning;
  ++me.incarnation;
  members_.Put(me);
  Announce(me);
}

std::vector<OutMessage> Swim::TakeOutbox() { return std::exchange(outbox_, {}); }
std::vector<MemberEvent> Swim::TakeEvents() { return std::exchange(events_, {}); }

// ---- Output ------------------------------------------------------------------------------

gossippb::Envelope Swim::NewEnvelope() {
  gossippb::Envelope env;
  env.set_cluster_id(opt_.cluster_id);
  env.set_sender_id(self_id_.value());
  const Member& me = self();
  env.set_sender_incarnation(me.incarnation);
  env.set_sender_addr(me.gossip_addr);
  return env;
}

void Swim::Send(const std::string& to, gossippb::Envelope env) {
  if (!env.has_push_pull()) {
    broadcasts_.Fill(opt_.max_piggyback_bytes, opt_.max_updates_per_message, RetransmitLimit(),
                     env.mutable_updates());
  }
  if (env.body_case() == gossippb::Envelope::BODY_NOT_SET && env.updates_size() == 0) return;
  ++stats_.sent;
  outbox_.push_back(OutMessage{to, std::move(env)});
}

void Swim::SendPushPull(const std::string& to, bool reply_wanted, bool join) {
  ++stats_.push_pulls_sent;
  gossippb::Envelope env = NewEnvelope();
  auto* pp = env.mutable_push_pull();
  pp->set_reply_wanted(reply_wanted);
  pp->set_join(join);
  size_t bytes = 0;
  for (const auto& [id, m] : members_.members()) {
    gossippb::MemberInfo info = InfoFromMember(m);
    const size_t cost = info.ByteSizeLong() + 4;
    if (bytes + cost > opt_.max_push_pull_bytes && pp->members_size() > 0) {
      Send(to, std::move(env));
      env = NewEnvelope();
      pp = env.mutable_push_pull();
      pp->set_join(join);  // reply_wanted only on the first chunk
      bytes = 0;
    }
    bytes += cost;
    *pp->add_members() = std::move(info);
  }
  Send(to, std::move(env));
}

void Swim::Announce(const Member& m, NodeId accuser) {
  gossippb::MemberInfo info = InfoFromMember(m);
  if (m.state == MemberState::kSuspect) info.set_accuser(accuser.value());
  broadcasts_.Enqueue(info);
}

void Swim::Emit(MemberEvent ev) { events_.push_back(std::move(ev)); }

}  // namespace ringkv::gossip

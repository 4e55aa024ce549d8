// Transport, round-trip probes: one small Probe per connected peer and probe interval on the
// outbound connection, echoed by the peer on its own outbound connection. Everything here runs
// on the transport thread.
#include <chrono>

#include "net/transport.h"
#include "net/transport_internal.h"

namespace ringkv::net {
namespace {

uint64_t NowMicros() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

void Transport::ScheduleProbes() {
  if (stopping_ || options_.probe_interval.count() <= 0) return;
  if (!probe_timer_) probe_timer_.emplace(io_thread_.io());
  probe_timer_->expires_after(options_.probe_interval);
  probe_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    SendProbes();
    ScheduleProbes();
  });
}

void Transport::SendProbes() {
  std::vector<std::shared_ptr<Peer>> peers;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [id, p] : peers_) {
      if (blocked_.count(id) == 0) peers.push_back(p);
    }
  }
  for (const auto& peer : peers) {
    // A peer that does not accept probes would close the connection on the unknown body.
    if (!peer->connected || !peer->conn || !peer->accepts_probes) continue;
    transportpb::PeerMessage m;
    transportpb::Probe* p = m.mutable_probe();
    p->set_id(next_probe_id_++);
    p->set_sent_at_us(NowMicros());
    // A full connection queue refuses it: that round trip is simply not measured.
    if (!peer->conn->Send(m.SerializeAsString()).ok()) continue;
    std::lock_guard<std::mutex> l(mu_);
    ++stats_[peer->id].probes_sent;
  }
}

void Transport::OnProbe(NodeId from, const transportpb::Probe& probe) {
  if (probe.reply()) {
    const uint64_t now = NowMicros();
    const uint64_t rtt = now >= probe.sent_at_us() ? now - probe.sent_at_us() : 0;
    {
      std::lock_guard<std::mutex> l(mu_);
      PeerStats& s = stats_[from];
      ++s.probes_answered;
      s.last_round_trip_us = rtt;
    }
    if (handlers_.on_round_trip) handlers_.on_round_trip(from, std::chrono::microseconds(rtt));
    return;
  }
  // Echo on our outbound connection to `from`; not connected (yet): the prober misses one.
  std::shared_ptr<Peer> peer;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = peers_.find(from);
    if (it == peers_.end() || blocked_.count(from) > 0) return;
    peer = it->second;
  }
  if (!peer->connected || !peer->conn) return;
  transportpb::PeerMessage m;
  *m.mutable_probe() = probe;
  m.mutable_probe()->set_reply(true);
  peer->conn->Send(m.SerializeAsString()).IgnoreError();  // lost echo: one unmeasured round trip
}

}  // namespace ringkv::net

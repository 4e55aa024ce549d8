// GossipDriver: runs one Swim core over UDP with Boost.Asio. It binds a socket, ticks the core
// on a timer (monotonic clock), sends the core's outbox as datagrams framed by
// gossip/codec.h, and feeds received datagrams to the core (malformed ones are counted and
// dropped; the process keeps going). The membership view, counters and events are published
// for other threads.
//
// Thread-safety: every public method is thread-safe. The core runs on a strand of the
// io_context (its own thread, or one the caller runs); accessors read a snapshot that is
// republished after every tick and after every change, so it is at most one tick stale.
// `on_event` runs on the io_context and must not block.
#ifndef RINGKV_GOSSIP_GOSSIP_DRIVER_H_
#define RINGKV_GOSSIP_GOSSIP_DRIVER_H_

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "gossip/keyring.h"
#include "gossip/member.h"
#include "gossip/swim.h"

namespace ringkv::gossip {

struct GossipDriverOptions {
  // The protocol's options. swim.self.gossip_addr may be left empty: it then becomes
  // advertise_host:<bound port>.
  SwimOptions swim;
  // Address to bind. Port 0 = any free port (see GossipDriver::port()). Default: 0.0.0.0:0.
  std::string bind_host = "0.0.0.0";
  uint16_t bind_port = 0;
  // Host others use to reach us when swim.self.gossip_addr is empty. Default: bind_host, or
  // 127.0.0.1 when bind_host is a wildcard address.
  std::string advertise_host;
  // Period of Swim::Tick. 0 = probe_interval_ms / 10, clamped to [5, 100] ms.
  int64_t tick_interval_ms = 0;
  // Seeds to join through at start ("host:port"); empty = start a new cluster alone.
  std::vector<std::string> join;
  // Called on the io_context for every membership event. Optional; must not block.
  std::function<void(const MemberEvent&)> on_event;
  // Events kept for TakeEvents(); older ones are dropped (and counted) beyond this.
  // Default: 4096.
  size_t max_buffered_events = 4096;
  // Authenticated encryption of every datagram (gossip/keyring.h); null = plain datagrams that
  // anyone can read, forge or replay. With a key ring, datagrams that no key authenticates
  // and replayed ones are dropped, counted and logged (WARNING, the first and every 100th).
  std::shared_ptr<const Keyring> keyring;
};

struct GossipDriverStats {
  SwimStats swim;
  uint64_t datagrams_received = 0;
  uint64_t datagrams_sent = 0;
  uint64_t decode_errors = 0;     // bad checksum, unparsable, too short or truncated
  uint64_t send_errors = 0;       // socket errors or a full send buffer: the datagram is lost
  uint64_t unresolved_addrs = 0;  // outbox destinations that do not resolve
  uint64_t events_dropped = 0;    // TakeEvents() buffer overflow
  uint64_t auth_failures = 0;     // with a key ring: datagrams no key authenticates
  uint64_t replays_dropped = 0;   // with a key ring: datagrams seen before (or too old to tell)
};

class GossipDriver {
 public:
  // Binds and starts on a thread of its own. Returns kIOError when the socket cannot be bound,
  // kInvalidArgument for a bad bind or advertise address.
  static Result<std::unique_ptr<GossipDriver>> Start(GossipDriverOptions options);
  // Binds and starts on `io`, which the caller runs (from any number of threads) and keeps
  // alive until Stop() returned.
  static Result<std::unique_ptr<GossipDriver>> Start(GossipDriverOptions options,
                                                     boost::asio::io_context& io);

  // Stops (without leaving: to others this looks like a crash).
  ~GossipDriver();
  GossipDriver(const GossipDriver&) = delete;
  GossipDriver& operator=(const GossipDriver&) = delete;

  // Closes the socket and stops ticking; the own thread, if any, is joined. Idempotent.
  // With a caller's io_context, REQUIRES: that io_context is being run (or Stop is called on
  // it), since the close runs on its strand.
  void Stop();

  uint16_t port() const { return port_; }
  const std::string& gossip_addr() const { return gossip_addr_; }
  NodeId id() const { return id_; }

  // Joins through `seeds` (as Swim::Join). Asynchronous.
  void Join(std::vector<std::string> seeds);
  // Leaves gracefully and waits until the announcement has been sent its full retransmit
  // count. Returns kDeadlineExceeded if that took longer than `timeout` (the leave still
  // proceeds). Keep the driver running until it returns, then Stop().
  Status Leave(std::chrono::milliseconds timeout);
  // Announces new meta / decommissioning flag (Swim::SetMeta). Asynchronous.
  // REQUIRES: meta.size() <= kMaxMetaBytes.
  void SetMeta(std::string meta);
  void SetDecommissioning(bool decommissioning);
  // Replaces the key ring (key rotation: install, use, remove). Asynchronous; datagrams sent
  // after it takes effect are sealed with the new primary key. REQUIRES: the driver was
  // started with a key ring, and `keyring` is not null.
  void SetKeyring(std::shared_ptr<const Keyring> keyring);

  // Snapshot of the view (self included), ordered by id.
  std::vector<Member> Members() const;
  std::optional<Member> Find(NodeId id) const;
  GossipDriverStats stats() const;
  // Drains the buffered events, oldest first.
  std::vector<MemberEvent> TakeEvents();
  // Blocks until `pred(Members())` holds or `timeout` passes; returns the last value of pred.
  // `pred` runs under the driver's lock: it must not call the driver.
  bool WaitFor(const std::function<bool(const std::vector<Member>&)>& pred,
               std::chrono::milliseconds timeout) const;
  // As WaitFor, over stats().
  bool WaitForStats(const std::function<bool(const GossipDriverStats&)>& pred,
                    std::chrono::milliseconds timeout) const;

  class Impl;  // public so the .cc can name it; not part of the API

 private:
  GossipDriver(std::shared_ptr<Impl> impl, uint16_t port, std::string addr, NodeId id)
      : impl_(std::move(impl)), port_(port), gossip_addr_(std::move(addr)), id_(id) {}

  std::shared_ptr<Impl> impl_;
  const uint16_t port_;
  const std::string gossip_addr_;
  const NodeId id_;
};

}  // namespace ringkv::gossip

#endif  // RINGKV_GOSSIP_GOSSIP_DRIVER_H_

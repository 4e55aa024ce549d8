// Fuzz target: a gossip datagram as a node receives it — the key ring opens it (sealed or not),
// the replay guard checks it, the codec decodes it and the SWIM core takes it (gossip/). The
// input is tried both as a plain datagram and, after sealing it with the ring's key, as a sealed
// one, so the decoder and the core see arbitrary authenticated content too. Properties: no
// crash; a sealed datagram opens to exactly what was sealed; the core's outbox stays bounded.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gossip/codec.h"
#include "gossip/keyring.h"
#include "gossip/replay_guard.h"
#include "gossip/swim.h"

namespace {

ringkv::gossip::SwimOptions Options() {
  ringkv::gossip::SwimOptions o;
  o.cluster_id = "fuzz";
  o.self.id = ringkv::NodeId(1);
  o.self.name = "node-1";
  o.self.gossip_addr = "127.0.0.1:7101";
  o.self.peer_addr = "127.0.0.1:7101";
  o.self.client_addr = "127.0.0.1:7001";
  o.seed = 42;
  return o;
}

void Deliver(ringkv::gossip::Swim& swim, std::string_view datagram, int64_t now) {
  auto env = ringkv::gossip::DecodeDatagram(datagram);
  if (!env.ok()) return;
  swim.Receive("127.0.0.1:7102", *env).IgnoreError();  // refusals are counted, fine here
  swim.Tick(now);
  if (swim.TakeOutbox().size() > 10000) std::abort();
  swim.TakeEvents();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringkv::gossip;
  static const Keyring ring = *Keyring::Parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Swim swim(Options());
  swim.Tick(0);
  ReplayGuard guard;
  // As received from the network: only a sealed datagram that opens gets through.
  if (auto opened = ring.Open(input); opened.ok()) {
    if (guard.Check(opened->sender, opened->sequence) == ReplayGuard::Verdict::kFresh) {
      Deliver(swim, opened->plaintext, 10);
    }
  }
  // As a key holder would send it.
  const std::string sealed = ring.Seal(input, 2, 1000);
  auto opened = ring.Open(sealed);
  if (!opened.ok() || opened->plaintext != input || opened->sender != 2) std::abort();
  Deliver(swim, opened->plaintext, 20);
  // And the plain codec path of a cluster without a key ring.
  Deliver(swim, input, 30);
  return 0;
}

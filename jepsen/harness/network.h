// Network faults inside the test's namespace: iptables DROP rules per (source, destination)
// address pair in a chain of their own (RINGKV-NEMESIS, jumped to from INPUT), so node-to-node
// and client-to-node links are cut separately, in one or both directions. Healing flushes the
// chain. Init also drops every packet to an address outside 127.0.0.0/8 (the namespace has only
// its loopback anyway).
//
// Thread-safety: thread-safe (iptables -w serialises on the xtables lock; rules are per netns).
#ifndef RINGKV_JEPSEN_HARNESS_NETWORK_H_
#define RINGKV_JEPSEN_HARNESS_NETWORK_H_

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "common/status_macros.h"

namespace ringkv::jepsen {

// Directed links to cut: packets from .first to .second are dropped.
using Grudge = std::vector<std::pair<std::string, std::string>>;

class Network {
 public:
  // Creates the chain. Returns an error when iptables is missing or not permitted.
  Status Init();
  // Adds DROP rules for every link of `grudge`.
  Status Cut(const Grudge& grudge);
  // Removes every DROP rule.
  Status Heal();
  // Current rules (iptables -S of the chain), for the report.
  std::string Describe();
};

}  // namespace ringkv::jepsen

#endif  // RINGKV_JEPSEN_HARNESS_NETWORK_H_

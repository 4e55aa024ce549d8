#include "jepsen/harness/network.h"

#include "jepsen/harness/process.h"

namespace ringkv::jepsen {
namespace {

constexpr char kChain[] = "RINGKV-NEMESIS";

Status Iptables(std::vector<std::string> args) {
  args.insert(args.begin(), {"iptables", "-w"});
  std::string out;
  Result<int> rc = RunCommand(args, &out);
  if (!rc.ok()) return rc.status();
  if (*rc != 0) {
    std::string cmd;
    for (const auto& a : args) cmd += a + " ";
    return Status::Unavailable(cmd + "failed (" + std::to_string(*rc) + "): " + out);
  }
  return Status::OK();
}

}  // namespace

Status Network::Init() {
  RETURN_IF_ERROR(Iptables({"-N", kChain}));
  RETURN_IF_ERROR(Iptables({"-I", "INPUT", "-j", kChain}));
  // Belt and braces: nothing leaves 127/8 (the namespace has no other interface up anyway).
  return Iptables({"-A", "OUTPUT", "!", "-d", "127.0.0.0/8", "-j", "DROP"});
}

Status Network::Cut(const Grudge& grudge) {
  for (const auto& [from, to] : grudge) {
    RETURN_IF_ERROR(Iptables({"-A", kChain, "-s", from, "-d", to, "-j", "DROP"}));
  }
  return Status::OK();
}

Status Network::Heal() { return Iptables({"-F", kChain}); }

std::string Network::Describe() {
  std::string out;
  Result<int> rc = RunCommand({"iptables", "-w", "-S"}, &out);
  if (!rc.ok()) return rc.status().ToString();
  return out;
}

}  // namespace ringkv::jepsen

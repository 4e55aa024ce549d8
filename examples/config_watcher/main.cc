// config_watcher: a service that keeps its configuration in RingKV and follows every change.
//
//   config_watcher <endpoints> <prefix> [--exit-after N]
//
// It reads every key under <prefix> once (its starting configuration), then watches the prefix
// from the revision after what it read on each shard, so no change between the read and the
// watch is missed or applied twice, and prints the configuration each time a change arrives. Built out of tree against the
// installed package (find_package(RingKV) -> RingKV::client); uses only <ringkv/client.h>.
#include <ringkv/client.h>
#include <ringkv/version.h>

#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>

namespace {

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(prefix.back() + 1);
  return prefix;
}

void Print(const std::map<std::string, std::string>& config) {
  std::cout << "config:";
  for (const auto& [k, v] : config) std::cout << " " << k << "=" << v;
  std::cout << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: config_watcher <host:port,...> <prefix> [--exit-after N]\n";
    return 2;
  }
  const std::string prefix = argv[2];
  long exit_after = -1;
  if (argc == 5 && std::string(argv[3]) == "--exit-after") exit_after = std::atol(argv[4]);
  std::cout << "config_watcher on RingKV client " << RINGKV_VERSION_STRING << std::endl;

  ringkv::client::ClientOptions options;
  options.endpoints = Split(argv[1]);
  auto client = ringkv::client::Client::Connect(options);
  if (!client.ok()) {
    std::cerr << "connect: " << client.status().ToString() << "\n";
    return 1;
  }

  // 1. The starting configuration, and the revision of each shard it was read at.
  std::map<std::string, std::string> config;
  auto initial = (*client)->Scan(prefix, PrefixEnd(prefix));
  if (!initial.ok()) {
    std::cerr << "read: " << initial.status().ToString() << "\n";
    return 1;
  }
  for (const auto& kv : initial->kvs) config[kv.key] = kv.value;
  Print(config);

  // 2. Every change after it: each shard's watch starts right after the revision the read saw
  // on that shard (versions are per shard), so nothing is missed and nothing is applied twice.
  ringkv::client::WatchOptions wo;
  wo.prefix = true;
  for (const auto& [shard, revision] : initial->revisions) wo.start_versions[shard] = revision + 1;
  std::mutex mu;
  std::condition_variable cv;
  long updates = 0;
  bool ended = false;
  auto watch = (*client)->Watch(
      prefix, wo,
      [&](const ringkv::client::WatchUpdate& u) {
        if (u.events.empty()) return;
        std::lock_guard<std::mutex> l(mu);
        for (const auto& e : u.events) {
          if (e.type == ringkv::client::WatchEvent::Type::kPut) {
            config[e.key] = e.value;
          } else {
            config.erase(e.key);
          }
        }
        Print(config);
        ++updates;
        cv.notify_all();
      },
      [&](const ringkv::client::WatchEnd& end) {
        std::lock_guard<std::mutex> l(mu);
        std::cerr << "watch ended: " << end.status.ToString() << "\n";
        ended = true;
        cv.notify_all();
      });
  if (!watch.ok()) {
    std::cerr << "watch: " << watch.status().ToString() << "\n";
    return 1;
  }
  std::unique_lock<std::mutex> l(mu);
  cv.wait(l, [&] { return ended || (exit_after >= 0 && updates >= exit_after); });
  l.unlock();
  (*watch)->Cancel();
  return ended ? 1 : 0;
}

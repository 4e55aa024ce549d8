// SpaceGuard: the NOSPACE alarm of one node. Every `interval` it measures the bytes under the
// data directory (RocksDB files, Raft logs included) and the free bytes of its filesystem, and
// raises NOSPACE when the quota is reached or free space falls below the floor. While raised,
// the cluster rejects writes other than deletes (ClientService, via gossip for other nodes);
// reads and deletes go on, so an operator can make room. It clears itself once usage falls
// below the low watermark (quota x low_watermark, and free space above floor / low_watermark),
// or by `kvctl alarm disarm` (raised again at the next check if still due).
//
// Thread-safety: all public methods are safe from any thread.
#ifndef RINGKV_SERVER_SPACE_GUARD_H_
#define RINGKV_SERVER_SPACE_GUARD_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ringkv::server {

struct SpaceGuardOptions {
  std::string data_dir;
  // Raise NOSPACE when the data dir holds this many bytes. 0 = no quota. Default: 0.
  uint64_t quota_bytes = 0;
  // Raise NOSPACE when the filesystem has fewer free bytes. 0 = no floor. Default: 256 MiB.
  uint64_t min_free_bytes = uint64_t{256} << 20;
  // Clear below quota x this and above floor / this. Default: 0.9.
  double low_watermark = 0.9;
  // How often to measure. Default: 1 s.
  std::chrono::milliseconds interval{1000};
  // Called (on the guard's thread) when the alarm is raised or cleared.
  std::function<void(bool raised, const std::string& why)> on_change;
};

struct SpaceUsage {
  uint64_t used_bytes = 0;
  uint64_t free_bytes = 0;
  uint64_t quota_bytes = 0;
};

// The alarm decision, pure: whether NOSPACE is (still) raised after measuring `u`, given
// whether it was raised before. `why` says which limit (for logs and kvctl alarm list).
bool NoSpaceDue(const SpaceGuardOptions& o, const SpaceUsage& u, bool raised_before,
                std::string* why);

class SpaceGuard {
 public:
  explicit SpaceGuard(SpaceGuardOptions options);
  ~SpaceGuard();  // Stop()s
  SpaceGuard(const SpaceGuard&) = delete;
  SpaceGuard& operator=(const SpaceGuard&) = delete;

  // Measures once at once, then every interval on a thread of its own.
  void Start();
  void Stop();
  // Measures now (also used by Start and tests).
  void CheckNow();
  // Clears the alarm; the next check raises it again if a limit is still exceeded.
  void Disarm();

  bool nospace() const { return nospace_.load(); }
  // "NOSPACE" while raised; empty otherwise.
  std::vector<std::string> Alarms() const;
  // Why the alarm is raised ("" when it is not).
  std::string Reason() const;
  SpaceUsage usage() const;

 private:
  const SpaceGuardOptions options_;
  std::atomic<bool> nospace_{false};
  mutable std::mutex mu_;
  // State below is protected by mu_.
  SpaceUsage usage_;
  std::string reason_;
  bool stopping_ = false;
  std::condition_variable cv_;
  std::thread thread_;
};

// Bytes of the regular files under `dir` (0 when unreadable).
uint64_t DirectoryBytes(const std::string& dir);
// Free bytes available to this process on the filesystem of `dir` (0 when unknown).
uint64_t FreeBytes(const std::string& dir);

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_SPACE_GUARD_H_

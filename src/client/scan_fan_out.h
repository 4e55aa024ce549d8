// ScanFanOut: one scan of a key range spread over the shards by hash. Every shard is asked for
// its first `limit` keys in the range; ScanFanOut collects their answers and, once all are in,
// merges them in key order, keeps the first `limit`, and ends the page where it is complete
// (below the lowest point a shard stopped at), then calls `done` once: with the merged page,
// or with the first error a shard returned.
//
// Thread-safety: OnShard from any thread (one mutex); `done` runs on the thread of the last
// answer, without the lock held.
#ifndef RINGKV_CLIENT_SCAN_FAN_OUT_H_
#define RINGKV_CLIENT_SCAN_FAN_OUT_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ringkv/client.h"

namespace ringkv::client {

class ScanFanOut {
 public:
  // Expects `shards` answers; `limit` as ScanOptions::limit (0 = none).
  ScanFanOut(uint32_t shards, uint32_t limit, Callback<ScanResult> done)
      : pending_(shards), limit_(limit), done_(std::move(done)) {}

  // One shard's answer.
  void OnShard(Result<ScanResult> r);

 private:
  std::mutex mu_;
  uint32_t pending_;  // answers still to come; guarded by mu_
  const uint32_t limit_;
  std::vector<KeyValue> kvs_;  // guarded by mu_
  bool more_ = false;          // guarded by mu_
  // The lowest continue_after of the shards that have more keys: merged keys above it are
  // not complete (a shard may hold unscanned keys below them), so the page ends there.
  std::optional<std::string> bound_;     // guarded by mu_
  std::map<uint32_t, uint64_t> revisions_;  // guarded by mu_
  Status error_;                         // guarded by mu_
  Callback<ScanResult> done_;
};

}  // namespace ringkv::client

#endif  // RINGKV_CLIENT_SCAN_FAN_OUT_H_

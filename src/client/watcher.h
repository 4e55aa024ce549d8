// Watcher: one Client::Watch, living on the client's I/O thread. It keeps one stream per
// watched shard, each at the leader of its shard (following NOT_LEADER hints like a Call), and
// remembers per shard the next version to deliver. When a stream breaks — the leader changed or
// lost its quorum, the node restarted, the connection dropped — it opens a new one from that
// version after a jittered backoff, so the application sees every change once, in order, and
// none twice: events below the next version are dropped, and the server never skips a version
// at or above it (replica/watch_hub.h).
//
// Ends on its own only for what retrying cannot fix (compacted history, a watch the server
// canceled because the callback was too slow, a refused request, client shutdown): `on_end`.
//
// Thread-safety: everything runs on the I/O thread except Positions(), which is thread-safe.
#ifndef RINGKV_CLIENT_WATCHER_H_
#define RINGKV_CLIENT_WATCHER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "client/backoff.h"
#include "client/call.h"
#include "common/thread_annotations.h"
#include "proto/kv.pb.h"
#include "ringkv/client.h"

namespace ringkv::client {

class Watcher : public std::enable_shared_from_this<Watcher> {
 public:
  using OnUpdate = std::function<void(const WatchUpdate&)>;
  using OnEnd = std::function<void(const WatchEnd&)>;

  // `range_end` as kvpb::WatchRequest ("" = `key` only, "\0" = every key >= `key`). `shards`:
  // the groups to watch (GroupId(0) alone: the ring is unknown, the server routes `key`).
  Watcher(ClientCore* core, uint64_t id, std::string key, std::string range_end,
          const WatchOptions& options, std::vector<GroupId> shards, OnUpdate on_update,
          OnEnd on_end);

  uint64_t id() const { return id_; }
  // Opens every shard's stream. REQUIRES: I/O thread.
  void Start();
  // Ends the watch without calling on_end. REQUIRES: I/O thread.
  void Cancel();
  // Ends the watch with `why` (client shutdown). REQUIRES: I/O thread.
  void Abort(const Status& why);
  // Next version per shard (thread-safe).
  std::map<uint32_t, uint64_t> Positions() const;

 private:
  struct Shard {
    GroupId group;
    uint64_t next = 0;  // the next version to deliver; 0 = from when the stream starts
    std::shared_ptr<Channel> channel;
    uint64_t stream_id = 0;   // 0 = no stream open
    std::string endpoint;     // where the open stream (or the next attempt) goes
    int redirects_in_row = 0;
    std::unique_ptr<Backoff> backoff;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };

  void Open(size_t i);
  void OnMessage(size_t i, uint64_t stream_id, kvpb::Response resp);
  void OnStreamEnd(size_t i, uint64_t stream_id, const Status& why);
  // Closes shard i's stream (if any) and opens a new one after `delay` at `endpoint` ("" =
  // cached leader or next endpoint).
  void Reopen(size_t i, std::chrono::milliseconds delay, std::string endpoint);
  void CloseStream(size_t i);
  void Finish(const WatchEnd& end);
  void Deliver(size_t i, const kvpb::WatchResponse& w, uint32_t shard);
  void SetNext(size_t i, uint64_t next);

  ClientCore* const core_;
  const uint64_t id_;
  const std::string key_;
  const std::string range_end_;
  const std::chrono::milliseconds progress_interval_;
  OnUpdate on_update_;
  OnEnd on_end_;
  std::vector<Shard> shards_;
  bool done_ = false;  // canceled or finished: no callback runs any more

  mutable std::mutex mu_;
  std::map<uint32_t, uint64_t> positions_ GUARDED_BY(mu_);
};

}  // namespace ringkv::client

#endif  // RINGKV_CLIENT_WATCHER_H_

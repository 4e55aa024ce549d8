// WatchHub: the watches a group's leader replica serves. A watch streams the changes of a key
// range on this shard, in version order, each version exactly once and without gaps:
//   - from the change history (storage/change_history.h) while it catches up from an older
//     version, in bounded batches per tick;
//   - then from the changes of each applied batch, handed over right after the batch is written.
// The client resumes a broken stream (leader change, node restart, lost connection) from the
// version after the last one it delivered; progress notifications tell an idle watch how far it
// is known to be complete, so a resume after a quiet period does not re-read the history.
//
// Memory: the hub buffers nothing. A watch whose connection already holds more unread bytes
// than allowed is slow: it is ended with CANCELED and the version to resume from, so slow
// clients cost the server a bounded connection queue, never an unbounded buffer.
//
// Thread-safety: not thread-safe; owned by the group's replica (store loop thread). WatchStream
// implementations must be callable from that thread.
#ifndef RINGKV_REPLICA_WATCH_HUB_H_
#define RINGKV_REPLICA_WATCH_HUB_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/ids.h"
#include "proto/kv.pb.h"
#include "storage/change_history.h"

namespace ringkv::replica {

struct WatchOptions {
  // An idle watch gets a progress notification this often (a request may ask for another
  // interval, not below 100 ms). Default: 1 s.
  std::chrono::milliseconds progress_interval{1000};
  // Events read from the history per catching-up watch per tick. Default: 1000.
  size_t catch_up_batch = 1000;
  // Most watches on one group. Default: 10,000.
  size_t max_watches = 10000;
};

// Where one watch's messages go (the server implements it over the client connection).
class WatchStream {
 public:
  enum class SendResult {
    kOk,
    kSlow,    // the client has too much unread: nothing was queued
    kClosed,  // the connection is gone
  };
  virtual ~WatchStream() = default;
  // Queues `resp` (request id, group and node filled in by the implementation).
  virtual SendResult Send(const kvpb::Response& resp) = 0;
  // Queues the stream's last message even past the unread limit when possible; false when the
  // connection cannot take it (the implementation then closes the connection, so the client
  // learns that its stream ended).
  virtual bool SendFinal(const kvpb::Response& resp) = 0;
  // The connection the watch came on and the request id that opened it.
  virtual uint64_t connection_id() const = 0;
  virtual uint64_t request_id() const = 0;
};

class WatchHub {
 public:
  using Clock = std::chrono::steady_clock;

  // `history` is not owned and must outlive the hub. `applied`: every change up to it is in
  // the history.
  WatchHub(GroupId group, WatchOptions options, const storage::ChangeHistory* history,
           Index applied);

  // Opens the watch `req` on `stream`: answers COMPACTED (the start version is older than the
  // history), INVALID_ARGUMENT, or BUSY (too many watches), or `created` and then the changes.
  void Add(const kvpb::WatchRequest& req, std::shared_ptr<WatchStream> stream,
           Clock::time_point now);
  // Ends a watch without a message (the client asked).
  void Cancel(uint64_t connection_id, uint64_t request_id);
  // Ends every watch of a closed connection.
  void CancelConnection(uint64_t connection_id);
  // Ends every watch with `error` as its last message (leadership lost, replica going away).
  void EndAll(const kvpb::Response& error);

  // The entries up to `applied` are applied and written; `changes` are theirs (in order, only
  // indexes that changed something).
  void OnApplied(const std::vector<storage::IndexedChanges>& changes, Index applied,
                 Clock::time_point now);
  // A snapshot replaced the state: changes up to `applied` are in the (reloaded) history.
  void Reset(Index applied) { applied_ = applied; }
  // Catches up watches from the history and sends progress notifications to idle ones.
  void Tick(Clock::time_point now);

  size_t size() const { return watches_.size(); }

 private:
  struct Watch {
    std::shared_ptr<WatchStream> stream;
    std::string key;
    std::string range_end;  // "" = only `key`; "\0" = every key >= `key`
    Index next;             // the next version this watch may deliver
    bool synced = false;    // next > applied_: fed from applied changes, not the history
    Clock::time_point last_sent;
    std::chrono::milliseconds progress_interval;
  };
  using WatchId = std::pair<uint64_t, uint64_t>;  // (connection, request)

  bool Matches(const Watch& w, const std::string& key) const;
  // Sends the changes of `changes` that `w` watches (only indexes >= w.next) and moves w.next
  // past `upto`. False when the watch ended (slow or closed).
  bool Deliver(Watch& w, const std::vector<storage::IndexedChanges>& changes, Index upto,
               Clock::time_point now);
  // One catch-up step from the history. False when the watch ended.
  bool CatchUp(Watch& w, Clock::time_point now);
  // Ends `w` with `error` (no message when `error` is null).
  void End(Watch& w, const kvpb::Response* error);
  kvpb::Response Compacted(Index wanted) const;

  const GroupId group_;
  const WatchOptions options_;
  const storage::ChangeHistory* const history_;
  Index applied_;  // every change up to it is written and in the history
  std::map<WatchId, Watch> watches_;
  // Tick does a full pass only while some watch catches up, or every kProgressScan.
  bool any_catching_up_ = false;
  Clock::time_point next_progress_scan_{};
};

}  // namespace ringkv::replica

#endif  // RINGKV_REPLICA_WATCH_HUB_H_

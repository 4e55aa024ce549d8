// SessionTable: the client-session table of one group, which makes retried writes exactly-once
// (Raft thesis 6.3). It is part of the group's state machine: stored in the data CF next to the
// user data, written in the apply batch, carried by snapshots, hashed by the state digest, and
// every decision below depends only on the applied log, so all replicas keep the same table.
//
// A session (client_id) numbers its writes 1, 2, ... and may have many in flight. Each write
// carries `first_incomplete`: the lowest sequence the client still awaits an answer for. The
// table keeps the response of every applied sequence >= first_incomplete and forgets those
// below it. For a write (client_id, sequence) Admit decides:
//   - a response is kept for it                  -> kCached: answer with it, do not execute;
//   - sequence < first_incomplete                -> kBelowFirstIncomplete: the client gave up on
//       it (its answer was discarded, if it ever applied); refused;
//   - sequence <= evicted_through                -> kResponseEvicted: its response may have been
//       evicted (bounds below); refused;
//   - the session is unknown and started_ms <= expired_through_ms (a session was evicted whole
//       that may be this one)                    -> kSessionExpired: refused;
//   - otherwise                                   -> kExecute: it never applied; execute it and
//       Record its response.
// A refused write never applies, now or later (first_incomplete, evicted_through and
// expired_through_ms only grow), but whether it applied *before* is unknown, so the caller
// answers it with an indefinite error. Only kExecute and kCached answer a write definitely.
//
// Bounds and eviction (SessionLimits; deterministic, so equal on every replica, which therefore
// must run with the same limits):
//   - per session: at most max_responses_per_session responses and, beyond the newest one,
//     max_response_bytes_per_session bytes; over either, the response of the lowest sequence
//     other than the one just recorded is evicted and evicted_through raised to it;
//   - per group: at most max_sessions sessions, max_responses responses and max_response_bytes
//     bytes over all sessions; over any, the least recently written session (smallest
//     written_at, then smallest client id) other than the one just written is evicted whole and
//     expired_through_ms raised to its started_ms.
// The client library keeps at most 256 sequences in flight per session (client/session_pool.h),
// below max_responses_per_session, so a well-behaved client loses no response to eviction.
//
// Where a kept response is stored: inside the session's record when it is small
// (kMaxInlineResponseBytes) and the session keeps fewer than kMaxInlineResponses inline,
// otherwise as a record of its own. A put's answer is a few bytes, so a write usually rewrites
// one record (its session's) instead of writing its response, deleting the one its
// first_incomplete released and rewriting the session: two fewer memtable inserts per write. The
// choice is a storage layout only, made the same way on every replica; what the table decides
// does not depend on it. Inline responses are also held in memory (at most
// kMaxInlineResponses x kMaxInlineResponseBytes per session).
//
// Like KvState, in-memory bookkeeping changes at call time: write each batch before the next
// Admit reads what it contains (the caller keeps the responses of the current batch itself);
// reload with Load() after a snapshot install or a failed write.
//
// Thread-safety: not thread-safe; owned by the group's KvState.
#ifndef RINGKV_STORAGE_SESSION_TABLE_H_
#define RINGKV_STORAGE_SESSION_TABLE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/ids.h"
#include "common/result.h"
#include "common/status.h"
#include "storage/engine.h"
#include "storage/write_batch.h"

namespace ringkv::storage {

struct SessionLimits {
  // Responses one session keeps. Default: 1024 (4x the client's 256 sequences in flight).
  size_t max_responses_per_session = 1024;
  // Bytes of responses one session keeps beyond its newest one. Default: 8 MiB.
  uint64_t max_response_bytes_per_session = uint64_t{8} << 20;
  // Sessions one group keeps. Default: 10000.
  size_t max_sessions = 10000;
  // Responses and their bytes over all sessions of one group. Defaults: 100000, 64 MiB.
  size_t max_responses = 100000;
  uint64_t max_response_bytes = uint64_t{64} << 20;
};

// The session fields of one write (kvpb::Command).
struct SessionWrite {
  uint64_t client_id = 0;         // REQUIRES: != 0
  uint64_t sequence = 0;
  uint64_t first_incomplete = 0;  // 0 = not given (nothing is discarded); clamped to sequence
  uint64_t started_ms = 0;        // the session's start, client clock
};

enum class SessionVerdict {
  kExecute,
  kCached,
  kBelowFirstIncomplete,
  kResponseEvicted,
  kSessionExpired,
};

// "below first incomplete", ... for messages.
const char* SessionVerdictName(SessionVerdict v);

class SessionTable {
 public:
  static constexpr size_t kMaxInlineResponseBytes = 64;
  static constexpr size_t kMaxInlineResponses = 16;

  // `engine` is not owned and must outlive this.
  SessionTable(Engine* engine, GroupId group, SessionLimits limits);

  // Reads the table from the engine. Corruption on a malformed key or record, or a response
  // whose session record is missing.
  Status Load();

  // Decides what to do with write `w`, applied at `index` (see the file comment), and advances
  // the session's first incomplete, forgetting the responses below it (in `batch`). A write of
  // a new session that may execute creates the session (stored by Record).
  SessionVerdict Admit(WriteBatch* batch, const SessionWrite& w, Index index);

  // Keeps `response` (a serialized kvpb::Response) as the answer of `w`, then evicts down to the
  // limits. REQUIRES: Admit(w) returned kExecute in this batch.
  void Record(WriteBatch* batch, const SessionWrite& w, Index index, std::string_view response);

  // The kept response of (client_id, sequence) as stored by an earlier, written batch; nullopt
  // when not kept. Corruption on a bad record.
  Result<std::optional<std::string>> ReadResponse(uint64_t client_id, uint64_t sequence) const;

  // What the table holds of one session, for tests and diagnostics.
  struct SessionInfo {
    uint64_t first_incomplete = 0;
    uint64_t evicted_through = 0;
    uint64_t started_ms = 0;
    Index written_at{0};
    std::vector<uint64_t> sequences;  // of the kept responses, ascending
    size_t inline_responses = 0;      // how many of them the session's record holds
  };
  std::optional<SessionInfo> Find(uint64_t client_id) const;

  uint64_t expired_through_ms() const { return expired_through_ms_; }
  size_t session_count() const { return sessions_.size(); }
  size_t response_count() const { return response_count_; }
  uint64_t response_bytes() const { return response_bytes_; }

 private:
  struct KeptResponse {
    uint64_t bytes = 0;         // of the payload
    bool inlined = false;       // stored in the session's record (else at SessionResponseKey)
    std::string payload;        // when inlined
  };
  using Responses = std::map<uint64_t, KeptResponse>;  // by sequence
  struct Session {
    uint64_t first_incomplete = 0;
    uint64_t evicted_through = 0;
    uint64_t started_ms = 0;
    uint64_t written_at = 0;     // 0 until first stored (then in lru_)
    Responses responses;
    uint64_t bytes = 0;          // sum of `responses`' bytes
    size_t inlined = 0;          // how many of `responses` are inlined
  };

  // Stores `s` with written_at = index and moves it to the back of the eviction order.
  void PutSession(WriteBatch* batch, uint64_t client_id, Session* s, Index index);
  // Forgets the response at `it` of session `client_id`. An inlined one leaves the stored record
  // only when the session is next stored or deleted, which every caller does in the same batch.
  void DropResponse(WriteBatch* batch, uint64_t client_id, Session* s, Responses::iterator it);
  // Counts a kept response into the session's and the table's totals.
  void CountResponse(Session* s, uint64_t sequence, KeptResponse kept);
  void EvictWithinSession(WriteBatch* batch, uint64_t client_id, Session* s, uint64_t keep);
  void EvictSessions(WriteBatch* batch, uint64_t keep_client);
  bool OverGroupLimits() const;

  Engine* const engine_;
  const GroupId group_;
  const SessionLimits limits_;
  // All sessions of the group (std::map: iteration order is the same on every replica).
  std::map<uint64_t, Session> sessions_;
  // Eviction order: (written_at, client_id), smallest first; stored sessions only.
  std::set<std::pair<uint64_t, uint64_t>> lru_;
  uint64_t expired_through_ms_ = 0;  // see SessionTableRecord
  size_t response_count_ = 0;        // over all sessions
  uint64_t response_bytes_ = 0;      // over all sessions
};

}  // namespace ringkv::storage

#endif  // RINGKV_STORAGE_SESSION_TABLE_H_

// SessionPool: the client's exactly-once write sessions (Raft thesis 6.3). A session is a random
// non-zero 64-bit client id whose writes are numbered 1, 2, ...; every attempt of one write
// carries the same (client_id, sequence), and many writes of one session may be in flight.
// With each attempt the client also sends the session's *first incomplete* sequence, the lowest
// one whose call has not finished: the servers keep the answer of every applied sequence at or
// above it (so a retry of any applied write gets its original answer, however the attempts
// interleave) and forget those below it (storage/session_table.h).
//
// A call is complete once it finished, whatever the outcome (an "outcome unknown" write is never
// retried after its call ends). The span of a session (next sequence - first incomplete) bounds
// the answers the servers keep for it: a session takes a new write only while its span is below
// `max_span` (default 256, a quarter of the servers' 1024 responses per session); when every
// session is full, a new one is created. One slow write therefore holds back only its own
// session, and a client with thousands of writes in flight uses a few dozen sessions.
//
// Session ids come from std::random_device, never from ClientOptions::seed: two clients (or two
// runs of one program) with the same seed must not share a session, or one's writes would be
// answered with the other's cached results. A session also carries its start time (wall clock,
// ms since the Unix epoch): the servers refuse writes of a session they evicted, recognising it
// by a start at or before the latest evicted session's start (SESSION_EXPIRED); Expire() retires
// such a session, and later sessions start after that time.
//
// Thread-safety: not thread-safe; used only on the client's I/O thread.
#ifndef RINGKV_CLIENT_SESSION_POOL_H_
#define RINGKV_CLIENT_SESSION_POOL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <set>

namespace ringkv::client {

// One write's session: the client id and the sequence every attempt of this write carries.
struct WriteSession {
  uint64_t client_id = 0;
  uint64_t sequence = 0;
};

class SessionPool {
 public:
  static constexpr size_t kDefaultMaxSpan = 256;
  // Sources of session ids and start times; tests inject deterministic ones.
  struct Sources {
    std::function<uint64_t()> random_id;  // any 64-bit value (0 is skipped)
    std::function<uint64_t()> now_ms;     // wall clock, ms since the Unix epoch
  };
  static Sources DefaultSources();

  explicit SessionPool(size_t max_span = kDefaultMaxSpan, Sources sources = DefaultSources());

  // Takes the next sequence of a session with room (the most recently created one first).
  // Must be matched by one Complete().
  WriteSession Acquire();
  // The write `w` finished (any outcome): its session stops awaiting it.
  // REQUIRES: `w` came from Acquire() and was not completed.
  void Complete(const WriteSession& w);

  // The session's first incomplete sequence and start time, for the attempts of its writes.
  // REQUIRES: `client_id` came from Acquire() and has a write not yet completed.
  uint64_t FirstIncomplete(uint64_t client_id) const;
  uint64_t StartedMs(uint64_t client_id) const;

  // The servers no longer know session `client_id` (SESSION_EXPIRED naming the latest evicted
  // session's start): it takes no new writes, and new sessions start after
  // `expired_through_ms`. Unknown ids are ignored.
  void Expire(uint64_t client_id, uint64_t expired_through_ms);

  size_t session_count() const { return sessions_.size(); }
  size_t in_flight() const;

 private:
  struct Session {
    uint64_t started_ms = 0;
    uint64_t next_sequence = 1;
    std::set<uint64_t> in_flight;  // sequences acquired and not completed
    bool expired = false;          // takes no new writes; dropped when idle
    uint64_t FirstIncomplete() const {
      return in_flight.empty() ? next_sequence : *in_flight.begin();
    }
  };
  bool HasRoom(const Session& s) const;
  uint64_t NewSession();

  const size_t max_span_;
  const Sources sources_;
  std::map<uint64_t, Session> sessions_;  // by client id
  uint64_t current_ = 0;                  // the session new writes try first (0 = none)
  uint64_t min_started_ms_ = 0;           // new sessions start after this (Expire)
};

}  // namespace ringkv::client

#endif  // RINGKV_CLIENT_SESSION_POOL_H_

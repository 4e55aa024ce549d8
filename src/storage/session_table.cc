#include "storage/session_table.h"

#include <algorithm>

#include "common/status_macros.h"
#include "proto/storage.pb.h"
#include "storage/keys.h"
#include "storage/proto_io.h"

namespace ringkv::storage {

const char* SessionVerdictName(SessionVerdict v) {
  switch (v) {
    case SessionVerdict::kExecute: return "execute";
    case SessionVerdict::kCached: return "cached";
    case SessionVerdict::kBelowFirstIncomplete: return "below first incomplete";
    case SessionVerdict::kResponseEvicted: return "response evicted";
    case SessionVerdict::kSessionExpired: return "session expired";
  }
  return "?";
}

SessionTable::SessionTable(Engine* engine, GroupId group, SessionLimits limits)
    : engine_(engine), group_(group), limits_(limits) {}

Status SessionTable::Load() {
  sessions_.clear();
  lru_.clear();
  expired_through_ms_ = 0;
  response_count_ = 0;
  response_bytes_ = 0;
  std::unique_ptr<Iterator> it = engine_->NewIterator(Cf::kData, SessionRange(group_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::optional<SessionKeyParts> parts = DecodeSessionKey(group_, it->key());
    if (!parts) return Status::Corruption("malformed session key " + EscapeKey(it->key()));
    switch (parts->kind) {
      case SessionKeyParts::Kind::kTable: {
        storagepb::SessionTableRecord rec;
        RETURN_IF_ERROR(ParseRecordProto(it->key(), it->value(), &rec));
        expired_through_ms_ = rec.expired_through_ms();
        break;
      }
      case SessionKeyParts::Kind::kSession: {
        storagepb::SessionRecord rec;
        RETURN_IF_ERROR(ParseRecordProto(it->key(), it->value(), &rec));
        Session s;
        s.first_incomplete = rec.first_incomplete();
        // A record of the one-response format: its response is not kept (see storage.proto).
        s.evicted_through = std::max(rec.evicted_through(), rec.legacy_last_sequence());
        s.started_ms = rec.started_ms();
        s.written_at = rec.written_at();
        lru_.emplace(s.written_at, parts->client_id);
        Session& stored = sessions_[parts->client_id] = std::move(s);
        for (const storagepb::InlineResponse& r : rec.responses()) {
          CountResponse(&stored, r.sequence(),
                        KeptResponse{r.response().size(), true, r.response()});
        }
        break;
      }
      case SessionKeyParts::Kind::kResponse: {
        // Keys sort a session's record before its responses (keys.h).
        auto owner = sessions_.find(parts->client_id);
        if (owner == sessions_.end()) {
          return Status::Corruption("session response without its session at key " +
                                    EscapeKey(it->key()));
        }
        CountResponse(&owner->second, parts->sequence, KeptResponse{it->value().size(), false, {}});
        break;
      }
    }
  }
  return it->status();
}

SessionVerdict SessionTable::Admit(WriteBatch* batch, const SessionWrite& w, Index index) {
  auto found = sessions_.find(w.client_id);
  if (found == sessions_.end()) {
    // Unknown: new, or evicted whole. Every session evicted so far started at or before
    // expired_through_ms, so one that started later is new and cannot have applied anything.
    if (expired_through_ms_ != 0 && w.started_ms <= expired_through_ms_) {
      return SessionVerdict::kSessionExpired;
    }
    Session s;
    s.first_incomplete = std::min(w.first_incomplete, w.sequence);
    s.started_ms = w.started_ms;
    sessions_.emplace(w.client_id, std::move(s));  // stored by Record
    return SessionVerdict::kExecute;
  }
  Session& s = found->second;
  const uint64_t first_incomplete = std::min(w.first_incomplete, w.sequence);
  bool changed = false;
  if (first_incomplete > s.first_incomplete) {
    // Raft thesis 6.3: the client will never ask for these answers again.
    s.first_incomplete = first_incomplete;
    while (!s.responses.empty() && s.responses.begin()->first < first_incomplete) {
      DropResponse(batch, w.client_id, &s, s.responses.begin());
    }
    changed = true;
  }
  SessionVerdict v = SessionVerdict::kExecute;
  if (s.responses.count(w.sequence) != 0) {
    v = SessionVerdict::kCached;
  } else if (w.sequence < s.first_incomplete) {
    v = SessionVerdict::kBelowFirstIncomplete;
  } else if (s.evicted_through != 0 && w.sequence <= s.evicted_through) {
    v = SessionVerdict::kResponseEvicted;
  }
  if (changed && v != SessionVerdict::kExecute) PutSession(batch, w.client_id, &s, index);
  return v;
}

void SessionTable::Record(WriteBatch* batch, const SessionWrite& w, Index index,
                          std::string_view response) {
  Session& s = sessions_.at(w.client_id);
  KeptResponse kept{response.size(), false, {}};
  if (response.size() <= kMaxInlineResponseBytes && s.inlined < kMaxInlineResponses) {
    kept.inlined = true;
    kept.payload = response;  // stored by PutSession below
  } else {
    batch->Put(Cf::kData, SessionResponseKey(group_, w.client_id, w.sequence), response);
  }
  CountResponse(&s, w.sequence, std::move(kept));
  EvictWithinSession(batch, w.client_id, &s, w.sequence);
  PutSession(batch, w.client_id, &s, index);
  EvictSessions(batch, w.client_id);
}

void SessionTable::EvictWithinSession(WriteBatch* batch, uint64_t client_id, Session* s,
                                      uint64_t keep) {
  while (s->responses.size() > limits_.max_responses_per_session ||
         (s->bytes > limits_.max_response_bytes_per_session && s->responses.size() > 1)) {
    auto victim = s->responses.begin();
    if (victim->first == keep) ++victim;
    if (victim == s->responses.end()) break;
    s->evicted_through = std::max(s->evicted_through, victim->first);
    DropResponse(batch, client_id, s, victim);
  }
}

bool SessionTable::OverGroupLimits() const {
  return sessions_.size() > limits_.max_sessions || response_count_ > limits_.max_responses ||
         response_bytes_ > limits_.max_response_bytes;
}

void SessionTable::EvictSessions(WriteBatch* batch, uint64_t keep_client) {
  bool evicted = false;
  while (OverGroupLimits()) {
    auto victim = lru_.begin();
    if (victim != lru_.end() && victim->second == keep_client) ++victim;
    if (victim == lru_.end()) break;
    const uint64_t client_id = victim->second;
    Session& s = sessions_.at(client_id);
    while (!s.responses.empty()) DropResponse(batch, client_id, &s, s.responses.begin());
    expired_through_ms_ = std::max(expired_through_ms_, s.started_ms);
    batch->Delete(Cf::kData, SessionKey(group_, client_id));
    lru_.erase(victim);
    sessions_.erase(client_id);
    evicted = true;
  }
  if (evicted) {
    storagepb::SessionTableRecord rec;
    rec.set_expired_through_ms(expired_through_ms_);
    PutProto(batch, Cf::kData, SessionTableKey(group_), rec);
  }
}

void SessionTable::PutSession(WriteBatch* batch, uint64_t client_id, Session* s, Index index) {
  if (s->written_at != 0) lru_.erase({s->written_at, client_id});
  s->written_at = index.value();
  lru_.emplace(s->written_at, client_id);
  storagepb::SessionRecord rec;
  rec.set_written_at(s->written_at);
  rec.set_first_incomplete(s->first_incomplete);
  rec.set_evicted_through(s->evicted_through);
  rec.set_started_ms(s->started_ms);
  for (const auto& [sequence, kept] : s->responses) {
    if (!kept.inlined) continue;
    storagepb::InlineResponse* r = rec.add_responses();
    r->set_sequence(sequence);
    r->set_response(kept.payload);
  }
  PutProto(batch, Cf::kData, SessionKey(group_, client_id), rec);
}

void SessionTable::CountResponse(Session* s, uint64_t sequence, KeptResponse kept) {
  const uint64_t bytes = kept.bytes;
  const bool inlined = kept.inlined;
  auto [it, inserted] = s->responses.try_emplace(sequence, std::move(kept));
  if (!inserted) return;  // REQUIRES of Record: never kept before; Load: stored once
  s->bytes += bytes;
  s->inlined += inlined ? 1 : 0;
  ++response_count_;
  response_bytes_ += bytes;
}

void SessionTable::DropResponse(WriteBatch* batch, uint64_t client_id, Session* s,
                                Responses::iterator it) {
  if (it->second.inlined) {
    --s->inlined;
  } else {
    batch->Delete(Cf::kData, SessionResponseKey(group_, client_id, it->first));
  }
  s->bytes -= it->second.bytes;
  --response_count_;
  response_bytes_ -= it->second.bytes;
  s->responses.erase(it);
}

Result<std::optional<std::string>> SessionTable::ReadResponse(uint64_t client_id,
                                                              uint64_t sequence) const {
  auto found = sessions_.find(client_id);
  if (found == sessions_.end()) return std::optional<std::string>();
  auto kept = found->second.responses.find(sequence);
  if (kept == found->second.responses.end()) return std::optional<std::string>();
  if (kept->second.inlined) return std::optional<std::string>(kept->second.payload);
  return engine_->Get(Cf::kData, SessionResponseKey(group_, client_id, sequence));
}

std::optional<SessionTable::SessionInfo> SessionTable::Find(uint64_t client_id) const {
  auto found = sessions_.find(client_id);
  if (found == sessions_.end()) return std::nullopt;
  const Session& s = found->second;
  SessionInfo info{s.first_incomplete, s.evicted_through, s.started_ms, Index(s.written_at), {},
                   s.inlined};
  for (const auto& [seq, kept] : s.responses) info.sequences.push_back(seq);
  return info;
}

}  // namespace ringkv::storage

#include "raft/progress.h"

#include <algorithm>

namespace ringkv::raft {

const char* ProgressStateName(ProgressState s) {
  switch (s) {
    case ProgressState::kProbe: return "probe";
    case ProgressState::kReplicate: return "replicate";
    case ProgressState::kSnapshot: return "snapshot";
  }
  return "unknown";
}

void Progress::ResetState(ProgressState s) {
  msg_app_flow_paused = false;
  pending_snapshot = Index(0);
  state = s;
  inflights.Reset();
}

void Progress::BecomeProbe() {
  // After a snapshot the follower has at least the snapshot's index.
  if (state == ProgressState::kSnapshot) {
    Index pending = pending_snapshot;
    ResetState(ProgressState::kProbe);
    next = std::max(match + 1, pending + 1);
  } else {
    ResetState(ProgressState::kProbe);
    next = match + 1;
  }
}

void Progress::BecomeReplicate() {
  ResetState(ProgressState::kReplicate);
  next = match + 1;
}

void Progress::BecomeSnapshot(Index snapshot_index) {
  ResetState(ProgressState::kSnapshot);
  pending_snapshot = snapshot_index;
}

void Progress::SentEntries(size_t entries, uint64_t bytes) {
  switch (state) {
    case ProgressState::kReplicate:
      if (entries > 0) {
        next = next + entries;
        inflights.Add(next - 1, bytes);
      }
      msg_app_flow_paused = inflights.Full();
      break;
    case ProgressState::kProbe:
      if (entries > 0) msg_app_flow_paused = true;
      break;
    case ProgressState::kSnapshot:
      break;
  }
}

bool Progress::MaybeUpdate(Index n) {
  bool updated = false;
  if (match < n) {
    match = n;
    updated = true;
    msg_app_flow_paused = false;
  }
  next = std::max(next, n + 1);
  return updated;
}

bool Progress::MaybeDecrTo(Index rejected, Index match_hint) {
  if (state == ProgressState::kReplicate) {
    // A rejection below match is stale (an old, reordered message).
    if (rejected <= match) return false;
    next = match + 1;
    sent_commit = std::min(sent_commit, next - 1);
    return true;
  }
  // In probe, only a rejection of the probe we sent (at next - 1) counts.
  if (next - 1 != rejected) return false;
  next = std::max(std::min(rejected, match_hint + 1), match + 1);
  sent_commit = std::min(sent_commit, next - 1);
  msg_app_flow_paused = false;
  return true;
}

bool Progress::IsPaused() const {
  switch (state) {
    case ProgressState::kProbe:
    case ProgressState::kReplicate:
      return msg_app_flow_paused;
    case ProgressState::kSnapshot:
      return true;
  }
  return true;
}

std::string Progress::DebugString() const {
  std::string s = std::string(ProgressStateName(state)) + " match=" + std::to_string(match.value()) +
                  " next=" + std::to_string(next.value());
  if (is_learner) s += " learner";
  if (state == ProgressState::kSnapshot) s += " pending_snap=" + std::to_string(pending_snapshot.value());
  if (msg_app_flow_paused) s += " paused";
  return s;
}

}  // namespace ringkv::raft

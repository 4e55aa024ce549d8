// Status: the result of an operation that returns no value. Errors are values in RingKV: every
// module boundary returns Status or Result<T>, and exceptions never cross one.
//
// Thread-safety: a Status is an immutable value; distinct objects may be used from any thread.
//
// Public API: installed with the client library as <ringkv/status.h>; standard library only.
// Inside RingKV, "common/status.h" includes it.
#ifndef RINGKV_STATUS_H_
#define RINGKV_STATUS_H_

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

namespace ringkv {

// Codes follow absl's vocabulary, trimmed to what RingKV needs. Retry guidance for clients:
// kUnavailable / kNotLeader: retry the call; kAborted: retry the transaction;
// kFailedPrecondition: do not retry.
enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,
  kNotFound = 2,
  kAlreadyExists = 3,
  kFailedPrecondition = 4,
  kAborted = 5,
  kUnavailable = 6,
  kDeadlineExceeded = 7,
  kResourceExhausted = 8,
  kCorruption = 9,
  kIOError = 10,
  kNotLeader = 11,  // carries a leader hint (node id, 0 when unknown)
  kPermissionDenied = 12,  // the caller's identity may not do this; do not retry
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  // Creates an OK status. OK carries no allocation.
  Status() noexcept = default;
  Status(StatusCode code, std::string_view message);

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string_view msg) { return {StatusCode::kInvalidArgument, msg}; }
  static Status NotFound(std::string_view msg) { return {StatusCode::kNotFound, msg}; }
  static Status AlreadyExists(std::string_view msg) { return {StatusCode::kAlreadyExists, msg}; }
  static Status FailedPrecondition(std::string_view msg) {
    return {StatusCode::kFailedPrecondition, msg};
  }
  static Status Aborted(std::string_view msg) { return {StatusCode::kAborted, msg}; }
  static Status Unavailable(std::string_view msg) { return {StatusCode::kUnavailable, msg}; }
  static Status DeadlineExceeded(std::string_view msg) {
    return {StatusCode::kDeadlineExceeded, msg};
  }
  static Status ResourceExhausted(std::string_view msg) {
    return {StatusCode::kResourceExhausted, msg};
  }
  static Status Corruption(std::string_view msg) { return {StatusCode::kCorruption, msg}; }
  static Status IOError(std::string_view msg) { return {StatusCode::kIOError, msg}; }
  static Status PermissionDenied(std::string_view msg) {
    return {StatusCode::kPermissionDenied, msg};
  }
  // `leader_hint` is the id of the node believed to lead, 0 when unknown.
  static Status NotLeader(std::string_view msg, uint64_t leader_hint);

  bool ok() const { return state_ == nullptr; }
  StatusCode code() const { return state_ ? state_->code : StatusCode::kOk; }
  // Empty for OK.
  std::string_view message() const { return state_ ? std::string_view(state_->message) : ""; }
  // Meaningful for kNotLeader only; 0 otherwise.
  uint64_t leader_hint() const { return state_ ? state_->leader_hint : 0; }

  bool IsInvalidArgument() const { return code() == StatusCode::kInvalidArgument; }
  bool IsNotFound() const { return code() == StatusCode::kNotFound; }
  bool IsUnavailable() const { return code() == StatusCode::kUnavailable; }
  bool IsCorruption() const { return code() == StatusCode::kCorruption; }
  bool IsNotLeader() const { return code() == StatusCode::kNotLeader; }

  // "OK" or "<CodeName>: <message>".
  std::string ToString() const;

  // Marks a deliberately ignored error; callers must say why in a comment.
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code() == b.code() && a.message() == b.message();
  }

 private:
  struct State {
    StatusCode code;
    std::string message;
    uint64_t leader_hint = 0;
  };
  // Null for OK. Shared because a Status is immutable; copies are cheap.
  std::shared_ptr<const State> state_;
};

inline std::ostream& operator<<(std::ostream& os, const Status& s) { return os << s.ToString(); }

}  // namespace ringkv

#endif  // RINGKV_STATUS_H_

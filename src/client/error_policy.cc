#include "client/error_policy.h"

namespace ringkv::client {

Action Classify(const kvpb::Response& response) {
  if (!response.has_error()) return Action::kDone;
  const kvpb::Error& e = response.error();
  switch (e.code()) {
    case kvpb::OK:
    case kvpb::NOT_FOUND:
    case kvpb::CAS_FAILED:
      return Action::kDone;
    case kvpb::NOT_LEADER:
      return e.leader_address().empty() ? Action::kBackoffRotate : Action::kRedirect;
    case kvpb::NO_LEADER:
    case kvpb::WRONG_SHARD:
      return Action::kBackoffRotate;
    case kvpb::BUSY:
      return Action::kBackoffSame;
    case kvpb::UNAVAILABLE:
      return e.definite() ? Action::kBackoffRotate : Action::kRetryUnknown;
    case kvpb::INVALID_ARGUMENT:
    case kvpb::PERMISSION_DENIED:
      return Action::kFail;
    case kvpb::NO_SPACE:
      // An alarm clears when an operator frees space, not within one call's deadline: answer
      // at once (definite, retry later) instead of retrying until the deadline.
      return Action::kFail;
    case kvpb::SESSION_EXPIRED:
      return Action::kSessionExpired;
    case kvpb::TIMEOUT:
    case kvpb::INTERNAL:
    case kvpb::UNKNOWN_OUTCOME:
      // A server may still mark one of these definite (e.g. it timed out before proposing).
      return e.definite() ? Action::kBackoffRotate : Action::kRetryUnknown;
    default:
      // An error code newer than this client: safe only to assume nothing.
      return e.definite() ? Action::kBackoffRotate : Action::kRetryUnknown;
  }
}

Status FinalStatus(const kvpb::Error& error) {
  const std::string msg = DescribeError(error);
  switch (error.code()) {
    case kvpb::INVALID_ARGUMENT:
      return Status::InvalidArgument(msg);
    case kvpb::NOT_FOUND:
      return Status::NotFound(msg);
    case kvpb::CAS_FAILED:
      return Status::FailedPrecondition(msg);
    case kvpb::BUSY:
    case kvpb::NO_SPACE:
      return Status::ResourceExhausted(msg);
    case kvpb::PERMISSION_DENIED:
      return Status::PermissionDenied(msg);
    default:
      return Status::Unavailable(msg);
  }
}

std::string DescribeError(const kvpb::Error& error) {
  std::string s = kvpb::ErrorCode_Name(error.code());
  if (s.empty()) s = "error " + std::to_string(static_cast<int>(error.code()));
  if (!error.message().empty()) s += ": " + error.message();
  if (error.leader_hint() != 0) {
    s += " (leader n" + std::to_string(error.leader_hint());
    if (!error.leader_address().empty()) s += " at " + error.leader_address();
    s += ")";
  }
  return s;
}

}  // namespace ringkv::client

#include "errors.h"

namespace ringkv::kvctl {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return kExitOk;
    case StatusCode::kNotFound:
      return kExitNotFound;
    case StatusCode::kFailedPrecondition:
      return kExitPrecondition;
    case StatusCode::kUnavailable:
    case StatusCode::kNotLeader:
      return kExitUnavailable;
    case StatusCode::kDeadlineExceeded:
      return kExitDeadline;
    case StatusCode::kResourceExhausted:
    case StatusCode::kInvalidArgument:
      return kExitRejected;
    case StatusCode::kPermissionDenied:
      return kExitPermissionDenied;
    default:
      return kExitError;
  }
}

std::string ErrorLine(const Status& status, const ErrorContext& ctx) {
  std::string line = "Error: " + std::string(status.message());
  const std::string status_cmd = "kvctl cluster status --endpoints=" + ctx.endpoints;
  std::string next;
  if (!ctx.hint.empty()) return line + ". Try: " + ctx.hint;
  switch (status.code()) {
    case StatusCode::kUnavailable:
    case StatusCode::kNotLeader:
      next = "check that the nodes run and have a leader (" + status_cmd +
             "), or point --endpoints / KVCTL_ENDPOINTS at running nodes";
      break;
    case StatusCode::kDeadlineExceeded:
      next = ctx.is_write
                 ? "the write may or may not have been applied: read it back (kvctl get " +
                       ctx.key + ") before retrying; raise --command-timeout if the cluster is "
                       "slow (" + status_cmd + ")"
                 : "raise --command-timeout, or check the cluster (" + status_cmd + ")";
      break;
    case StatusCode::kResourceExhausted:
      next = status.message().find("NO_SPACE") != std::string_view::npos
                 ? "free disk space or raise --storage_quota_bytes on the node named above, "
                   "then check with kvctl alarm list (deletes still work)"
                 : "the cluster is shedding load: retry later or lower the request rate";
      break;
    case StatusCode::kInvalidArgument:
      next = "check the key and value sizes against the server's limits (kvd --help)";
      break;
    case StatusCode::kNotFound:
      next = "list keys with kvctl get --prefix <prefix> --keys-only";
      break;
    case StatusCode::kFailedPrecondition:
      next = "read the current value and version with kvctl get " + ctx.key + " -w json";
      break;
    case StatusCode::kPermissionDenied:
      next = "use a certificate whose user may do this (--cert/--key), or ask an administrator "
             "to grant it (kvctl role grant-permission ROLE read|readwrite PREFIX; kvctl user "
             "grant-role USER ROLE)";
      break;
    default:
      next = "rerun with --debug and report the output";
      break;
  }
  return line + ". Try: " + next;
}

}  // namespace ringkv::kvctl

// kvctl's exit-code table (shared/ux.md) and its error lines. Every error line says what failed,
// where (the library's messages name endpoints, attempts and elapsed time) and what to do next:
//   Error: put failed: cluster unavailable (5 attempts over 4.2s via 127.0.0.1:7001; last error:
//   NO_LEADER ...). Try: kvctl cluster status --endpoints=127.0.0.1:7001
//
// Thread-safety: pure functions.
#ifndef RINGKV_TOOLS_KVCTL_ERRORS_H_
#define RINGKV_TOOLS_KVCTL_ERRORS_H_

#include <string>

#include "common/status.h"

namespace ringkv::kvctl {

enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,          // generic / server error not covered below
  kExitUsage = 2,          // bad flags or arguments
  kExitNotFound = 3,       // single-key get of an absent key
  kExitPrecondition = 4,   // CAS / --if-* compare failed
  kExitUnavailable = 5,    // no endpoint reachable, no leader, quorum lost (after retries)
  kExitDeadline = 6,       // deadline exceeded (for writes: outcome unknown)
  kExitRejected = 7,       // overload, request too large / invalid for the server
  kExitPermissionDenied = 8,  // the user's roles do not allow it (docs/security.md)
  kExitInterrupted = 130,  // SIGINT
};

// The exit code for a final client Status. kInvalidArgument from the library means the server
// rejected the request (local usage errors exit 2 before any call), hence 7.
int ExitCodeFor(const Status& status);

// What the user was doing, for the "Try:" hint.
struct ErrorContext {
  std::string command;    // "put", "get", ...
  std::string key;        // escaped for display, may be empty
  std::string endpoints;  // the --endpoints value in effect
  bool is_write = false;
  std::string hint;  // when set, the "Try:" part (the caller knows better)
};

// One line (no trailing newline): "Error: <status message>. Try: <next step>".
std::string ErrorLine(const Status& status, const ErrorContext& ctx);

}  // namespace ringkv::kvctl

#endif  // RINGKV_TOOLS_KVCTL_ERRORS_H_

// Ctrl-C for kvctl's long-running commands (watch, lease keep-alive, lock, elect): SIGINT and
// SIGTERM set a flag the command polls, so it can clean up (cancel its watch, revoke its lease)
// and exit with 130 (shared/ux.md).
//
// Thread-safety: Install once from main's thread; Interrupted from any thread.
#ifndef RINGKV_TOOLS_KVCTL_INTERRUPT_H_
#define RINGKV_TOOLS_KVCTL_INTERRUPT_H_

#include <chrono>
#include <functional>

namespace ringkv::kvctl {

// Installs the handlers (idempotent).
void InstallInterruptHandler();
bool Interrupted();
// Waits until interrupted, `done()` is true, or `timeout` passed (checking every 50 ms);
// returns whether interrupted.
bool WaitInterruptible(const std::function<bool()>& done, std::chrono::milliseconds timeout);

}  // namespace ringkv::kvctl

#endif  // RINGKV_TOOLS_KVCTL_INTERRUPT_H_

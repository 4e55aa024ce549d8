// KvdProcess: one real `kvd` server process started by an integration test.
//
// The process is forked from the test, its stdout/stderr go to a log file, and it dies with the
// test: the destructor SIGKILLs and reaps a process still running, and the child is started with
// PR_SET_PDEATHSIG so even a crashed test binary leaves no kvd behind.
//
// Thread-safety: not thread-safe; owned and used by the test's main thread.
#ifndef RINGKV_TESTS_INTEGRATION_KVD_PROCESS_H_
#define RINGKV_TESTS_INTEGRATION_KVD_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace ringkv::integration {

class KvdProcess {
 public:
  // `binary`: path of kvd; `args`: its flags; `log_path`: file receiving stdout+stderr (appended
  // to, so a restarted node's log keeps the earlier run).
  KvdProcess(std::string binary, std::vector<std::string> args, std::string log_path);
  ~KvdProcess();  // Kill()s a process still running.
  KvdProcess(const KvdProcess&) = delete;
  KvdProcess& operator=(const KvdProcess&) = delete;

  // Starts the process, with `extra_args` after its flags for this run only (e.g. a
  // failpoint). FailedPrecondition when it is already running; IOError when fork or the log
  // file fails. Does not wait for the server to serve.
  Status Start(const std::vector<std::string>& extra_args = {});

  // Graceful stop: SIGTERM, wait up to `timeout` for exit, then SIGKILL. Returns the exit code
  // (128 + signal when killed by a signal), or nullopt when it was not running.
  std::optional<int> Stop(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // SIGKILL and reap. No-op when not running.
  void Kill();

  // SIGSTOP / SIGCONT: freezes the process (it neither sends nor answers anything, its sockets
  // stay open) and lets it go on. No-op when not running.
  void Pause();
  void Resume();

  // True while the process has not exited (reaps it if it has).
  bool Running();
  // Exit code of the last run once it ended (128 + signal when killed by one); nullopt while
  // running or before the first start. Reaps an exited process.
  std::optional<int> ExitCode() {
    if (Running()) return std::nullopt;
    return last_exit_;
  }
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  // The log file's contents (empty when unreadable).
  std::string ReadLog() const;
  // The last `lines` lines of the log.
  std::string LogTail(int lines) const;

 private:
  // Waits for exit up to `timeout`; returns the exit code if it exited.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);

  const std::string binary_;
  const std::vector<std::string> args_;
  const std::string log_path_;
  pid_t pid_ = -1;
  // Exit code of the last run (128 + signal if killed by one).
  std::optional<int> last_exit_;
};

}  // namespace ringkv::integration

#endif  // RINGKV_TESTS_INTEGRATION_KVD_PROCESS_H_

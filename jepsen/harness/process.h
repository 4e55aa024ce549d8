// Child processes for the harness: spawning a server with its output appended to a log file,
// running a short command (iptables) to completion, and signalling/reaping by pid.
//
// Thread-safety: the functions are thread-safe (no shared state); a pid must be reaped by one
// caller only.
#ifndef RINGKV_JEPSEN_HARNESS_PROCESS_H_
#define RINGKV_JEPSEN_HARNESS_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace ringkv::jepsen {

// Starts argv[0] (a path) with stdout and stderr appended to `log_path`, stdin from /dev/null,
// in its own process group. Returns the pid, or IOError when fork/exec setup fails.
Result<pid_t> SpawnLogged(const std::vector<std::string>& argv, const std::string& log_path);

// Runs argv (searched in PATH) to completion; returns its exit status (128+signal when killed)
// and puts stdout+stderr into *output when given.
Result<int> RunCommand(const std::vector<std::string>& argv, std::string* output = nullptr);

// Non-blocking reap: the exit description ("exit 0", "signal 9") when `pid` has ended, else
// nullopt.
std::optional<std::string> TryReap(pid_t pid);

// Blocking reap. Returns the exit description.
std::string Reap(pid_t pid);

}  // namespace ringkv::jepsen

#endif  // RINGKV_JEPSEN_HARNESS_PROCESS_H_

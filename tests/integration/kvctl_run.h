// RunKvctl: runs the kvctl binary of this build against a test cluster and captures its exit
// code, stdout and stderr (kept apart, so `-w json` output parses). RunShell: any command line,
// for the tests that drive curl, python3, cmake or kvctl through a shell.
//
// Thread-safety: safe from any thread (one child process per call).
#ifndef RINGKV_TESTS_INTEGRATION_KVCTL_RUN_H_
#define RINGKV_TESTS_INTEGRATION_KVCTL_RUN_H_

#include <string>

#include <nlohmann/json.hpp>

namespace ringkv::integration {

struct KvctlRun {
  int exit_code = -1;  // -1 when it did not exit normally
  std::string out;     // stdout
  std::string err;     // stderr
  // stdout as JSON (discarded when it is not JSON).
  nlohmann::json Json() const {
    return nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  }
};

// `kvctl --endpoints=<endpoints> <args>` (args as a shell would split them).
KvctlRun RunKvctl(const std::string& endpoints, const std::string& args);

struct ShellRun {
  int exit_code = -1;  // -1 when the shell could not start or did not exit normally
  std::string out;     // stdout (append " 2>&1" to the command for stderr too)
};

// Runs `cmd` with /bin/sh -c and waits for it.
ShellRun RunShell(const std::string& cmd);

}  // namespace ringkv::integration

#endif  // RINGKV_TESTS_INTEGRATION_KVCTL_RUN_H_

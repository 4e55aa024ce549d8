#include "integration/kvctl_run.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "integration/test_cluster.h"

namespace ringkv::integration {

ShellRun RunShell(const std::string& cmd) {
  ShellRun r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

KvctlRun RunKvctl(const std::string& endpoints, const std::string& args) {
  static std::atomic<int> seq{0};
  const std::string err_path = (std::filesystem::temp_directory_path() /
                                ("ringkv_kvctl_err_" + std::to_string(::getpid()) + "_" +
                                 std::to_string(seq.fetch_add(1))))
                                   .string();
  ShellRun sh = RunShell(KvctlBinary() + " --endpoints=" + endpoints + " " + args + " 2>" +
                         err_path);
  KvctlRun r;
  r.exit_code = sh.exit_code;
  r.out = std::move(sh.out);
  std::ifstream err(err_path);
  std::stringstream ss;
  ss << err.rdbuf();
  r.err = ss.str();
  std::filesystem::remove(err_path);
  return r;
}

}  // namespace ringkv::integration

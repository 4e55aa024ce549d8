#include "integration/kvd_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace ringkv::integration {

namespace {

int ExitCodeOf(int wstatus) {
  if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
  if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
  return -1;
}

}  // namespace

KvdProcess::KvdProcess(std::string binary, std::vector<std::string> args, std::string log_path)
    : binary_(std::move(binary)), args_(std::move(args)), log_path_(std::move(log_path)) {}

KvdProcess::~KvdProcess() { Kill(); }

Status KvdProcess::Start(const std::vector<std::string>& extra_args) {
  if (Running()) return Status::FailedPrecondition("kvd already running as pid " +
                                                   std::to_string(pid_));
  const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return Status::IOError("open " + log_path_ + ": " + std::strerror(errno));
  std::vector<std::string> argv_s;
  argv_s.push_back(binary_);
  argv_s.insert(argv_s.end(), args_.begin(), args_.end());
  argv_s.insert(argv_s.end(), extra_args.begin(), extra_args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return Status::IOError(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the test died before prctl
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    // The test blocks no signals we rely on, but make sure kvd starts with a clean mask.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  pid_ = pid;
  last_exit_.reset();
  return Status::OK();
}

std::optional<int> KvdProcess::WaitExit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return last_exit_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int wstatus = 0;
    const pid_t r = ::waitpid(pid_, &wstatus, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      last_exit_ = ExitCodeOf(wstatus);
      return last_exit_;
    }
    if (r < 0) {  // not our child any more (should not happen); treat as gone
      pid_ = -1;
      last_exit_ = -1;
      return last_exit_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling waitpid, not a sync
  }
}

bool KvdProcess::Running() {
  if (pid_ <= 0) return false;
  return !WaitExit(std::chrono::milliseconds(0)).has_value();
}

std::optional<int> KvdProcess::Stop(std::chrono::milliseconds timeout) {
  if (!Running()) return std::nullopt;
  ::kill(pid_, SIGTERM);
  if (auto code = WaitExit(timeout)) return code;
  Kill();
  return last_exit_;
}

void KvdProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::kill(pid_, SIGCONT);  // a paused process dies only once it runs again
  int wstatus = 0;
  while (::waitpid(pid_, &wstatus, 0) < 0 && errno == EINTR) {
  }
  last_exit_ = ExitCodeOf(wstatus);
  pid_ = -1;
}

void KvdProcess::Pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void KvdProcess::Resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

std::string KvdProcess::ReadLog() const {
  std::ifstream in(log_path_, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string KvdProcess::LogTail(int lines) const {
  const std::string log = ReadLog();
  size_t pos = log.size();
  // Skip a trailing newline, then step back over `lines` line breaks.
  if (pos > 0 && log[pos - 1] == '\n') --pos;
  for (int i = 0; i < lines && pos > 0; ++i) {
    const size_t nl = log.rfind('\n', pos - 1);
    if (nl == std::string::npos) return log;
    pos = nl;
  }
  return pos == 0 ? log : log.substr(pos + 1);
}

}  // namespace ringkv::integration

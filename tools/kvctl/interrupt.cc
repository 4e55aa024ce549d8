#include "interrupt.h"

#include <csignal>
#include <thread>

namespace ringkv::kvctl {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void OnSignal(int) { g_interrupted = 1; }

}  // namespace

void InstallInterruptHandler() {
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
}

bool Interrupted() { return g_interrupted != 0; }

bool WaitInterruptible(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!Interrupted()) {
    if (done && done()) return false;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    // A signal handler can only set a flag, so the flag is polled; 50 ms is below what a person
    // notices after Ctrl-C.
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(50), deadline - now));
  }
  return true;
}

}  // namespace ringkv::kvctl

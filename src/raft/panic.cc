#include "raft/panic.h"

#include <cstdio>
#include <cstdlib>

namespace ringkv::raft {
namespace {

PanicHandler g_panic_handler = nullptr;

}  // namespace

void SetPanicHandlerForTesting(PanicHandler handler) { g_panic_handler = handler; }

void Panic(Logger* logger, const std::string& message) {
  if (logger != nullptr) logger->Log(LogLevel::kError, message);
  if (g_panic_handler != nullptr) g_panic_handler(message);
  std::fprintf(stderr, "raft panic: %s\n", message.c_str());
  std::abort();
}

}  // namespace ringkv::raft

#include "raft/panic.h"

#include <cstdio>
#include <cstdlib>

namespace ringkv::raft {

void Panic(Logger* logger, const std::string& message) {
  if (logger != nullptr) logger->Log(LogLevel::kError, message);
  std::fprintf(stderr, "raft panic: %s\n", message.c_str());
  std::abort();
}

}  // namespace ringkv::raft

// Logger: how the pure Raft core reports state changes without depending on glog. The server
// supplies a glog-backed implementation; tests and the simulation use a silent or buffering one.
//
// Thread-safety: called only from the thread that drives the RawNode.
#ifndef RINGKV_RAFT_LOGGER_H_
#define RINGKV_RAFT_LOGGER_H_

#include <string_view>

namespace ringkv::raft {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

class Logger {
 public:
  virtual ~Logger() = default;
  virtual void Log(LogLevel level, std::string_view message) = 0;
};

// Discards everything. The default when Config::logger is null.
class NullLogger final : public Logger {
 public:
  void Log(LogLevel, std::string_view) override {}
};

}  // namespace ringkv::raft

#endif  // RINGKV_RAFT_LOGGER_H_

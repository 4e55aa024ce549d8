// Fail-stop for broken invariants inside the pure core, which cannot use glog: the message goes
// to the configured Logger (and stderr), then the process aborts (style.md, tier 2 errors).
#ifndef RINGKV_RAFT_PANIC_H_
#define RINGKV_RAFT_PANIC_H_

#include <cstdint>
#include <string>

#include "raft/logger.h"

namespace ringkv::raft {

[[noreturn]] void Panic(Logger* logger, const std::string& message);

// Decimal text of a number, for log and panic messages.
inline std::string Str(uint64_t v) { return std::to_string(v); }

}  // namespace ringkv::raft

#endif  // RINGKV_RAFT_PANIC_H_

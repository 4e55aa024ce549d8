// Fail-stop for broken invariants inside the pure core, which cannot use glog: the message goes
// to the configured Logger (and stderr), then the process aborts (style.md, tier 2 errors).
#ifndef RINGKV_RAFT_PANIC_H_
#define RINGKV_RAFT_PANIC_H_

#include <cstdint>
#include <string>

#include "raft/logger.h"

namespace ringkv::raft {

[[noreturn]] void Panic(Logger* logger, const std::string& message);

// Test-only: Panic calls `handler` (after logging) instead of aborting. The handler must not
// return (the simulation throws, ending the seed it runs, and goes on with the next seed); if
// it does, Panic aborts as usual. nullptr restores the default. Not thread-safe: set it before
// any core runs.
using PanicHandler = void (*)(const std::string& message);
void SetPanicHandlerForTesting(PanicHandler handler);

// Decimal text of a number, for log and panic messages.
inline std::string Str(uint64_t v) { return std::to_string(v); }

}  // namespace ringkv::raft

#endif  // RINGKV_RAFT_PANIC_H_

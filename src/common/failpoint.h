// Failpoints: named places in production code where a test injects a fault. This is RingKV's
// one fault-injection seam (issue 12; LevelDB's tests wrap `Env`, FoundationDB has BUGGIFY,
// TiKV fail-rs): code that can fail in the field calls
//
//   RETURN_IF_ERROR(failpoint::Hit(storage::kFpInstallAfterMarker));
//
// at the place, and a test arms the point by name to make it fail there. Points are compiled
// into every build and inert until armed: an unarmed Hit is one relaxed atomic load and
// returns OK, so the code the tests crash is the code that ships (a test-only build option
// would double the builds and test a different binary). Nothing in kvd arms a point; only test
// code (Arm) and kvd_buggy's --test_failpoints flag (ArmFromSpec) do.
//
// Each module declares its point names next to the code that hits them (e.g. storage/snapshot.h
// lists the snapshot install sequence in order), so a test can walk every point.
//
// Bug points: the same seam re-injects known bugs, so the simulations and the Jepsen teeth can
// prove they catch them (issue 12). Code that once had a bug asks at the place of the fix
//
//   if (failpoint::Injected(kBugStaleReads)) { ...the old, wrong behaviour... }
//
// and a test arms the point with Action::kInject (kvd_buggy: --test_inject_bug). An unarmed
// Injected is one relaxed atomic load that returns false (bug points have their own count, so
// armed fault points do not slow it down); the pure Raft core may ask it too. Bug point names
// start with "bug." (`replica::kBugStaleReads = "bug.replica.stale_reads"`) and are declared
// next to the code, with what the injected behaviour is and which fix it undoes.
//
// Thread-safety: every function may be called from any thread. Arming is process-wide: in a
// test that runs several nodes in one process, a callback action can decide per caller.
#ifndef RINGKV_COMMON_FAILPOINT_H_
#define RINGKV_COMMON_FAILPOINT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace ringkv::failpoint {

// What an armed point does when it fires.
enum class Action {
  // Returns IOError("failpoint <name> fired"): the caller's error path runs, as for a failed
  // disk write. In-process crash tests stop a sequence this way, then drop unsynced data.
  kError,
  // Kills the process at once with SIGKILL, exactly like `kill -9`: no destructors, no
  // atexit handlers, no flush of user-space buffers, no core file. One line naming the point
  // is written to stderr first, so a test can tell the crash it asked for from a real one.
  kCrash,
  // Marks a bug point injected: Injected(name) returns true once `skip` asks have passed.
  // Hit on such a point returns OK (a bug point is not a fault: it changes what code does).
  kInject,
};

// Arms `name`: the first `skip` hits pass, every later hit fires `action` (a crash fires once,
// obviously). Re-arming a point replaces its previous arming and resets its hit count.
void Arm(std::string_view name, Action action, uint64_t skip = 0);
// Arms `name` with a callback run at every hit; Hit returns what it returns. For tests that
// need more than an error or a crash (count, block, decide per node).
void ArmCallback(std::string_view name, std::function<Status()> fn);
void Disarm(std::string_view name);
void DisarmAll();

// Arms points from a spec, as kvd_buggy's --test_failpoints flag gives it:
//   <name>=<action>[@<n>][,<name>=<action>[@<n>]...]     action: crash | error | inject
// `@n` fires at the n-th hit (1-based; default 1), i.e. skip = n - 1. InvalidArgument on a
// malformed spec, naming the bad part; nothing is armed then.
Status ArmFromSpec(std::string_view spec);

// How many times `name` was hit (or, for a bug point, asked) while armed. 0 for an unarmed
// point.
uint64_t HitCount(std::string_view name);

namespace internal {
// Number of armed points; Hit's fast path. Changed only under the registry's mutex.
inline std::atomic<int> armed_points{0};
// Number of points armed with Action::kInject; Injected's fast path. Same.
inline std::atomic<int> armed_bugs{0};
Status HitSlow(std::string_view name);
bool InjectedSlow(std::string_view name);
}  // namespace internal

// The point `name` is reached. OK unless it is armed (see Action).
inline Status Hit(std::string_view name) {
  if (internal::armed_points.load(std::memory_order_relaxed) == 0) return Status::OK();
  return internal::HitSlow(name);
}

// Whether bug point `name` is injected: armed with Action::kInject (past its skip). False for
// a point armed with any other action.
inline bool Injected(std::string_view name) {
  if (internal::armed_bugs.load(std::memory_order_relaxed) == 0) return false;
  return internal::InjectedSlow(name);
}

// Disarms every point when it goes out of scope (tests: no arming leaks into the next test).
class ScopedDisarmAll {
 public:
  ScopedDisarmAll() = default;
  ~ScopedDisarmAll() { DisarmAll(); }
  ScopedDisarmAll(const ScopedDisarmAll&) = delete;
  ScopedDisarmAll& operator=(const ScopedDisarmAll&) = delete;
};

}  // namespace ringkv::failpoint

#endif  // RINGKV_COMMON_FAILPOINT_H_

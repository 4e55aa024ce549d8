#include "common/failpoint.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "common/thread_annotations.h"

namespace ringkv::failpoint {
namespace {

struct Armed {
  Action action = Action::kError;
  uint64_t skip = 0;           // hits that pass before it fires
  std::function<Status()> fn;  // set: a callback point (action and skip unused)
  uint64_t hits = 0;           // hits since armed
};

class Registry {
 public:
  void Set(std::string_view name, Armed a) {
    std::lock_guard<std::mutex> l(mu_);
    points_[std::string(name)] = std::move(a);
    Count();
  }
  void Erase(std::string_view name) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = points_.find(name);
    if (it != points_.end()) points_.erase(it);
    Count();
  }
  void Clear() {
    std::lock_guard<std::mutex> l(mu_);
    points_.clear();
    Count();
  }
  bool Injected(std::string_view name) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = points_.find(name);
    if (it == points_.end() || it->second.fn || it->second.action != Action::kInject) return false;
    return ++it->second.hits > it->second.skip;
  }
  uint64_t Hits(std::string_view name) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = points_.find(name);
    return it == points_.end() ? 0 : it->second.hits;
  }
  Status Hit(std::string_view name) {
    std::function<Status()> fn;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = points_.find(name);
      if (it == points_.end()) return Status::OK();
      Armed& a = it->second;
      ++a.hits;
      if (a.fn) {
        fn = a.fn;  // run outside the lock: the callback may arm or disarm points
      } else if (a.action == Action::kInject) {
        return Status::OK();  // a bug point: asked with Injected, never a fault
      } else if (a.hits > a.skip) {
        if (a.action == Action::kCrash) Crash(name);
        return Status::IOError("failpoint " + std::string(name) + " fired");
      } else {
        return Status::OK();
      }
    }
    return fn();
  }

 private:
  [[noreturn]] static void Crash(std::string_view name) {
    std::fprintf(stderr, "failpoint %.*s fired: killing the process (SIGKILL)\n",
                 static_cast<int>(name.size()), name.data());
    std::fflush(stderr);
    std::raise(SIGKILL);
    std::_Exit(128 + SIGKILL);  // not reached
  }

  // Publishes the fast paths' counts. REQUIRES: mu_ held.
  void Count() {
    int bugs = 0;
    for (const auto& [name, a] : points_) bugs += !a.fn && a.action == Action::kInject ? 1 : 0;
    internal::armed_points.store(static_cast<int>(points_.size()), std::memory_order_relaxed);
    internal::armed_bugs.store(bugs, std::memory_order_relaxed);
  }

  std::mutex mu_;
  // State below is protected by mu_.
  std::map<std::string, Armed, std::less<>> points_ GUARDED_BY(mu_);
};

Registry& TheRegistry() {
  static Registry* r = new Registry();  // never destroyed: points may be hit during exit
  return *r;
}

}  // namespace

void Arm(std::string_view name, Action action, uint64_t skip) {
  Armed a;
  a.action = action;
  a.skip = skip;
  TheRegistry().Set(name, std::move(a));
}

void ArmCallback(std::string_view name, std::function<Status()> fn) {
  Armed a;
  a.fn = std::move(fn);
  TheRegistry().Set(name, std::move(a));
}

void Disarm(std::string_view name) { TheRegistry().Erase(name); }
void DisarmAll() { TheRegistry().Clear(); }
uint64_t HitCount(std::string_view name) { return TheRegistry().Hits(name); }

Status ArmFromSpec(std::string_view spec) {
  struct Parsed {
    std::string name;
    Action action;
    uint64_t skip;
  };
  std::vector<Parsed> parsed;
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    const std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Status::InvalidArgument("failpoint spec '" + std::string(item) +
                                     "' is not <name>=<action>[@<n>]");
    }
    Parsed p{std::string(item.substr(0, eq)), Action::kError, 0};
    std::string_view action = item.substr(eq + 1);
    const size_t at = action.find('@');
    if (at != std::string_view::npos) {
      const std::string n(action.substr(at + 1));
      char* end = nullptr;
      const unsigned long long v = std::strtoull(n.c_str(), &end, 10);
      if (n.empty() || *end != '\0' || v == 0) {
        return Status::InvalidArgument("failpoint spec '" + std::string(item) +
                                       "': @<n> must be a positive hit number");
      }
      p.skip = v - 1;
      action = action.substr(0, at);
    }
    if (action == "crash") {
      p.action = Action::kCrash;
    } else if (action == "error") {
      p.action = Action::kError;
    } else if (action == "inject") {
      p.action = Action::kInject;
    } else {
      return Status::InvalidArgument("failpoint spec '" + std::string(item) +
                                     "': action must be crash, error or inject");
    }
    parsed.push_back(std::move(p));
  }
  for (const Parsed& p : parsed) Arm(p.name, p.action, p.skip);
  return Status::OK();
}

namespace internal {
Status HitSlow(std::string_view name) { return TheRegistry().Hit(name); }
bool InjectedSlow(std::string_view name) { return TheRegistry().Injected(name); }
}  // namespace internal

}  // namespace ringkv::failpoint

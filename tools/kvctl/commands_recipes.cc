// lock and elect: etcdctl's recipes (etcd clientv3/concurrency Mutex and Election) on leases.
//
// Each contender grants a lease on the shard of the name's hash tag and writes the key
// "{<name>}/<lease id>" attached to it, once (so its version is the order it arrived in). The
// contender whose key has the lowest version holds the lock (leads); every other waits for the
// deletion of the key just before its own — never for the holder's, so a release wakes one
// waiter, not all (etcd's waitDeletes). A contender that dies stops its keep-alives, its lease
// expires and its key goes: the next in line proceeds. The hash tag keeps every key of one name
// on one shard, so versions order them and the scan and watches touch one shard.
#include <spawn.h>
#include <sys/wait.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "commands.h"
#include "errors.h"
#include "format.h"
#include "interrupt.h"
#include "txn_parse.h"

extern char** environ;

namespace ringkv::kvctl {
namespace {

client::CallOptions RecipeCall(const GlobalOptions& g, uint64_t lease = 0) {
  client::CallOptions o;
  o.timeout = g.command_timeout;
  o.lease = lease;
  return o;
}

int RecipeFail(const Status& st, const GlobalOptions& g, const std::string& cmd, Streams& s) {
  s.err << ErrorLine(st, ErrorContext{cmd, "", g.EndpointsString(), true, ""}) << "\n";
  return ExitCodeFor(st);
}

// A lease kept alive by a background thread until Stop (which revokes it).
class HeldLease {
 public:
  HeldLease(client::Client& c, const GlobalOptions& g, uint64_t id, std::chrono::milliseconds ttl)
      : c_(c), g_(g), id_(id), ttl_(ttl), thread_([this] { Run(); }) {}
  ~HeldLease() { Stop(/*revoke=*/true); }

  // Whether keep-alives still succeed (false once the lease is gone).
  bool alive() const { return alive_.load(); }
  uint64_t id() const { return id_; }

  void Stop(bool revoke) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stopped_) return;
      stopped_ = true;
    }
    cv_.notify_all();
    thread_.join();
    // Best effort: if it fails the lease still expires after its TTL.
    if (revoke) c_.LeaseRevoke(id_, RecipeCall(g_)).status().IgnoreError();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> l(mu_);
    while (!stopped_) {
      cv_.wait_for(l, ttl_ / 3, [this] { return stopped_; });
      if (stopped_) return;
      l.unlock();
      Result<std::chrono::milliseconds> r = c_.LeaseKeepAlive(id_, RecipeCall(g_));
      l.lock();
      if (!r.ok() && r.status().IsNotFound()) {
        alive_ = false;
        return;
      }
    }
  }

  client::Client& c_;
  const GlobalOptions& g_;
  const uint64_t id_;
  const std::chrono::milliseconds ttl_;
  std::atomic<bool> alive_{true};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;  // guarded by mu_
  std::thread thread_;
};

struct Contender {
  std::string prefix;  // "{name}/"
  std::string key;     // prefix + lease id
  uint64_t version = 0;
};

// Grants the lease and writes our key; the lease is kept alive from here on.
Result<Contender> Enter(client::Client& c, const GlobalOptions& g, const std::string& name,
                        const std::string& value, std::chrono::milliseconds ttl,
                        std::unique_ptr<HeldLease>* held) {
  Contender me;
  me.prefix = "{" + name + "}/";
  Result<client::Lease> lease = c.LeaseGrant(ttl, me.prefix, RecipeCall(g));
  if (!lease.ok()) return lease.status();
  *held = std::make_unique<HeldLease>(c, g, lease->id, lease->ttl);
  me.key = me.prefix + FormatLeaseId(lease->id);
  Result<client::CasResult> put =
      c.CompareAndSwap(me.key, client::Expect::Absent(), value, RecipeCall(g, lease->id));
  if (!put.ok()) return put.status();
  // A retried write that had applied finds its own key: its version is still ours.
  me.version = put->succeeded ? put->version : put->current->version;
  return me;
}

// Waits until no key under the prefix is older than ours. Returns false when interrupted or
// the lease was lost.
Result<bool> WaitForTurn(client::Client& c, const GlobalOptions& g, const Contender& me,
                         const HeldLease& lease) {
  while (true) {
    Result<client::ScanResult> keys =
        c.Scan(me.prefix, PrefixEnd(me.prefix), client::ScanOptions{}, RecipeCall(g));
    if (!keys.ok()) return keys.status();
    const client::KeyValue* pred = nullptr;
    for (const client::KeyValue& kv : keys->kvs) {
      if (kv.version < me.version && (pred == nullptr || kv.version > pred->version)) pred = &kv;
    }
    if (pred == nullptr) return true;
    // Wait for the predecessor's deletion (from its version on, so none is missed).
    std::mutex mu;
    bool gone = false;
    client::WatchOptions o;
    o.from_version = pred->version + 1;
    Result<std::unique_ptr<client::WatchHandle>> w = c.Watch(
        pred->key, o,
        [&](const client::WatchUpdate& u) {
          for (const auto& e : u.events) {
            if (e.type == client::WatchEvent::Type::kDelete) {
              std::lock_guard<std::mutex> l(mu);
              gone = true;
            }
          }
        },
        [&](const client::WatchEnd&) {
          std::lock_guard<std::mutex> l(mu);
          gone = true;  // re-scan: the scan tells what is true now
        });
    if (!w.ok()) return w.status();
    const bool interrupted = WaitInterruptible(
        [&] {
          std::lock_guard<std::mutex> l(mu);
          return gone || !lease.alive();
        },
        std::chrono::hours(24 * 365));
    (*w)->Cancel();
    if (interrupted || !lease.alive()) return false;
  }
}

int RunCommand(const std::vector<std::string>& command, const std::string& key) {
  std::vector<char*> argv;
  for (const std::string& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // The held key for the command, as etcdctl's ETCD_LOCK_KEY.
  setenv("KVCTL_LOCK_KEY", key.c_str(), 1);
  pid_t pid = 0;
  if (posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) {
    return kExitError;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : kExitError;
}

}  // namespace

int RunLock(client::Client& c, const GlobalOptions& g, const LockArgs& a, Streams& s) {
  InstallInterruptHandler();
  std::unique_ptr<HeldLease> lease;
  Result<Contender> me = Enter(c, g, a.name, "", a.ttl, &lease);
  if (!me.ok()) return RecipeFail(me.status(), g, "lock", s);
  Result<bool> turn = WaitForTurn(c, g, *me, *lease);
  if (!turn.ok()) return RecipeFail(turn.status(), g, "lock", s);
  if (!*turn) {
    if (!lease->alive()) s.err << "Error: lost the lease while waiting for lock " << a.name << "\n";
    return lease->alive() ? kExitInterrupted : kExitError;
  }
  s.out << me->key << "\n" << std::flush;
  if (!a.command.empty()) {
    int rc = RunCommand(a.command, me->key);
    lease->Stop(/*revoke=*/true);
    return rc;
  }
  WaitInterruptible([&] { return !lease->alive(); }, std::chrono::hours(24 * 365 * 100));
  if (!lease->alive()) {
    s.err << "Error: lock " << a.name << " lost: its lease expired (keep-alives failed)\n";
    return kExitError;
  }
  lease->Stop(/*revoke=*/true);  // releases the lock
  return kExitInterrupted;
}

namespace {

// elect --listen: prints the leader's proposal whenever the leader changes.
int ListenElection(client::Client& c, const GlobalOptions& g, const std::string& name,
                   Streams& s) {
  const std::string prefix = "{" + name + "}/";
  std::mutex mu;
  std::condition_variable cv;
  bool changed = true;
  std::optional<client::WatchEnd> ended;
  // Every change under the prefix from now on makes us look again; the first look is a scan.
  client::WatchOptions o;
  o.prefix = true;
  Result<std::unique_ptr<client::WatchHandle>> w = c.Watch(
      prefix, o,
      [&](const client::WatchUpdate& u) {
        if (u.events.empty() && !u.created) return;
        std::lock_guard<std::mutex> l(mu);
        changed = true;
      },
      [&](const client::WatchEnd& e) {
        std::lock_guard<std::mutex> l(mu);
        ended = e;
      });
  if (!w.ok()) return RecipeFail(w.status(), g, "elect", s);
  std::string leader_key;
  while (true) {
    const bool interrupted = WaitInterruptible(
        [&] {
          std::lock_guard<std::mutex> l(mu);
          return changed || ended.has_value();
        },
        std::chrono::hours(24 * 365 * 100));
    if (interrupted) return kExitInterrupted;
    {
      std::lock_guard<std::mutex> l(mu);
      if (ended) return RecipeFail(ended->status, g, "elect", s);
      changed = false;
    }
    Result<client::ScanResult> keys = c.Scan(prefix, PrefixEnd(prefix), {}, RecipeCall(g));
    if (!keys.ok()) return RecipeFail(keys.status(), g, "elect", s);
    const client::KeyValue* leader = nullptr;
    for (const auto& kv : keys->kvs) {
      if (leader == nullptr || kv.version < leader->version) leader = &kv;
    }
    if (leader != nullptr && leader->key != leader_key) {
      leader_key = leader->key;
      s.out << Show(leader->key, g.hex) << "\n" << Show(leader->value, g.hex) << "\n"
            << std::flush;
    }
  }
}

}  // namespace

int RunElect(client::Client& c, const GlobalOptions& g, const ElectArgs& a, Streams& s) {
  InstallInterruptHandler();
  if (a.listen) return ListenElection(c, g, a.name, s);
  std::unique_ptr<HeldLease> lease;
  Result<Contender> me = Enter(c, g, a.name, *a.proposal, a.ttl, &lease);
  if (!me.ok()) return RecipeFail(me.status(), g, "elect", s);
  Result<bool> turn = WaitForTurn(c, g, *me, *lease);
  if (!turn.ok()) return RecipeFail(turn.status(), g, "elect", s);
  if (!*turn) return lease->alive() ? kExitInterrupted : kExitError;
  s.out << Show(me->key, g.hex) << "\n" << Show(*a.proposal, g.hex) << "\n" << std::flush;
  WaitInterruptible([&] { return !lease->alive(); }, std::chrono::hours(24 * 365 * 100));
  if (!lease->alive()) {
    s.err << "Error: leadership of " << a.name << " lost: its lease expired\n";
    return kExitError;
  }
  lease->Stop(/*revoke=*/true);  // resigns
  return kExitInterrupted;
}

}  // namespace ringkv::kvctl

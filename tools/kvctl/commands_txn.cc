// txn and lease.
#include <nlohmann/json.hpp>

#include "commands.h"
#include "errors.h"
#include "format.h"
#include "interrupt.h"
#include "txn_parse.h"

namespace ringkv::kvctl {
namespace {

using nlohmann::json;

client::CallOptions TxnCall(const GlobalOptions& g) {
  client::CallOptions o;
  o.timeout = g.command_timeout;
  return o;
}

int TxnFail(const Status& st, const GlobalOptions& g, const std::string& cmd, bool is_write,
         Streams& s, std::string hint = "") {
  ErrorContext ctx{cmd, "", g.EndpointsString(), is_write, std::move(hint)};
  s.err << ErrorLine(st, ctx) << "\n";
  return ExitCodeFor(st);
}

std::string Seconds(std::chrono::milliseconds d) {
  const long long ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1fs", static_cast<double>(ms) / 1000.0);
  return buf;
}

const char* kLeaseHint = "list a lease's keys with kvctl lease timetolive <id> --keys";

}  // namespace

int RunTxn(client::Client& c, const GlobalOptions& g, bool interactive, Streams& s) {
  Result<client::Txn> txn = ParseTxn(s.in, interactive ? &s.out : nullptr);
  if (!txn.ok()) {
    s.err << "Error: " << txn.status().message() << ". Try: kvctl txn --help\n";
    return kExitUsage;
  }
  Result<client::TxnResult> r = c.Commit(*txn, TxnCall(g));
  if (!r.ok()) {
    return TxnFail(r.status(), g, "txn", true, s,
                r.status().IsInvalidArgument()
                    ? "keep a transaction's keys on one shard with a hash tag ({user42}/...) and "
                      "within the server's limits (kvd --help: --max_txn_ops, --max_key_bytes)"
                    : "");
  }
  if (g.format == OutputFormat::kJson) {
    json results = json::array();
    for (const client::TxnOpResult& op : r->results) {
      switch (op.kind) {
        case client::TxnOp::Kind::kPut:
          results.push_back(json{{"put", {{"version", r->version}}}});
          break;
        case client::TxnOp::Kind::kDelete:
          results.push_back(json{{"delete", {{"deleted", op.deleted ? 1 : 0}}}});
          break;
        case client::TxnOp::Kind::kGet: {
          json kv = nullptr;
          if (op.kv) {
            kv = json::object();
            SetBytes(kv, "key", op.kv->key);
            SetBytes(kv, "value", op.kv->value);
            kv["version"] = op.kv->version;
          }
          results.push_back(json{{"get", kv}});
          break;
        }
      }
    }
    s.out << json{{"succeeded", r->succeeded}, {"version", r->version}, {"results", results}}.dump()
          << "\n";
    return kExitOk;
  }
  // As etcdctl: the branch, then each operation's output after a blank line.
  s.out << (r->succeeded ? "SUCCESS" : "FAILURE") << "\n";
  for (const client::TxnOpResult& op : r->results) {
    s.out << "\n";
    switch (op.kind) {
      case client::TxnOp::Kind::kPut: s.out << "OK\n"; break;
      case client::TxnOp::Kind::kDelete: s.out << (op.deleted ? 1 : 0) << "\n"; break;
      case client::TxnOp::Kind::kGet:
        if (op.kv) s.out << Show(op.kv->key, g.hex) << "\n" << Show(op.kv->value, g.hex) << "\n";
        break;
    }
  }
  return kExitOk;
}

int RunLeaseGrant(client::Client& c, const GlobalOptions& g, std::chrono::milliseconds ttl,
                  const std::string& shard_key, Streams& s) {
  Result<client::Lease> l = c.LeaseGrant(ttl, shard_key, TxnCall(g));
  if (!l.ok()) {
    return TxnFail(l.status(), g, "lease grant", true, s,
                l.status().IsInvalidArgument() ? "choose a TTL within the server's bounds "
                                                 "(kvd --min_lease_ttl_ms, --max_lease_ttl_ms)"
                                               : "");
  }
  if (g.format == OutputFormat::kJson) {
    s.out << json{{"id", FormatLeaseId(l->id)}, {"ttl_ms", l->ttl.count()}}.dump() << "\n";
  } else {
    s.out << "lease " << FormatLeaseId(l->id) << " granted with TTL(" << Seconds(l->ttl) << ")\n";
  }
  return kExitOk;
}

int RunLeaseRevoke(client::Client& c, const GlobalOptions& g, uint64_t lease, Streams& s) {
  Result<uint32_t> n = c.LeaseRevoke(lease, TxnCall(g));
  if (!n.ok()) return TxnFail(n.status(), g, "lease revoke", true, s, kLeaseHint);
  if (g.format == OutputFormat::kJson) {
    s.out << json{{"id", FormatLeaseId(lease)}, {"deleted", *n}}.dump() << "\n";
  } else {
    s.out << "lease " << FormatLeaseId(lease) << " revoked (" << *n << " keys deleted)\n";
  }
  return kExitOk;
}

int RunLeaseKeepAlive(client::Client& c, const GlobalOptions& g, uint64_t lease, bool once,
                      Streams& s) {
  InstallInterruptHandler();
  while (true) {
    Result<std::chrono::milliseconds> ttl = c.LeaseKeepAlive(lease, TxnCall(g));
    if (!ttl.ok()) return TxnFail(ttl.status(), g, "lease keep-alive", false, s, kLeaseHint);
    if (g.format == OutputFormat::kJson) {
      s.out << json{{"id", FormatLeaseId(lease)}, {"ttl_ms", ttl->count()}}.dump() << "\n";
    } else {
      s.out << "lease " << FormatLeaseId(lease) << " keepalived with TTL(" << Seconds(*ttl)
            << ")\n";
    }
    s.out.flush();
    if (once) return kExitOk;
    // A third of the TTL, as etcd's client: two more tries before the lease can expire.
    if (WaitInterruptible(nullptr, *ttl / 3)) return kExitInterrupted;
  }
}

int RunLeaseTimeToLive(client::Client& c, const GlobalOptions& g, uint64_t lease, bool keys,
                       Streams& s) {
  Result<client::LeaseInfo> info = c.LeaseTimeToLive(lease, keys, TxnCall(g));
  if (!info.ok()) return TxnFail(info.status(), g, "lease timetolive", false, s, kLeaseHint);
  if (g.format == OutputFormat::kJson) {
    json j{{"id", FormatLeaseId(lease)},
           {"granted_ttl_ms", info->granted_ttl.count()},
           {"remaining_ttl_ms", info->remaining_ttl.count()}};
    if (keys) {
      json arr = json::array();
      for (const std::string& k : info->keys) {
        json o = json::object();
        SetBytes(o, "key", k);
        arr.push_back(o);
      }
      j["keys"] = arr;
    }
    s.out << j.dump() << "\n";
    return kExitOk;
  }
  s.out << "lease " << FormatLeaseId(lease) << " granted with TTL(" << Seconds(info->granted_ttl)
        << "), remaining(" << Seconds(info->remaining_ttl) << ")";
  if (keys) {
    s.out << ", attached keys([";
    for (size_t i = 0; i < info->keys.size(); ++i) {
      s.out << (i > 0 ? " " : "") << Show(info->keys[i], g.hex);
    }
    s.out << "])";
  }
  s.out << "\n";
  return kExitOk;
}

}  // namespace ringkv::kvctl

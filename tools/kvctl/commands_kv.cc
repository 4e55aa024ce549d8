// put, get, del, append.
#include <iostream>
#include <iterator>
#include <sstream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "errors.h"
#include "format.h"

namespace ringkv::kvctl {
namespace {

using client::KeyValue;
using nlohmann::json;

// Largest scan page kvctl asks for.
constexpr uint32_t kPageSize = 1000;

client::CallOptions Call(const GlobalOptions& g,
                         client::Consistency c = client::Consistency::kLinearizable) {
  client::CallOptions o;
  o.timeout = g.command_timeout;
  o.consistency = c;
  return o;
}

int Fail(const Status& st, const GlobalOptions& g, const std::string& cmd, const std::string& key,
         bool is_write, Streams& s) {
  ErrorContext ctx{cmd, Escape(key), g.EndpointsString(), is_write, ""};
  s.err << ErrorLine(st, ctx) << "\n";
  return ExitCodeFor(st);
}

// A value from stdin, read in blocks. Past client::kMaxRequestBytes no request could carry it,
// so reading stops there (a 100 MiB file fails after 4 MiB, not after reading it all).
Result<std::string> ReadValue(std::istream& in, const std::string& what) {
  std::string out;
  std::string block(1 << 20, '\0');
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    out.append(block.data(), static_cast<size_t>(in.gcount()));
    if (out.size() > client::kMaxRequestBytes) {
      return Status::InvalidArgument(
          what + ": the value on stdin is larger than the client frame maximum of " +
          std::to_string(client::kMaxRequestBytes) +
          " bytes (4 MiB + 64 KiB: ringkv::client::kMaxRequestBytes = "
          "net::kDefaultClientMaxFrameSize, the largest request a kvd client port reads); "
          "nothing was sent. Values are further limited by kvd --max_value_bytes");
    }
  }
  return out;
}

json KvJson(const KeyValue& kv, bool keys_only) {
  json j = json::object();
  SetBytes(j, "key", kv.key);
  if (!keys_only) SetBytes(j, "value", kv.value);
  j["version"] = kv.version;
  return j;
}

// Collects [start, end) page by page up to `limit` (0 = all). `more` tells whether keys remain.
Result<client::ScanResult> ScanAll(client::Client& c, const GlobalOptions& g,
                                   const std::string& start, const std::string& end,
                                   uint64_t limit, bool keys_only, client::Consistency cons) {
  client::ScanResult all;
  std::string from = start;
  while (true) {
    uint64_t want = kPageSize;
    if (limit != 0) want = std::min<uint64_t>(want, limit - all.kvs.size());
    auto page = c.Scan(from, end, client::ScanOptions{static_cast<uint32_t>(want), keys_only},
                       Call(g, cons));
    if (!page.ok()) return page.status();
    for (auto& kv : page->kvs) all.kvs.push_back(std::move(kv));
    all.more = page->more;
    if (!page->more) break;
    if (limit != 0 && all.kvs.size() >= limit) break;
    // After the page: past keys the user may not read too (continue_after).
    from = page->continue_after + std::string(1, '\0');
  }
  return all;
}

void PrintKvs(const std::vector<KeyValue>& kvs, bool more, const GlobalOptions& g,
              const GetArgs& a, bool single, Streams& s) {
  if (a.count_only) {
    if (g.format == OutputFormat::kJson) {
      s.out << json{{"count", kvs.size()}}.dump() << "\n";
    } else if (g.format == OutputFormat::kTable) {
      s.out << RenderTable({"COUNT"}, {{std::to_string(kvs.size())}});
    } else {
      s.out << kvs.size() << "\n";
    }
    return;
  }
  if (a.print_value_only) {
    // Raw bytes, so `kvctl get k --print-value-only > file` round-trips what `put` stored.
    for (const auto& kv : kvs) {
      s.out.write(kv.value.data(), static_cast<std::streamsize>(kv.value.size()));
      if (!single) s.out << "\n";
    }
    return;
  }
  switch (g.format) {
    case OutputFormat::kJson: {
      json arr = json::array();
      for (const auto& kv : kvs) arr.push_back(KvJson(kv, a.keys_only));
      s.out << json{{"count", kvs.size()}, {"kvs", arr}, {"more", more}}.dump() << "\n";
      return;
    }
    case OutputFormat::kTable: {
      std::vector<std::vector<std::string>> rows;
      for (const auto& kv : kvs) {
        if (a.keys_only) {
          rows.push_back({Show(kv.key, g.hex), std::to_string(kv.version)});
        } else {
          rows.push_back({Show(kv.key, g.hex), Show(kv.value, g.hex), std::to_string(kv.version)});
        }
      }
      s.out << (a.keys_only ? RenderTable({"KEY", "VERSION"}, rows)
                            : RenderTable({"KEY", "VALUE", "VERSION"}, rows));
      return;
    }
    case OutputFormat::kSimple:
      for (const auto& kv : kvs) {
        s.out << Show(kv.key, g.hex) << "\n";
        if (!a.keys_only) s.out << Show(kv.value, g.hex) << "\n";
      }
      return;
  }
}

}  // namespace

std::string GlobalOptions::EndpointsString() const {
  std::string out;
  for (const auto& e : endpoints) out += (out.empty() ? "" : ",") + e;
  return out;
}

int RunPut(client::Client& c, const GlobalOptions& g, const PutArgs& a, Streams& s) {
  Result<std::string> read = a.value ? Result<std::string>(*a.value) : ReadValue(s.in, "put");
  if (!read.ok()) return Fail(read.status(), g, "put", a.key, true, s);
  const std::string& value = *read;
  const bool cas = a.if_absent || a.if_version || a.if_value;
  client::CallOptions opts = Call(g);
  opts.lease = a.lease;
  if (!cas) {
    auto v = c.Put(a.key, value, opts);
    if (!v.ok()) return Fail(v.status(), g, "put", a.key, true, s);
    if (g.format == OutputFormat::kJson) {
      s.out << json{{"version", *v}}.dump() << "\n";
    } else if (g.format == OutputFormat::kTable) {
      s.out << RenderTable({"RESULT", "VERSION"}, {{"OK", std::to_string(*v)}});
    } else {
      s.out << "OK\n";
    }
    return kExitOk;
  }
  client::Expect expect = a.if_absent   ? client::Expect::Absent()
                          : a.if_version ? client::Expect::Version(*a.if_version)
                                         : client::Expect::Value(*a.if_value);
  auto r = c.CompareAndSwap(a.key, expect, value, opts);
  if (!r.ok()) return Fail(r.status(), g, "put", a.key, true, s);
  if (g.format == OutputFormat::kJson) {
    json j{{"succeeded", r->succeeded}};
    if (r->succeeded) j["version"] = r->version;
    if (r->current) j["current"] = KvJson(*r->current, false);
    s.out << j.dump() << "\n";
  } else if (r->succeeded) {
    if (g.format == OutputFormat::kTable) {
      s.out << RenderTable({"RESULT", "VERSION"}, {{"OK", std::to_string(r->version)}});
    } else {
      s.out << "OK\n";
    }
  }
  if (r->succeeded) return kExitOk;
  std::string why = "compare failed for key \"" + Escape(a.key) + "\": ";
  if (!r->current) {
    why += "the key does not exist";
  } else {
    why += "current version " + std::to_string(r->current->version);
    if (a.if_version) why += " (expected " + std::to_string(*a.if_version) + ")";
    if (a.if_absent) why += " (expected absent)";
  }
  return Fail(Status::FailedPrecondition(why), g, "put", a.key, true, s);
}

int RunGet(client::Client& c, const GlobalOptions& g, const GetArgs& a, Streams& s) {
  const bool range = a.prefix || a.from_key || a.range_end.has_value();
  if (!range) {
    auto r = c.Get(a.key, Call(g, a.consistency));
    if (!r.ok()) return Fail(r.status(), g, "get", a.key, false, s);
    if (!r->has_value()) {
      return Fail(Status::NotFound("key \"" + Escape(a.key) + "\" not found"), g, "get", a.key,
                  false, s);
    }
    PrintKvs({**r}, false, g, a, /*single=*/true, s);
    return kExitOk;
  }
  const std::string end = a.prefix ? PrefixEnd(a.key) : a.from_key ? "" : *a.range_end;
  auto r = ScanAll(c, g, a.key, end, a.limit, a.keys_only || a.count_only, a.consistency);
  if (!r.ok()) return Fail(r.status(), g, "get", a.key, false, s);
  PrintKvs(r->kvs, r->more, g, a, /*single=*/false, s);
  return kExitOk;
}

int RunDel(client::Client& c, const GlobalOptions& g, const DelArgs& a, Streams& s) {
  uint64_t deleted = 0;
  const bool range = a.prefix || a.from_key || a.range_end.has_value();
  if (!range) {
    auto r = c.Delete(a.key, Call(g));
    if (!r.ok()) return Fail(r.status(), g, "del", a.key, true, s);
    deleted = *r ? 1 : 0;
  } else {
    // No server-side range delete yet: scan the keys, delete one by one (not atomic).
    const std::string end = a.prefix ? PrefixEnd(a.key) : a.from_key ? "" : *a.range_end;
    auto keys = ScanAll(c, g, a.key, end, 0, true, client::Consistency::kLinearizable);
    if (!keys.ok()) return Fail(keys.status(), g, "del", a.key, false, s);
    for (const auto& kv : keys->kvs) {
      auto r = c.Delete(kv.key, Call(g));
      if (!r.ok()) {
        s.err << "Deleted " << deleted << " of " << keys->kvs.size() << " keys before failing.\n";
        return Fail(r.status(), g, "del", kv.key, true, s);
      }
      if (*r) ++deleted;
    }
  }
  if (g.format == OutputFormat::kJson) {
    s.out << json{{"deleted", deleted}}.dump() << "\n";
  } else if (g.format == OutputFormat::kTable) {
    s.out << RenderTable({"DELETED"}, {{std::to_string(deleted)}});
  } else {
    s.out << deleted << "\n";
  }
  return kExitOk;
}

int RunAppend(client::Client& c, const GlobalOptions& g, const AppendArgs& a, Streams& s) {
  Result<std::string> read =
      a.suffix ? Result<std::string>(*a.suffix) : ReadValue(s.in, "append");
  if (!read.ok()) return Fail(read.status(), g, "append", a.key, true, s);
  const std::string& suffix = *read;
  auto r = c.Append(a.key, suffix, Call(g));
  if (!r.ok()) return Fail(r.status(), g, "append", a.key, true, s);
  if (g.format == OutputFormat::kJson) {
    json j{{"version", r->version}};
    SetBytes(j, "value", r->value);
    s.out << j.dump() << "\n";
  } else if (g.format == OutputFormat::kTable) {
    s.out << RenderTable({"VERSION", "VALUE"}, {{std::to_string(r->version), Show(r->value, g.hex)}});
  } else {
    s.out << "OK\n";
  }
  return kExitOk;
}

}  // namespace ringkv::kvctl

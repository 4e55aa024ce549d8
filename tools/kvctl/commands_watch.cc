// watch.
#include <mutex>
#include <optional>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "errors.h"
#include "format.h"
#include "interrupt.h"
#include "txn_parse.h"

namespace ringkv::kvctl {
namespace {

using nlohmann::json;

// "key" with Escape()'s escapes and \" for quotes, so a line splits unambiguously.
std::string Quote(std::string_view bytes, bool hex) {
  std::string out = "\"";
  for (char c : Show(bytes, hex)) {
    if (c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

void PrintUpdate(const client::WatchUpdate& u, const GlobalOptions& g, bool progress,
                 std::ostream& out) {
  const bool json_out = g.format == OutputFormat::kJson;
  if (u.created && progress) {
    if (json_out) {
      out << json{{"type", "CREATED"}, {"shard", u.shard}, {"start_version", u.start_version}}.dump()
          << "\n";
    } else {
      out << "CREATED shard=" << u.shard << " start_version=" << u.start_version << "\n";
    }
  }
  for (const client::WatchEvent& e : u.events) {
    const bool put = e.type == client::WatchEvent::Type::kPut;
    if (json_out) {
      json j{{"type", put ? "PUT" : "DELETE"}};
      SetBytes(j, "key", e.key);
      if (put) SetBytes(j, "value", e.value);
      j["version"] = e.version;
      j["prev_version"] = e.prev_version;
      if (e.lease != 0) j["lease"] = FormatLeaseId(e.lease);
      j["shard"] = e.shard;
      out << j.dump() << "\n";
    } else {
      out << (put ? "PUT " : "DELETE ") << Quote(e.key, g.hex);
      if (put) out << " " << Quote(e.value, g.hex);
      out << " version=" << e.version << " shard=" << e.shard << "\n";
    }
  }
  if (progress && u.events.empty() && u.progress_version != 0) {
    if (json_out) {
      out << json{{"type", "PROGRESS"}, {"shard", u.shard}, {"version", u.progress_version}}.dump()
          << "\n";
    } else {
      out << "PROGRESS shard=" << u.shard << " version=" << u.progress_version << "\n";
    }
  }
  out.flush();
}

}  // namespace

int RunWatch(client::Client& c, const GlobalOptions& g, const WatchArgs& a, Streams& s) {
  InstallInterruptHandler();
  client::WatchOptions o;
  o.prefix = a.prefix;
  o.from_key = a.from_key;
  if (a.range_end) o.range_end = *a.range_end;
  o.from_version = a.from_version;
  std::mutex mu;
  std::optional<client::WatchEnd> ended;
  Result<std::unique_ptr<client::WatchHandle>> h = c.Watch(
      a.key, o,
      [&](const client::WatchUpdate& u) {
        std::lock_guard<std::mutex> l(mu);
        PrintUpdate(u, g, a.progress, s.out);
      },
      [&](const client::WatchEnd& e) {
        std::lock_guard<std::mutex> l(mu);
        ended = e;
      });
  if (!h.ok()) {
    s.err << ErrorLine(h.status(), ErrorContext{"watch", Escape(a.key), g.EndpointsString(), false,
                                                h.status().IsInvalidArgument()
                                                    ? "kvctl watch --help"
                                                    : ""})
          << "\n";
    return h.status().IsInvalidArgument() ? kExitUsage : ExitCodeFor(h.status());
  }
  const bool interrupted = WaitInterruptible(
      [&] {
        std::lock_guard<std::mutex> l(mu);
        return ended.has_value();
      },
      std::chrono::hours(24 * 365 * 100));
  (*h)->Cancel();
  if (interrupted) return kExitInterrupted;
  std::lock_guard<std::mutex> l(mu);
  std::string hint;
  if (ended->resume_version != 0) {
    hint = "resume with kvctl watch " + Escape(a.key) + " --from-version " +
           std::to_string(ended->resume_version) + " (changes before it are gone from shard " +
           std::to_string(ended->shard) + "'s history)";
    if (ended->status.code() == StatusCode::kResourceExhausted) {
      hint = "read events faster (the server cancels a watch whose client falls behind), then "
             "resume with --from-version " + std::to_string(ended->resume_version);
    }
  }
  s.err << ErrorLine(ended->status,
                     ErrorContext{"watch", Escape(a.key), g.EndpointsString(), false, hint})
        << "\n";
  return ExitCodeFor(ended->status);
}

}  // namespace ringkv::kvctl

#include "server/request_metrics.h"

#include <glog/logging.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "metrics/metrics.h"

namespace ringkv::server {
namespace {

metrics::Gauge* InFlight() {
  static metrics::Gauge* g = metrics::Registry::Default().GetGauge(
      "ringkv_requests_in_flight", "Client requests received and not yet answered.");
  return g;
}

}  // namespace

const char* RequestTypeName(const kvpb::Request& req) {
  switch (req.op_case()) {
    case kvpb::Request::kGet: return "get";
    case kvpb::Request::kPut: return "put";
    case kvpb::Request::kDelete: return "delete";
    case kvpb::Request::kCas: return "cas";
    case kvpb::Request::kAppend: return "append";
    case kvpb::Request::kScan: return "scan";
    case kvpb::Request::kStatus: return "status";
    case kvpb::Request::kAdmin: return "admin";
    case kvpb::Request::kTxn: return "txn";
    case kvpb::Request::kLeaseGrant: return "lease_grant";
    case kvpb::Request::kLeaseRevoke: return "lease_revoke";
    case kvpb::Request::kLeaseKeepAlive: return "lease_keep_alive";
    case kvpb::Request::kLeaseTtl: return "lease_ttl";
    case kvpb::Request::kWatch: return "watch";
    case kvpb::Request::kWatchCancel: return "watch_cancel";
    case kvpb::Request::kBackupRead: return "backup_read";
    default: return "unknown";
  }
}

std::string ResponseCodeName(const kvpb::Response& resp) {
  if (!resp.has_error() || resp.error().code() == kvpb::OK) return "ok";
  std::string name = kvpb::ErrorCode_Name(resp.error().code());
  if (name.empty()) name = "code_" + std::to_string(resp.error().code());
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

std::string RequestLogId(const std::string& remote, const kvpb::Request& req) {
  std::string id = remote + "#" + std::to_string(req.request_id());
  if (req.client_id() != 0) {
    id += " (client " + std::to_string(req.client_id()) + ", seq " +
          std::to_string(req.sequence()) + ")";
  }
  return id;
}

RequestTimer::RequestTimer(const kvpb::Request& req, std::string remote)
    : type_(RequestTypeName(req)),
      log_id_(RequestLogId(remote, req)),
      start_(std::chrono::steady_clock::now()) {
  InFlight()->Add(1);
}

void RequestTimer::Finish(const kvpb::Response& resp, std::chrono::milliseconds slow) {
  InFlight()->Add(-1);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start_;
  auto& r = metrics::Registry::Default();
  // Lookups by label take the registry's lock; cheap next to a request's round trip.
  r.GetCounter("ringkv_requests_total", "Client requests answered, by type and result code.",
               {{"type", type_}, {"code", ResponseCodeName(resp)}})
      ->Inc();
  r.GetHistogram("ringkv_request_duration_seconds",
                 "Client request latency on the server, from frame to answer, by type.",
                 metrics::ApplyBuckets(), {{"type", type_}})
      ->Observe(took.count());
  if (took > slow) {
    // At most one line per second: under overload every request is slow, and a line per
    // request would be thousands per second of the same news (the metrics count them all).
    static std::atomic<int64_t> last_logged_ns{0};
    static std::atomic<uint64_t> unlogged{0};
    const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
    int64_t last = last_logged_ns.load(std::memory_order_relaxed);
    if (now_ns - last < 1'000'000'000 ||
        !last_logged_ns.compare_exchange_strong(last, now_ns, std::memory_order_relaxed)) {
      unlogged.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const uint64_t more = unlogged.exchange(0, std::memory_order_relaxed);
    LOG(WARNING) << "slow request " << log_id_ << ": " << type_ << " took "
                 << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                 << " ms (over " << slow.count() << " ms), answered "
                 << ResponseCodeName(resp)
                 << (resp.has_error() && !resp.error().message().empty()
                         ? ": " + resp.error().message()
                         : "")
                 << (more > 0 ? " (and " + std::to_string(more) +
                                    " more slow requests since the last such line)"
                              : "");
  }
}

}  // namespace ringkv::server

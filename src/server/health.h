// Readiness checks for /readyz (and /health), as etcd's and Kubernetes': each check has a
// name, a verdict and a detail; `?verbose` lists them all ("[+]storage ok"), `?exclude=name`
// leaves one out (e.g. a probe that must not fail on an alarm). Liveness (/livez) is separate
// and never fails for a missing leader or an alarm: only when the process loop stops turning.
//
// Thread-safety: pure functions over values.
#ifndef RINGKV_SERVER_HEALTH_H_
#define RINGKV_SERVER_HEALTH_H_

#include <string>
#include <vector>

#include "proto/kv.pb.h"

namespace ringkv::server {

struct CheckResult {
  std::string name;
  bool ok = false;
  std::string detail;  // why it failed, or a short summary when ok
};

// What the readiness checks look at, gathered by the admin service.
struct ReadinessInputs {
  bool status_answered = false;  // the store's loop answered in time
  kvpb::NodeStatus status;       // its answer
  std::string storage_error;     // empty when the storage probe wrote and read back
  bool gossip_joined = false;    // sees another live member, or is the only configured one
  std::string gossip_detail;
  std::vector<std::string> alarms;
  bool draining = false;         // shutting down
};

// The checks, in a fixed order: loop, storage, gossip, leaders, alarms, shutdown.
std::vector<CheckResult> RunReadinessChecks(const ReadinessInputs& in);

struct HealthReport {
  int http_status = 200;  // 200 when every included check passed, else 503
  std::string body;
};

// Formats checks as the Kubernetes health endpoints do: "ok" (or "[+]name ok" lines and
// "readyz check passed" with `verbose`); a failure always lists every check and ends in
// "readyz check failed". Checks named in `exclude` are skipped ("[-]name excluded" when verbose);
// an unknown name in `exclude` is reported as an error (400), so a typo is not silently ignored.
HealthReport FormatHealth(const std::vector<CheckResult>& checks, bool verbose,
                          const std::vector<std::string>& exclude, const std::string& what);

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_HEALTH_H_

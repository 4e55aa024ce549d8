// The shared state of the HTTP/JSON API's handlers (server/http_api.h) and the edge every
// request passes (admission, draining, permissions), used by http_api.cc (keys, transactions,
// leases) and http_watch.cc (Server-Sent Events). Internal to those files.
//
// Thread-safety: Core is thread-safe (its mutable parts under `mu`); the helpers may run on any
// thread.
#ifndef RINGKV_SERVER_HTTP_API_CORE_H_
#define RINGKV_SERVER_HTTP_API_CORE_H_

#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "common/thread_annotations.h"
#include "http/router.h"
#include "proto/kv.pb.h"
#include "ringkv/client.h"
#include "server/admission.h"
#include "server/auth_rules.h"
#include "server/http_api.h"

namespace ringkv::server {

struct HttpApi::Core {
  explicit Core(HttpApiOptions o)
      : options(std::move(o)), admission(AdmissionController::Create(options.admission)) {}

  // The client, once Start connected it; null before (routes answer 503).
  client::Client* client() {
    std::lock_guard<std::mutex> l(mu);
    return client_.get();
  }
  client::CallOptions Call() const {
    client::CallOptions o;
    o.timeout = options.request_timeout;
    return o;
  }

  const HttpApiOptions options;
  const std::shared_ptr<AdmissionController> admission;
  std::mutex mu;
  std::unique_ptr<client::Client> client_ GUARDED_BY(mu);  // set once by Start
  const Authorizer* authorizer GUARDED_BY(mu) = nullptr;   // set once by Start
  bool started GUARDED_BY(mu) = false;
  // Open watch streams, so destruction ends them.
  std::set<std::shared_ptr<client::WatchHandle>> watches GUARDED_BY(mu);
};

using HttpCorePtr = std::shared_ptr<HttpApi::Core>;

// The API's path prefixes.
inline constexpr char kKvPrefix[] = "/v1/kv/";
inline constexpr char kLeasePrefix[] = "/v1/lease/";
inline constexpr char kWatchPrefix[] = "/v1/watch/";

// One request that passed the edge: who sent it, and the responder to answer it with (it
// returns the request's admission ticket when it answers).
struct AdmittedRequest {
  Principal principal;
  http::Responder done;
  client::Client* client = nullptr;
  const Authorizer* authorizer = nullptr;  // null: permissions not enforced
};

// The client port's edge for `req`, an HTTP request standing for the client-port request `as`:
// draining (503), admission (429 + Retry-After), the client (503 until Start) and the
// permission check (403, 400 for reserved keys, 503 without rules). Answers `done` and returns
// nullopt when refused.
std::optional<AdmittedRequest> Admit(const HttpCorePtr& core, const http::HttpRequest& req,
                                     const kvpb::Request& as, http::Responder done);
// Whether the principal may see `key` in an answer (listed keys, lease keys, watch events).
bool MayRead(const HttpCorePtr& core, const Principal& p, std::string_view key);
// The answer for a failed call (server/http_errors.h), Retry-After from the API's admission.
http::HttpResponse ErrorResponse(const HttpCorePtr& core, const Status& st);

// The smallest key after every key starting with `prefix` ("" = no upper bound).
std::string PrefixEnd(std::string prefix);

void HandleWatch(const HttpCorePtr& core, const http::HttpRequest& req, http::Responder done);

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_HTTP_API_CORE_H_

// HttpApi: the HTTP/JSON API, on the admin port's HTTP server (http/http_server.h, kvd's
// --listen_admin, with the admin port's TLS):
//
//   GET    /v1/kv/<key>                    the key as JSON ({"key","value","version"[,"lease"]});
//                                          404 when absent
//   GET    /v1/kv/<prefix>?prefix[&limit=N][&keys_only]
//                                          {"kvs": [...], "count", "more"[, "continue_after"]}
//   PUT    /v1/kv/<key>[?lease=<hex>]      the body is the value (bytes) -> {"version"};
//                                          If-Match: <version> (0 = absent) or If-None-Match: *
//                                          make it a compare-and-swap: 409 with the current
//                                          value when the compare fails
//   DELETE /v1/kv/<key>                    {"deleted": true|false}
//   POST   /v1/txn                         a transaction (server/http_json.h) -> its results
//   POST   /v1/lease                       {"ttl_ms": N, "shard_key": "..."} -> {"id","ttl_ms"}
//   GET    /v1/lease/<id>[?keys]           TTL, remaining time, attached keys; 404 when gone
//   POST   /v1/lease/<id>/keepalive        {"id","ttl_ms"}
//   DELETE /v1/lease/<id>                  revoke: {"deleted_keys"}
//   GET    /v1/watch/<key>[?prefix][&from_version=N]
//                                          Server-Sent Events (server/http_watch.cc)
//
// Keys in paths are percent-decoded bytes; in JSON, keys and values are UTF-8 strings, or
// base64 under "<name>_b64" when not valid UTF-8. Errors are server/http_errors.h's table (400
// refused, 403 not permitted, 404 not found, 409 compare failed, 413 too large, 429 overloaded
// and 503 unavailable with Retry-After — 503 names the leader when known —, 504 outcome unknown,
// 507 NOSPACE), with a JSON body saying why.
//
// The edge is the client port's: each request passes admission control (an AdmissionController
// with the client port's limits; a shed request is 429 with Retry-After, before any work), the
// draining check, and the permission check (Authorizer::Check on the equivalent client-port
// request, for the principal of the HTTP client's certificate, as the client port makes it);
// listed keys, a lease's keys and watch events are filtered as the client port filters them.
//
// Any node answers any key: the handlers then run the request through a client library
// instance (ringkv/client.h) that dials this node's and the other members' client ports with
// this node's certificate, so each request goes to its shard's leader, follows redirects,
// retries within its deadline and writes exactly once — the same routing and guarantees as any
// client. That hop's client port applies its own admission and NOSPACE checks too. No handler
// blocks the HTTP thread.
//
// Thread-safety: Register before the HTTP server starts, Start once after this node's client
// port serves; handlers run on the HTTP thread, completions on the client's I/O thread.
// Destroy after the HTTP server stopped.
#ifndef RINGKV_SERVER_HTTP_API_H_
#define RINGKV_SERVER_HTTP_API_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "http/router.h"
#include "net/tls.h"
#include "ringkv/client.h"
#include "server/admission.h"

namespace ringkv::server {

class Authorizer;

struct HttpApiOptions {
  uint64_t cluster_id = 0;
  // How the API's client dials client ports (this node's certificate when they use TLS).
  client::ClientOptions::Tls tls;
  // How an HTTP client's certificate becomes its principal: the client port's setting.
  net::ClientCertAuth client_auth = net::ClientCertAuth::kOff;
  // Limits of the API's admission control (kvd's --admission_* flags).
  AdmissionOptions admission;
  // Keys and values larger than these are refused with 413 before anything is sent (kvd's
  // --max_key_bytes, --max_value_bytes). Defaults: 4 KiB, 1 MiB.
  size_t max_key_bytes = 4096;
  size_t max_value_bytes = size_t{1} << 20;
  // Deadline of one request, retries included. Default: 5 s (under the HTTP server's handler
  // timeout of 10 s, so the answer is the call's own).
  std::chrono::milliseconds request_timeout{5000};
  // Keys one GET ?prefix returns when it names no limit. Default: 1000.
  uint32_t default_scan_limit = 1000;
  // Whether the node is shutting down (new requests get a retryable 503). May be unset.
  std::function<bool()> draining;
};

class HttpApi {
 public:
  explicit HttpApi(HttpApiOptions options);
  ~HttpApi();  // ends every watch stream, closes the client
  HttpApi(const HttpApi&) = delete;
  HttpApi& operator=(const HttpApi&) = delete;

  void Register(http::Router& router);
  // Connects the client to `endpoints` (client addresses: this node's first) and installs the
  // permission rules (`authorizer`, not owned, outlives this; null = authentication off, as
  // the client port). Until then every route answers 503. Unavailable when no endpoint
  // answered (the routes keep answering 503).
  Status Start(std::vector<std::string> endpoints, const Authorizer* authorizer);

  struct Core;  // http_api_core.h

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_HTTP_API_H_

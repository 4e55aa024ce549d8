#include "server/http_api.h"

#include <glog/logging.h>

#include <charconv>

#include "client/client_impl.h"
#include "client/convert.h"
#include "server/authorizer.h"
#include "server/http_api_core.h"
#include "server/http_errors.h"
#include "server/http_json.h"
#include "server/request_handler.h"

namespace ringkv::server {

using nlohmann::json;
using Clock = AdmissionController::Clock;

namespace {

http::HttpResponse JsonOk(const json& j) { return http::HttpResponse::Json(200, j.dump() + "\n"); }

std::optional<uint64_t> ParseU64(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// 413 for a key or value over the node's limits, before anything is sent.
std::optional<http::HttpResponse> TooLarge(const HttpCorePtr& core, std::string_view key,
                                           size_t value_bytes) {
  const HttpApiOptions& o = core->options;
  std::string why;
  if (key.size() > o.max_key_bytes) {
    why = "key of " + std::to_string(key.size()) + " bytes exceeds --max_key_bytes=" +
          std::to_string(o.max_key_bytes);
  } else if (value_bytes > o.max_value_bytes) {
    why = "value of " + std::to_string(value_bytes) + " bytes exceeds --max_value_bytes=" +
          std::to_string(o.max_value_bytes);
  } else {
    return std::nullopt;
  }
  return ErrorResponse(core, Status::InvalidArgument(why));
}

void HandleScan(const HttpCorePtr& core, const http::HttpRequest& req, const std::string& key,
                http::Responder done) {
  client::ScanOptions so;
  so.limit = core->options.default_scan_limit;
  if (req.HasParam("limit")) {
    std::optional<uint64_t> limit = ParseU64(req.Param("limit"));
    if (!limit || *limit > UINT32_MAX) {
      return done(ErrorResponse(core, Status::InvalidArgument("?limit must be a number")));
    }
    so.limit = static_cast<uint32_t>(*limit);
  }
  so.keys_only = req.HasParam("keys_only");
  const std::string end = PrefixEnd(key);
  std::optional<AdmittedRequest> a =
      Admit(core, req, client::MakeScan(key, end, so, client::Consistency::kLinearizable), done);
  if (!a) return;
  a->client->ScanAsync(
      key, end, so, core->Call(),
      [core, p = a->principal, done = a->done, keys_only = so.keys_only](
          Result<client::ScanResult> r) {
        if (!r.ok()) return done(ErrorResponse(core, r.status()));
        json kvs = json::array();
        for (const auto& kv : r->kvs) {
          if (MayRead(core, p, kv.key)) kvs.push_back(KvJson(kv, keys_only));
        }
        json out{{"kvs", kvs}, {"count", kvs.size()}, {"more", r->more}};
        if (r->more) SetBytes(out, "continue_after", r->continue_after);
        done(JsonOk(out));
      });
}

void HandlePut(const HttpCorePtr& core, const http::HttpRequest& req, const std::string& key,
               http::Responder done) {
  if (auto big = TooLarge(core, key, req.body.size())) return done(std::move(*big));
  client::CallOptions opts = core->Call();
  if (req.HasParam("lease")) {
    Result<uint64_t> lease = ParseLeaseHex(req.Param("lease"));
    if (!lease.ok()) return done(ErrorResponse(core, lease.status()));
    opts.lease = *lease;
  }
  auto if_match = req.headers.find("if-match");
  auto if_none_match = req.headers.find("if-none-match");
  if (if_match == req.headers.end() && if_none_match == req.headers.end()) {
    std::optional<AdmittedRequest> a = Admit(core, req, client::MakePut(key, req.body, opts.lease),
                                             done);
    if (!a) return;
    a->client->PutAsync(key, req.body, opts, [core, done = a->done](Result<uint64_t> r) {
      if (!r.ok()) return done(ErrorResponse(core, r.status()));
      done(JsonOk(json{{"version", *r}}));
    });
    return;
  }
  client::Expect expect = client::Expect::Absent();
  if (if_match != req.headers.end()) {
    std::string v = if_match->second;
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    std::optional<uint64_t> version = ParseU64(v);
    if (!version) {
      return done(ErrorResponse(
          core, Status::InvalidArgument("If-Match must be a version number (0 = absent)")));
    }
    expect = client::Expect::Version(*version);
  } else if (if_none_match->second != "*") {
    return done(ErrorResponse(
        core, Status::InvalidArgument("If-None-Match supports only * (the key must be absent)")));
  }
  std::optional<AdmittedRequest> a =
      Admit(core, req, client::MakeCas(key, expect, req.body, opts.lease), done);
  if (!a) return;
  a->client->CompareAndSwapAsync(
      key, expect, req.body, opts, [core, done = a->done](Result<client::CasResult> r) {
        if (!r.ok()) return done(ErrorResponse(core, r.status()));
        if (r->succeeded) return done(JsonOk(json{{"version", r->version}}));
        // The compare failed: 409 with the current value (the CAS permission includes read).
        kvpb::Error e;
        e.set_code(kvpb::CAS_FAILED);
        e.set_definite(true);
        e.set_message(r->current ? "compare failed: the key's version is " +
                                       std::to_string(r->current->version)
                                 : std::string("compare failed: the key does not exist"));
        http::HttpResponse resp = HttpErrorResponse(e);
        json body = json::parse(resp.body);
        body["current"] = r->current ? KvJson(*r->current) : json(nullptr);
        resp.body = body.dump() + "\n";
        done(std::move(resp));
      });
}

void HandleKv(const HttpCorePtr& core, const http::HttpRequest& req, http::Responder done) {
  const std::string key = req.path.substr(sizeof(kKvPrefix) - 1);
  if ((req.method == "GET" || req.method == "HEAD") && req.HasParam("prefix")) {
    return HandleScan(core, req, key, std::move(done));
  }
  if (key.empty()) {
    return done(ErrorResponse(
        core, Status::InvalidArgument(req.method + " /v1/kv/ needs a key (GET: or ?prefix)")));
  }
  if (req.method == "PUT") return HandlePut(core, req, key, std::move(done));
  if (auto big = TooLarge(core, key, 0)) return done(std::move(*big));
  if (req.method == "DELETE") {
    std::optional<AdmittedRequest> a = Admit(core, req, client::MakeDelete(key), done);
    if (!a) return;
    a->client->DeleteAsync(key, core->Call(), [core, done = a->done](Result<bool> r) {
      if (!r.ok()) return done(ErrorResponse(core, r.status()));
      done(JsonOk(json{{"deleted", *r}}));
    });
    return;
  }
  std::optional<AdmittedRequest> a =
      Admit(core, req, client::MakeGet(key, client::Consistency::kLinearizable), done);
  if (!a) return;
  a->client->GetAsync(key, core->Call(),
                      [core, done = a->done](Result<std::optional<client::KeyValue>> r) {
                        if (!r.ok()) return done(ErrorResponse(core, r.status()));
                        if (!r->has_value()) {
                          return done(ErrorResponse(core, Status::NotFound("key not found")));
                        }
                        done(JsonOk(KvJson(**r)));
                      });
}

void HandleTxn(const HttpCorePtr& core, const http::HttpRequest& req, http::Responder done) {
  Result<client::Txn> txn = ParseTxnJson(req.body);
  if (!txn.ok()) return done(ErrorResponse(core, txn.status()));
  for (const auto* ops : {&txn->success, &txn->failure}) {
    for (const client::TxnOp& op : *ops) {
      if (auto big = TooLarge(core, op.key, op.value.size())) return done(std::move(*big));
    }
  }
  std::optional<AdmittedRequest> a = Admit(core, req, client::MakeTxn(*txn), done);
  if (!a) return;
  a->client->CommitAsync(*txn, core->Call(), [core, done = a->done](Result<client::TxnResult> r) {
    if (!r.ok()) return done(ErrorResponse(core, r.status()));
    done(JsonOk(TxnResultJson(*r)));
  });
}

void HandleLeaseGrant(const HttpCorePtr& core, const http::HttpRequest& req,
                      http::Responder done) {
  json j = json::parse(req.body.empty() ? "{}" : req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return done(ErrorResponse(core, Status::InvalidArgument("the body is not a JSON object")));
  }
  uint64_t ttl_ms = 0;
  if (j.contains("ttl_ms") && j["ttl_ms"].is_number_unsigned()) {
    ttl_ms = j["ttl_ms"].get<uint64_t>();
  } else if (j.contains("ttl") && j["ttl"].is_number_unsigned()) {
    ttl_ms = j["ttl"].get<uint64_t>() * 1000;  // seconds, as etcd's grant
  } else {
    return done(ErrorResponse(core, Status::InvalidArgument(
                                        "a lease grant needs \"ttl_ms\" (or \"ttl\" in seconds)")));
  }
  Result<std::string> shard_key = GetBytes(j, "shard_key", false);
  if (!shard_key.ok()) return done(ErrorResponse(core, shard_key.status()));
  const std::chrono::milliseconds ttl(ttl_ms);
  std::optional<AdmittedRequest> a =
      Admit(core, req, client::MakeLeaseGrant(ttl, *shard_key), done);
  if (!a) return;
  a->client->LeaseGrantAsync(ttl, *shard_key, core->Call(),
                             [core, done = a->done](Result<client::Lease> r) {
                               if (!r.ok()) return done(ErrorResponse(core, r.status()));
                               done(JsonOk(json{{"id", LeaseHex(r->id)},
                                                {"ttl_ms", r->ttl.count()}}));
                             });
}

void HandleLease(const HttpCorePtr& core, const http::HttpRequest& req, http::Responder done) {
  std::string rest = req.path.substr(sizeof(kLeasePrefix) - 1);
  constexpr std::string_view kKeepAlive = "/keepalive";
  const bool keepalive = rest.size() > kKeepAlive.size() &&
                         std::string_view(rest).substr(rest.size() - kKeepAlive.size()) == kKeepAlive;
  if (keepalive) rest.resize(rest.size() - kKeepAlive.size());
  Result<uint64_t> id = ParseLeaseHex(rest);
  if (!id.ok()) return done(ErrorResponse(core, id.status()));
  const uint64_t lease = *id;
  if (req.method == "POST" && keepalive) {
    std::optional<AdmittedRequest> a = Admit(core, req, client::MakeLeaseKeepAlive(lease), done);
    if (!a) return;
    a->client->LeaseKeepAliveAsync(
        lease, core->Call(), [core, done = a->done, lease](Result<std::chrono::milliseconds> r) {
          if (!r.ok()) return done(ErrorResponse(core, r.status()));
          done(JsonOk(json{{"id", LeaseHex(lease)}, {"ttl_ms", r->count()}}));
        });
  } else if (req.method == "DELETE" && !keepalive) {
    kvpb::Request revoke = client::MakeLeaseRevoke(lease);
    std::optional<AdmittedRequest> a = Admit(core, req, revoke, done);
    if (!a) return;
    // This node calls the cluster as itself: the revoke carries the user's scope (revoking
    // deletes the attached keys; the shard checks them against it when applying).
    Status scoped = a->authorizer != nullptr
                        ? a->authorizer->ScopeLeaseRevoke(a->principal,
                                                          revoke.mutable_lease_revoke(),
                                                          Authorizer::Clock::now())
                        : Status::OK();
    if (!scoped.ok()) return a->done(ErrorResponse(core, scoped));
    static_cast<client::ClientImpl*>(a->client)->LeaseRevokeAsync(
        std::move(*revoke.mutable_lease_revoke()), core->Call(),
        [core, done = a->done](Result<uint32_t> r) {
          if (!r.ok()) return done(ErrorResponse(core, r.status()));
          done(JsonOk(json{{"deleted_keys", *r}}));
        });
  } else if ((req.method == "GET" || req.method == "HEAD") && !keepalive) {
    const bool keys = req.HasParam("keys");
    std::optional<AdmittedRequest> a =
        Admit(core, req, client::MakeLeaseTimeToLive(lease, keys), done);
    if (!a) return;
    a->client->LeaseTimeToLiveAsync(
        lease, keys, core->Call(),
        [core, done = a->done, p = a->principal, lease](Result<client::LeaseInfo> r) {
          if (!r.ok()) return done(ErrorResponse(core, r.status()));
          json list = json::array();
          for (const std::string& k : r->keys) {
            if (!MayRead(core, p, k)) continue;
            json o = json::object();
            SetBytes(o, "key", k);
            list.push_back(o);
          }
          done(JsonOk(json{{"id", LeaseHex(lease)},
                           {"granted_ttl_ms", r->granted_ttl.count()},
                           {"remaining_ttl_ms", r->remaining_ttl.count()},
                           {"keys", list}}));
        });
  } else {
    done(http::HttpResponse::Text(
        405, "use GET, DELETE, or POST /v1/lease/<id>/keepalive on " + req.path + "\n"));
  }
}

}  // namespace

std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xff) prefix.pop_back();
  if (prefix.empty()) return "";
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

http::HttpResponse ErrorResponse(const HttpCorePtr& core, const Status& st) {
  return HttpErrorResponse(st, core->admission->RetryAfterMs(Clock::now()));
}

bool MayRead(const HttpCorePtr& core, const Principal& p, std::string_view key) {
  const Authorizer* authorizer;
  {
    std::lock_guard<std::mutex> l(core->mu);
    authorizer = core->authorizer;
  }
  return ClientRequestHandler::MayRead(authorizer, p, key);
}

std::optional<AdmittedRequest> Admit(const HttpCorePtr& core, const http::HttpRequest& req,
                                     const kvpb::Request& as, http::Responder done) {
  const Clock::time_point now = Clock::now();
  if (core->options.draining && core->options.draining()) {
    kvpb::Error e;
    e.set_code(kvpb::UNAVAILABLE);
    e.set_definite(true);
    e.set_retry_after_ms(100);
    e.set_message("this node is shutting down (draining); retry another node");
    done(HttpErrorResponse(e));
    return std::nullopt;
  }
  // Admission first, as on the client port: a shed request costs nothing more.
  AdmissionController::Decision d =
      core->admission->TryAdmit(core->admission->NewAccount(),
                                req.target.size() + req.body.size() + 256, now,
                                core->options.request_timeout);
  if (!d.admitted()) {
    kvpb::Error e;
    e.set_code(kvpb::BUSY);
    e.set_definite(true);
    e.set_retry_after_ms(d.retry_after_ms);
    e.set_message("too many requests: " + d.reason + "; retry after " +
                  std::to_string(d.retry_after_ms) + " ms");
    done(HttpErrorResponse(e));
    return std::nullopt;
  }
  std::shared_ptr<AdmissionController::Ticket> ticket = std::move(d.ticket);
  AdmittedRequest out;
  out.done = [done = std::move(done), ticket](http::HttpResponse r) {
    ticket->Release(Clock::now());
    done(std::move(r));
  };
  const Authorizer* authorizer;
  {
    std::lock_guard<std::mutex> l(core->mu);
    out.client = core->client_.get();
    authorizer = core->authorizer;
    if (!core->started) {
      out.done(ErrorResponse(core, Status::Unavailable(
                                       "the HTTP API is starting: this node's client port is "
                                       "not serving yet")));
      return std::nullopt;
    }
  }
  if (out.client == nullptr) {
    out.done(ErrorResponse(core, Status::Unavailable("the HTTP API could not connect to the "
                                                     "cluster's client ports (see the log)")));
    return std::nullopt;
  }
  out.principal = Principal::From(req.peer, core->options.client_auth);
  // As ClientRequestHandler::Handle: without rules only superusers pass.
  out.authorizer = authorizer;
  Status allowed = authorizer != nullptr ? authorizer->Check(out.principal, as, now)
                   : out.principal.superuser()
                       ? Status::OK()
                       : Status::PermissionDenied(out.principal.Describe() + ": no rules");
  if (!allowed.ok()) {
    out.done(ErrorResponse(core, allowed));
    return std::nullopt;
  }
  return out;
}

HttpApi::HttpApi(HttpApiOptions options) : core_(std::make_shared<Core>(std::move(options))) {}

HttpApi::~HttpApi() {
  std::set<std::shared_ptr<client::WatchHandle>> watches;
  std::unique_ptr<client::Client> client;
  {
    std::lock_guard<std::mutex> l(core_->mu);
    watches.swap(core_->watches);
    client = std::move(core_->client_);
    core_->client_.reset();
  }
  for (const auto& w : watches) w->Cancel();
  // `client` goes here: calls still in flight complete (their answers go nowhere).
}

Status HttpApi::Start(std::vector<std::string> endpoints, const Authorizer* authorizer) {
  client::ClientOptions o;
  o.endpoints = std::move(endpoints);
  o.cluster_id = core_->options.cluster_id;
  o.request_timeout = core_->options.request_timeout;
  o.tls = core_->options.tls;
  Result<std::unique_ptr<client::Client>> c = client::Client::Connect(o);
  std::lock_guard<std::mutex> l(core_->mu);
  core_->started = true;
  core_->authorizer = authorizer;
  if (!c.ok()) return c.status();
  core_->client_ = std::move(*c);
  return Status::OK();
}

void HttpApi::Register(http::Router& router) {
  HttpCorePtr core = core_;
  for (const char* method : {"GET", "HEAD", "PUT", "DELETE"}) {
    router.Handle(method, std::string(kKvPrefix) + "*",
                  [core](const http::HttpRequest& r, http::Responder d) { HandleKv(core, r, d); });
  }
  router.Handle("POST", "/v1/txn",
                [core](const http::HttpRequest& r, http::Responder d) { HandleTxn(core, r, d); });
  router.Handle("POST", "/v1/lease", [core](const http::HttpRequest& r, http::Responder d) {
    HandleLeaseGrant(core, r, d);
  });
  for (const char* method : {"GET", "HEAD", "POST", "DELETE"}) {
    router.Handle(method, std::string(kLeasePrefix) + "*", [core](const http::HttpRequest& r,
                                                                 http::Responder d) {
      HandleLease(core, r, d);
    });
  }
  router.Handle("GET", std::string(kWatchPrefix) + "*",
                [core](const http::HttpRequest& r, http::Responder d) { HandleWatch(core, r, d); });
}

}  // namespace ringkv::server

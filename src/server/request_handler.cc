#include "server/request_handler.h"

#include <utility>

#include "server/wire_errors.h"

namespace ringkv::server {
namespace {

// A refusal the authorizer may lift soon (its permission rules are stale or not read yet).
constexpr uint32_t kRefusalRetryAfterMs = 200;

}  // namespace

ClientRequestHandler::ClientRequestHandler(NodeId self, RequestSink* sink,
                                           const Authorizer* authorizer)
    : self_(self), sink_(sink), authorizer_(authorizer) {}

void ClientRequestHandler::Handle(std::string_view payload, const Principal& principal,
                                  Reply reply, const Observer& observe, const Streamer& stream) {
  kvpb::Request req;
  if (!req.ParseFromArray(payload.data(), static_cast<int>(payload.size())) ||
      req.op_case() == kvpb::Request::OP_NOT_SET) {
    kvpb::Response resp;
    resp.set_request_id(req.request_id());
    resp.mutable_error()->set_code(kvpb::INVALID_ARGUMENT);
    resp.mutable_error()->set_definite(true);
    resp.mutable_error()->set_message("malformed request or unknown request type");
    reply(resp, /*close_after=*/true);
    return;
  }
  if (observe) {
    // Every answer below goes through the observer first.
    reply = [done = observe(req), reply = std::move(reply)](const kvpb::Response& resp,
                                                            bool close_after) {
      if (done) done(resp);
      reply(resp, close_after);
    };
  }
  kvpb::Response refusal;
  refusal.set_request_id(req.request_id());
  refusal.set_served_by(self_.value());
  kvpb::Error* err = refusal.mutable_error();
  err->set_definite(true);
  if (draining_) {
    err->set_code(kvpb::UNAVAILABLE);
    err->set_retry_after_ms(100);
    err->set_message("node " + std::to_string(self_.value()) +
                     " is shutting down (draining); retry another endpoint");
    reply(refusal, false);
    return;
  }
  Status allowed = authorizer_ != nullptr
                       ? authorizer_->Check(principal, req, Authorizer::Clock::now())
                       : (principal.superuser() ? Status::OK()
                                                : Status::PermissionDenied("no rules"));
  if (!allowed.ok()) {
    *err = ErrorFromStatus(allowed, kRefusalRetryAfterMs);
    reply(refusal, false);
    return;
  }
  if (req.has_lease_revoke()) {
    // Whatever scope the client sent is replaced by the one its permissions give.
    Status scoped = authorizer_ != nullptr
                        ? authorizer_->ScopeLeaseRevoke(principal, req.mutable_lease_revoke(),
                                                        Authorizer::Clock::now())
                        : Status::OK();
    if (authorizer_ == nullptr) {
      req.mutable_lease_revoke()->set_scoped(false);
      req.mutable_lease_revoke()->clear_writable_prefixes();
      req.mutable_lease_revoke()->clear_scoped_for();
    }
    if (!scoped.ok()) {
      *err = ErrorFromStatus(scoped, kRefusalRetryAfterMs);
      reply(refusal, false);
      return;
    }
  }
  if (req.has_cas() && req.cas().key() == kAuthConfigKey) {
    // New permission rules: refuse what every node would refuse to load.
    authpb::AuthConfig config;
    Status valid = config.ParseFromString(req.cas().new_value())
                       ? ValidateAuthConfig(config)
                       : Status::InvalidArgument("permission rules do not parse");
    if (!valid.ok()) {
      err->set_code(kvpb::INVALID_ARGUMENT);
      err->set_message(std::string(valid.message()));
      reply(refusal, false);
      return;
    }
  }
  if (kvpb::Response early; intercept_ && intercept_(req, &early)) {
    early.set_request_id(req.request_id());
    early.set_served_by(self_.value());
    reply(early, false);
    return;
  }
  if (req.has_watch() || req.has_watch_cancel()) {
    if (!stream) {
      err->set_code(kvpb::INVALID_ARGUMENT);
      err->set_message("watches need a client connection to stream on");
      reply(refusal, false);
      return;
    }
    stream(std::move(req));
    return;
  }
  const bool is_scan = req.has_scan();
  const bool is_lease_ttl = req.has_lease_ttl();
  // Captures no `this`: the store may answer after the handler is gone (at shutdown).
  sink_->HandleRequest(std::move(req), [authorizer = authorizer_, principal, is_scan, is_lease_ttl,
                                        reply = std::move(reply)](kvpb::Response resp) {
    if (is_scan) FilterScan(authorizer, principal, &resp);
    if (is_lease_ttl) FilterLeaseKeys(authorizer, principal, &resp);
    reply(resp, false);
  });
}

bool ClientRequestHandler::MayRead(const Authorizer* authorizer, const Principal& p,
                                   std::string_view key) {
  if (IsReservedKey(key)) return false;
  return authorizer != nullptr ? authorizer->MayRead(p, key) : p.superuser();
}

void ClientRequestHandler::FilterWatchEvents(const Authorizer* authorizer, const Principal& p,
                                             kvpb::Response* resp) {
  if (!resp->has_watch() || resp->watch().events().empty()) return;
  auto* events = resp->mutable_watch()->mutable_events();
  int kept = 0;
  for (int i = 0; i < events->size(); ++i) {
    if (!MayRead(authorizer, p, events->Get(i).key())) continue;
    if (kept != i) events->SwapElements(kept, i);
    ++kept;
  }
  while (events->size() > kept) events->RemoveLast();
}

void ClientRequestHandler::FilterLeaseKeys(const Authorizer* authorizer, const Principal& p,
                                           kvpb::Response* resp) {
  if (!resp->has_lease_ttl()) return;
  auto* keys = resp->mutable_lease_ttl()->mutable_keys();
  int kept = 0;
  for (int i = 0; i < keys->size(); ++i) {
    if (!MayRead(authorizer, p, keys->Get(i))) continue;
    if (kept != i) keys->SwapElements(kept, i);
    ++kept;
  }
  while (keys->size() > kept) keys->RemoveLast();
}

void ClientRequestHandler::FilterScan(const Authorizer* authorizer, const Principal& p,
                                      kvpb::Response* resp) {
  if (!resp->has_scan()) return;
  kvpb::ScanResponse* scan = resp->mutable_scan();
  if (scan->kvs().empty()) return;
  const std::string last = scan->kvs(scan->kvs_size() - 1).key();
  bool dropped_reserved = false;
  int kept = 0;
  for (int i = 0; i < scan->kvs_size(); ++i) {
    const std::string& key = scan->kvs(i).key();
    dropped_reserved = dropped_reserved || IsReservedKey(key);
    if (!MayRead(authorizer, p, key)) continue;
    if (kept != i) scan->mutable_kvs()->SwapElements(kept, i);
    ++kept;
  }
  while (scan->kvs_size() > kept) scan->mutable_kvs()->RemoveLast();
  if (dropped_reserved && IsReservedKey(last)) {
    // Reserved keys sort after every user key: nothing readable follows them.
    scan->set_more(false);
  }
  if (scan->more()) scan->set_scanned_through(last);
}

}  // namespace ringkv::server

#include "server/auth_refresher.h"

#include <glog/logging.h>

#include "proto/auth.pb.h"
#include "proto/reserved_keys.h"
#include "server/auth_rules.h"

namespace ringkv::server {

AuthRefresher::AuthRefresher(AuthRefresherOptions options, Authorizer* authorizer)
    : options_(std::move(options)), authorizer_(authorizer) {}

AuthRefresher::~AuthRefresher() { Stop(); }

void AuthRefresher::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void AuthRefresher::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  client_.reset();
}

Status AuthRefresher::RefreshOnce() {
  if (client_ == nullptr) {
    client::ClientOptions co;
    co.endpoints = options_.endpoints;
    co.cluster_id = options_.cluster_id;
    co.tls = options_.tls;
    co.dial_timeout = std::chrono::milliseconds(1000);
    co.request_timeout = std::chrono::milliseconds(3000);
    co.attempt_timeout = std::chrono::milliseconds(1000);
    auto c = client::Client::Connect(co);  // learns the ring, so the get goes to the right shard
    if (!c.ok()) return c.status();
    client_ = std::move(c).value();
  }
  auto kv = client_->Get(authpb::kAuthConfigKey);
  if (!kv.ok()) return kv.status();
  authpb::AuthConfig config;
  uint64_t version = 0;
  if (kv->has_value()) {
    version = (*kv)->version;
    if (!config.ParseFromString((*kv)->value)) {
      return Status::Corruption("the stored permission rules do not parse");
    }
    if (Status s = ValidateAuthConfig(config); !s.ok()) return s;
  }
  authorizer_->SetRules(std::make_shared<const AuthRules>(AuthRules::Compile(config)), version,
                        Authorizer::Clock::now());
  if (version != installed_version_) {
    LOG(INFO) << "security: permission rules version " << version
              << " in force: " << config.users_size() << " user(s), " << config.roles_size()
              << " role(s)";
    installed_version_ = version;
  }
  return Status::OK();
}

void AuthRefresher::Loop() {
  for (;;) {
    Status s = RefreshOnce();
    if (!s.ok() && !failing_) {
      LOG(WARNING) << "security: cannot read the permission rules from the cluster (" << s
                   << "); keeping the previous ones while they are fresh";
    } else if (s.ok() && failing_) {
      LOG(INFO) << "security: reading the permission rules works again";
    }
    failing_ = !s.ok();
    std::unique_lock<std::mutex> l(mu_);
    // Retry sooner while failing (and at start), so a new node serves users quickly.
    const auto wait =
        failing_ ? std::min(options_.interval, std::chrono::milliseconds(250)) : options_.interval;
    if (cv_.wait_for(l, wait, [&] { return stopping_; })) return;
  }
}

}  // namespace ringkv::server

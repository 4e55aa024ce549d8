#include "server/credential_watcher.h"

#include <glog/logging.h>

#include <ctime>

namespace ringkv::server {
namespace {

std::string FormatTime(std::chrono::system_clock::time_point t) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

}  // namespace

CredentialWatcher::~CredentialWatcher() { Stop(); }

void CredentialWatcher::AddTls(std::string name, std::shared_ptr<net::TlsCredentials> creds,
                               bool warn_expiry) {
  std::lock_guard<std::mutex> l(mu_);
  Source s;
  s.name = std::move(name);
  s.tls = creds;
  s.warn_expiry = warn_expiry;
  s.reload = [creds](bool force) { return creds->Reload(force); };
  sources_.push_back(std::move(s));
}

void CredentialWatcher::AddOther(std::string name, std::function<Result<bool>(bool force)> reload) {
  std::lock_guard<std::mutex> l(mu_);
  Source s;
  s.name = std::move(name);
  s.reload = std::move(reload);
  sources_.push_back(std::move(s));
}

void CredentialWatcher::Start() {
  {
    std::lock_guard<std::mutex> l(mu_);
    for (Source& s : sources_) CheckExpiry(s);
  }
  thread_ = std::thread([this] { Loop(); });
}

void CredentialWatcher::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

Status CredentialWatcher::ReloadAll() {
  std::lock_guard<std::mutex> l(mu_);
  Status first;
  for (Source& s : sources_) {
    Status st = ReloadOne(s, /*force=*/true);
    if (first.ok() && !st.ok()) first = st;
  }
  return first;
}

Status CredentialWatcher::ReloadOne(Source& s, bool force) {
  Result<bool> r = s.reload(force);
  if (!r.ok()) {
    ++failures_;
    LOG(ERROR) << "security: cannot reload " << s.name << " credentials, keeping the previous "
               << "ones: " << r.status().message();
    return r.status();
  }
  if (*r) {
    if (s.tls != nullptr && s.warn_expiry) {
      auto ctx = s.tls->Current();
      LOG(INFO) << "security: loaded the " << s.name << " TLS certificate " << ctx->subject()
                << (ctx->not_after() ? ", valid until " + FormatTime(*ctx->not_after()) : "");
    } else if (s.tls == nullptr) {
      LOG(INFO) << "security: reloaded " << s.name;
    }
    s.warned = false;  // a new certificate: judge its expiry afresh
    CheckExpiry(s);
  }
  return Status::OK();
}

void CredentialWatcher::CheckExpiry(Source& s) {
  if (s.tls == nullptr || !s.warn_expiry) return;
  auto ctx = s.tls->Current();
  auto left = net::SecondsUntilExpiry(*ctx, std::chrono::system_clock::now());
  if (!left || *left > options_.expiry_warning.count()) return;
  const auto now = std::chrono::steady_clock::now();
  if (s.warned && now - s.last_expiry_warning < std::chrono::hours(24)) return;
  s.warned = true;
  s.last_expiry_warning = now;
  if (*left <= 0) {
    LOG(ERROR) << "security: the " << s.name << " TLS certificate " << ctx->subject()
               << " EXPIRED at " << FormatTime(*ctx->not_after())
               << "; peers and clients refuse it. Replace the files (they reload by themselves)";
  } else {
    LOG(WARNING) << "security: the " << s.name << " TLS certificate " << ctx->subject()
                 << " expires in " << *left / 86400 << " days " << (*left % 86400) / 3600
                 << " hours (" << FormatTime(*ctx->not_after())
                 << "); replace the files before then (they reload by themselves)";
  }
}

void CredentialWatcher::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_) {
    if (options_.interval.count() > 0) {
      cv_.wait_for(l, options_.interval, [&] { return stopping_; });
    } else {
      cv_.wait_for(l, std::chrono::hours(1), [&] { return stopping_; });
    }
    if (stopping_) return;
    for (Source& s : sources_) {
      if (options_.interval.count() > 0) ReloadOne(s, /*force=*/false).IgnoreError();  // logged
      CheckExpiry(s);
    }
  }
}

std::map<std::string, int64_t> CredentialWatcher::ExpirySeconds() const {
  std::lock_guard<std::mutex> l(mu_);
  std::map<std::string, int64_t> out;
  const auto now = std::chrono::system_clock::now();
  for (const Source& s : sources_) {
    if (s.tls == nullptr) continue;
    if (auto left = net::SecondsUntilExpiry(*s.tls->Current(), now)) out[s.name] = *left;
  }
  return out;
}

uint64_t CredentialWatcher::reload_failures() const {
  std::lock_guard<std::mutex> l(mu_);
  return failures_;
}

}  // namespace ringkv::server

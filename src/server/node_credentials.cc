#include "server/node_credentials.h"

#include <glog/logging.h>

namespace ringkv::server {

Status NodeCredentials::Load(const net::TlsOptions& client_tls, const net::TlsOptions& peer_tls,
                             const std::string& listen_client, const std::string& listen_peer,
                             CredentialWatcherOptions watcher_options) {
  watcher_ = std::make_unique<CredentialWatcher>(watcher_options);
  if (!client_tls.cert_file.empty()) {
    auto c = net::TlsCredentials::Create(net::TlsRole::kServer, client_tls);
    if (!c.ok()) return Status(c.status().code(), "client port TLS: " + c.status().ToString());
    client_ = *c;
    watcher_->AddTls("client port", client_);
  } else {
    LOG(WARNING) << "security: the client port " << listen_client
                 << " is UNAUTHENTICATED and unencrypted (no --tls_cert): anyone who can reach "
                    "it can read and write every key";
  }
  if (client_ != nullptr) {
    // The admin port serves health checks (no certificates there) and the HTTP API (which
    // must know its clients): certificates are asked for, not required, when the client port
    // asks for them.
    net::TlsOptions admin = client_tls;
    if (admin.client_auth != net::ClientCertAuth::kOff) {
      admin.client_auth = net::ClientCertAuth::kOptional;
    }
    auto a = net::TlsCredentials::Create(net::TlsRole::kServer, admin);
    if (!a.ok()) return Status(a.status().code(), "admin port TLS: " + a.status().ToString());
    admin_ = *a;
    watcher_->AddTls("admin port", admin_, /*warn_expiry=*/false);
    net::TlsOptions dial;
    dial.cert_file = client_tls.cert_file;
    dial.key_file = client_tls.key_file;
    dial.ca_file = client_tls.ca_file;
    auto d = net::TlsCredentials::Create(net::TlsRole::kClient, dial);
    if (!d.ok()) return Status(d.status().code(), "client port TLS: " + d.status().ToString());
    client_dial_ = *d;
    watcher_->AddTls("client port (dialing)", client_dial_, false);
  }
  if (client_ != nullptr && client_tls.client_auth == net::ClientCertAuth::kOff) {
    LOG(WARNING) << "security: the client port uses TLS without client certificates "
                    "(--client_cert_auth=off): clients are not authenticated";
  }
  if (!peer_tls.cert_file.empty()) {
    if (peer_tls.ca_file.empty()) {
      return Status::InvalidArgument(
          "peer port TLS needs a CA file (--peer_tls_ca or --tls_ca): peers authenticate each "
          "other");
    }
    net::TlsOptions server = peer_tls;
    server.client_auth = net::ClientCertAuth::kRequired;
    auto s = net::TlsCredentials::Create(net::TlsRole::kServer, server);
    if (!s.ok()) return Status(s.status().code(), "peer port TLS: " + s.status().ToString());
    net::TlsOptions client = peer_tls;
    client.insecure_skip_verify = false;
    auto c = net::TlsCredentials::Create(net::TlsRole::kClient, client);
    if (!c.ok()) return Status(c.status().code(), "peer port TLS: " + c.status().ToString());
    peer_server_ = *s;
    peer_client_ = *c;
    watcher_->AddTls("peer port", peer_server_);
    watcher_->AddTls("peer port (dialing)", peer_client_, false);
  } else {
    LOG(WARNING) << "security: the peer port " << listen_peer
                 << " is UNAUTHENTICATED and unencrypted (no --peer_tls_cert / --tls_cert): "
                    "anyone who can reach it and knows the cluster id can join as a peer";
  }
  return Status::OK();
}

}  // namespace ringkv::server

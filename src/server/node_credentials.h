// NodeCredentials: a node's TLS material for its three ports and the watcher that keeps it
// (and the gossip key ring, which gossip adds) current. Load builds, from the configured
// files: the client port's server side, the admin port's (the client port's certificate, with
// client certificates asked for rather than required), this node's dialing side of client
// ports (/status of other members), and both directions of the always-mutual peer port. A
// port without a certificate stays on plain TCP and Load warns about it.
//
// Thread-safety: Load from one thread before the node serves; afterwards the credentials are
// read-only pointers (each reloads itself, net/tls.h) and the watcher is thread-safe.
#ifndef RINGKV_SERVER_NODE_CREDENTIALS_H_
#define RINGKV_SERVER_NODE_CREDENTIALS_H_

#include <memory>
#include <string>

#include "common/status.h"
#include "net/tls.h"
#include "server/credential_watcher.h"

namespace ringkv::server {

class NodeCredentials {
 public:
  // Creates the watcher (not started; the caller may add sources, then Start it) and loads
  // `client_tls` (the client port, at `listen_client`) and `peer_tls` (the peer port, at
  // `listen_peer`); an empty cert_file leaves that port plain. Errors: InvalidArgument for a
  // peer certificate without a CA; a credential's load error, prefixed with its port.
  Status Load(const net::TlsOptions& client_tls, const net::TlsOptions& peer_tls,
              const std::string& listen_client, const std::string& listen_peer,
              CredentialWatcherOptions watcher_options);

  // Null when that port is plain TCP (or before Load).
  const std::shared_ptr<net::TlsCredentials>& client() const { return client_; }
  const std::shared_ptr<net::TlsCredentials>& peer_server() const { return peer_server_; }
  const std::shared_ptr<net::TlsCredentials>& peer_client() const { return peer_client_; }
  const std::shared_ptr<net::TlsCredentials>& admin() const { return admin_; }
  const std::shared_ptr<net::TlsCredentials>& client_dial() const { return client_dial_; }
  // Null before Load.
  CredentialWatcher* watcher() const { return watcher_.get(); }

 private:
  std::shared_ptr<net::TlsCredentials> client_;
  std::shared_ptr<net::TlsCredentials> peer_server_;
  std::shared_ptr<net::TlsCredentials> peer_client_;
  // The admin port's (client port certificate; client certificates optional when the client
  // port asks for them) and this node's dialing side of other client ports (/status).
  std::shared_ptr<net::TlsCredentials> admin_;
  std::shared_ptr<net::TlsCredentials> client_dial_;
  std::unique_ptr<CredentialWatcher> watcher_;
};

}  // namespace ringkv::server

#endif  // RINGKV_SERVER_NODE_CREDENTIALS_H_

// TLS configuration for the three TCP ports (client, peer, admin) and for dialers (the client
// library, kvctl, a node dialing its peers): certificates and keys loaded from PEM files into an
// OpenSSL context (through Asio's ssl::context), what a handshake proved about the remote
// (PeerIdentity), and credentials that reload when their files change.
//
// Policy decisions, in one place:
//   - TLS 1.2 at least (1.3 preferred: OpenSSL negotiates the highest both sides speak);
//     `min_version` can raise the floor to 1.3. Compression and renegotiation are off.
//   - A server always presents its certificate. Whether it asks the client for one is
//     ClientCertAuth: off (never), optional (asked, verified if sent), required (handshake
//     fails without a valid one). The peer port always runs with required.
//   - A dialer verifies the server's chain against its CA file and the dialed host against the
//     certificate's SANs (names and IP addresses), unless insecure_skip_verify.
//   - A "node certificate" is one whose extended key usage allows serverAuth (a certificate
//     without the extension allows everything). tools/make_certs.sh gives node certificates
//     serverAuth+clientAuth and client certificates clientAuth only, so the peer port can tell a
//     client certificate used by a would-be peer apart and refuse it.
//
// Thread-safety: TlsContext is immutable after Load (its ssl::context is only used to create
// streams, which OpenSSL allows from any thread). TlsCredentials is thread-safe.
#ifndef RINGKV_NET_TLS_H_
#define RINGKV_NET_TLS_H_

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"
#include "common/thread_annotations.h"

namespace ringkv::net {

enum class ClientCertAuth {
  kOff,       // no client certificate requested
  kOptional,  // requested; verified when sent; connections without one are anonymous
  kRequired,  // the handshake fails without a valid client certificate
};

// "off" | "optional" | "required" -> ClientCertAuth; InvalidArgument otherwise.
Result<ClientCertAuth> ParseClientCertAuth(std::string_view text);
std::string_view ClientCertAuthName(ClientCertAuth auth);

enum class TlsRole { kServer, kClient };

struct TlsOptions {
  // PEM certificate (chain) presented to the other side, and its private key. Required for a
  // server; optional for a client (then it presents no certificate).
  std::string cert_file;
  std::string key_file;
  // PEM bundle of the CA certificates that verify the other side. Required for a server that
  // asks for client certificates; for a client, empty means the system's default trust store.
  std::string ca_file;
  // Server only: whether clients must present a certificate. Default: off.
  ClientCertAuth client_auth = ClientCertAuth::kOff;
  // Client only: accept any server certificate (no chain or name check). Development only.
  // Default: false.
  bool insecure_skip_verify = false;
  // Lowest protocol version accepted: 12 (TLS 1.2) or 13 (TLS 1.3). Default: 12.
  int min_version = 12;
};

// What a completed TLS handshake proved about the remote end. Empty (has_certificate false) for
// plain TCP connections and for TLS clients that sent no certificate.
struct PeerIdentity {
  bool has_certificate = false;
  std::string common_name;             // subject CN; may be empty
  std::vector<std::string> dns_names;  // subjectAltName DNS entries
  bool node_certificate = false;       // extended key usage allows serverAuth (see above)
  std::string subject;                 // one-line subject, for log lines

  // The user this certificate names: its CN, or its first DNS SAN when the CN is empty.
  // Empty without a certificate.
  std::string UserName() const;
};

// What the certificate the remote end of `ssl` presented proves (empty without one). For TLS
// streams made outside net/ (the admin port's HTTP sessions).
PeerIdentity IdentityOfPeer(SSL* ssl);

// One loaded configuration. Create streams from ctx(); keep the TlsContext alive (shared_ptr)
// as long as any stream made from it.
class TlsContext {
 public:
  // Reads the files named by `options`. Errors: InvalidArgument for a missing required file or
  // bad option; IOError / InvalidArgument naming the file for unreadable or malformed PEM, and
  // for a key that does not match the certificate.
  static Result<std::shared_ptr<TlsContext>> Load(TlsRole role, const TlsOptions& options);

  boost::asio::ssl::context& ctx() { return ctx_; }
  TlsRole role() const { return role_; }
  const TlsOptions& options() const { return options_; }
  // The own certificate's notAfter and subject; nullopt / empty without a certificate.
  std::optional<std::chrono::system_clock::time_point> not_after() const { return not_after_; }
  const std::string& subject() const { return subject_; }

 private:
  TlsContext(TlsRole role, const TlsOptions& options);

  const TlsRole role_;
  const TlsOptions options_;
  boost::asio::ssl::context ctx_;
  std::optional<std::chrono::system_clock::time_point> not_after_;
  std::string subject_;
};

// The current TlsContext of one listener or dialer. Reload() replaces it when the files changed
// (mtime or size); connections already established keep the context they were made with, new
// ones get the new one. A reload that fails keeps the old context (the caller logs the error),
// so a half-written certificate file never takes a port down.
class TlsCredentials {
 public:
  // Loads once; errors as TlsContext::Load.
  static Result<std::shared_ptr<TlsCredentials>> Create(TlsRole role, TlsOptions options);

  std::shared_ptr<TlsContext> Current() const;
  const TlsOptions& options() const { return options_; }
  TlsRole role() const { return role_; }

  // Reloads when the files changed since the last load and then stayed the same until this
  // call (so a change is picked up at the second call after it), or always when `force`
  // (SIGHUP). Returns true when a new context is in use, false when nothing changed (yet), or
  // the load error (the previous context stays).
  Result<bool> Reload(bool force);

 private:
  TlsCredentials(TlsRole role, TlsOptions options) : role_(role), options_(std::move(options)) {}
  // "mtime:size;..." of every configured file; changes when any of them is rewritten.
  std::string Fingerprint() const;

  const TlsRole role_;
  const TlsOptions options_;
  mutable std::mutex mu_;
  std::shared_ptr<TlsContext> current_ GUARDED_BY(mu_);
  std::string fingerprint_ GUARDED_BY(mu_);  // of the files last loaded (or tried)
  std::string settling_ GUARDED_BY(mu_);     // of changed files seen once, not yet loaded
};

// Seconds from `now` until `ctx`'s own certificate expires (negative once expired); nullopt
// without a certificate.
std::optional<int64_t> SecondsUntilExpiry(const TlsContext& ctx,
                                          std::chrono::system_clock::time_point now);

}  // namespace ringkv::net

#endif  // RINGKV_NET_TLS_H_

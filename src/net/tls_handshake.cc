#include "net/tls_handshake.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>

namespace ringkv::net {
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

// TLS records start with a content type; a ClientHello is in a handshake record (22).
constexpr unsigned char kTlsHandshakeRecord = 0x16;

std::string Subject(X509* cert) {
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof(buf));
  return buf;
}


// The first certificate check that failed, recorded by the verify callback: OpenSSL's own
// handshake error only says "certificate verify failed".
struct VerifyFailure {
  int error = X509_V_OK;
  std::string subject;
  bool name_mismatch = false;
};

// One handshake in progress; kept alive by its pending operations.
struct HandshakeOp : std::enable_shared_from_this<HandshakeOp> {
  HandshakeOp(tcp::socket s, std::shared_ptr<TlsContext> c, StreamCallback cb)
      : context(std::move(c)),
        stream(std::make_unique<Stream::TlsSocket>(std::move(s), context->ctx())),
        timer(stream->get_executor()),
        done(std::move(cb)),
        failure(std::make_shared<VerifyFailure>()) {}

  void StartTimer(std::chrono::milliseconds timeout) {
    timer.expires_after(timeout);
    timer.async_wait([self = shared_from_this(), timeout](const error_code& ec) {
      if (ec || self->finished) return;
      self->Finish(Status::DeadlineExceeded("TLS handshake timed out after " +
                                            std::to_string(timeout.count()) + " ms"));
    });
  }

  void Finish(Status st) {
    if (finished) return;
    finished = true;
    timer.cancel();
    if (!st.ok()) {
      error_code ignored;
      stream->next_layer().close(ignored);
      done(std::move(st), std::nullopt);
      return;
    }
    PeerIdentity peer = IdentityOfPeer(stream->native_handle());
    done(Status::OK(), Stream(std::move(context), std::move(stream), std::move(peer)));
  }

  // Turns a failed handshake into words: the verify callback's record when a certificate was
  // refused here, else OpenSSL's reason (which names the alert the other side sent).
  Status HandshakeError(const error_code& ec) const {
    if (failure->name_mismatch) {
      return Status::FailedPrecondition("certificate verify failed: " + failure->subject +
                                        " does not match the dialed host " + server_host);
    }
    if (failure->error != X509_V_OK) {
      return Status::FailedPrecondition(
          std::string("certificate verify failed: ") +
          X509_verify_cert_error_string(failure->error) + " (subject " + failure->subject + ")");
    }
    if (ec == asio::error::eof || ec == asio::error::connection_reset ||
        ec == ssl::error::stream_truncated) {
      return Status::Unavailable("connection closed during the TLS handshake");
    }
    return Status::FailedPrecondition("TLS handshake failed: " + ec.message());
  }

  // Checks after a successful handshake that the library does not do itself.
  Status CheckPeer(bool require_node_certificate) const {
    if (!require_node_certificate) return Status::OK();
    PeerIdentity id = IdentityOfPeer(stream->native_handle());
    if (!id.has_certificate) {
      return Status::FailedPrecondition("no certificate presented; peers must authenticate");
    }
    if (!id.node_certificate) {
      return Status::FailedPrecondition("certificate " + id.subject +
                                        " is a client certificate, not a node certificate (no "
                                        "serverAuth usage); the peer port only admits nodes");
    }
    return Status::OK();
  }

  void InstallVerifyCallback(bool check_host) {
    auto rec = failure;
    std::optional<ssl::host_name_verification> host;
    if (check_host) host.emplace(server_host);
    stream->set_verify_callback([rec, host](bool preverified, ssl::verify_context& vc) mutable {
      X509_STORE_CTX* store = vc.native_handle();
      if (!preverified) {
        if (rec->error == X509_V_OK) {
          rec->error = X509_STORE_CTX_get_error(store);
          X509* c = X509_STORE_CTX_get_current_cert(store);
          rec->subject = c != nullptr ? Subject(c) : "?";
        }
        return false;
      }
      if (!host) return true;
      const bool leaf = X509_STORE_CTX_get_error_depth(store) == 0;
      const bool ok = (*host)(preverified, vc);
      if (!ok && leaf && !rec->name_mismatch) {
        rec->name_mismatch = true;
        X509* c = X509_STORE_CTX_get_current_cert(store);
        rec->subject = c != nullptr ? Subject(c) : "?";
      }
      return ok;
    });
  }

  std::shared_ptr<TlsContext> context;
  std::unique_ptr<Stream::TlsSocket> stream;
  asio::steady_timer timer;
  StreamCallback done;
  std::shared_ptr<VerifyFailure> failure;
  std::string server_host;
  bool finished = false;
};

void HandOverPlain(tcp::socket socket, StreamCallback done) {
  auto ex = socket.get_executor();
  auto shared = std::make_shared<tcp::socket>(std::move(socket));
  asio::post(ex, [shared, done = std::move(done)] {
    done(Status::OK(), Stream(std::move(*shared)));
  });
}

}  // namespace

PeerIdentity IdentityOfPeer(SSL* ssl) {
  PeerIdentity id;
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return id;
  id.has_certificate = true;
  id.subject = Subject(cert);
  X509_NAME* name = X509_get_subject_name(cert);
  const int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx >= 0) {
    ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
    id.common_name.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(cn)),
                          static_cast<size_t>(ASN1_STRING_length(cn)));
  }
  auto* sans = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; sans != nullptr && i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
    if (gn->type != GEN_DNS) continue;
    const ASN1_STRING* s = gn->d.dNSName;
    id.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                              static_cast<size_t>(ASN1_STRING_length(s)));
  }
  if (sans != nullptr) GENERAL_NAMES_free(sans);
  // Without the extension X509_get_extended_key_usage returns all bits (any use allowed).
  id.node_certificate = (X509_get_extended_key_usage(cert) & XKU_SSL_SERVER) != 0;
  X509_free(cert);
  return id;
}

void AsyncTlsAccept(tcp::socket socket, std::shared_ptr<TlsContext> context,
                    const TlsAcceptPolicy& policy, StreamCallback done) {
  if (context == nullptr) return HandOverPlain(std::move(socket), std::move(done));
  auto op = std::make_shared<HandshakeOp>(std::move(socket), std::move(context), std::move(done));
  op->InstallVerifyCallback(/*check_host=*/false);
  op->StartTimer(policy.timeout);
  const bool require_node = policy.require_node_certificate;
  // Peek at the first byte before OpenSSL reads anything: a plain-TCP client (one speaking our
  // frame protocol without TLS) is refused with that reason instead of an opaque
  // "wrong version number".
  op->stream->next_layer().async_wait(
      tcp::socket::wait_read, [op, require_node](const error_code& ec) {
        if (op->finished) return;
        if (ec) return op->Finish(Status::Unavailable("connection closed before TLS: " +
                                                      ec.message()));
        unsigned char first = 0;
        error_code rec;
        const size_t n = op->stream->next_layer().receive(asio::buffer(&first, 1),
                                                          tcp::socket::message_peek, rec);
        if (rec || n == 0) {
          return op->Finish(Status::Unavailable("connection closed before the TLS handshake"));
        }
        if (first != kTlsHandshakeRecord) {
          char hex[8];
          std::snprintf(hex, sizeof(hex), "0x%02x", first);
          return op->Finish(Status::FailedPrecondition(
              std::string("plain TCP connection (first byte ") + hex +
              ", not a TLS ClientHello): the client does not use TLS"));
        }
        op->stream->async_handshake(ssl::stream_base::server, [op, require_node](
                                                                  const error_code& hec) {
          if (op->finished) return;
          if (hec) return op->Finish(op->HandshakeError(hec));
          op->Finish(op->CheckPeer(require_node));
        });
      });
}

void AsyncTlsConnect(tcp::socket socket, std::shared_ptr<TlsContext> context,
                     const std::string& server_host, bool require_node_certificate,
                     std::chrono::milliseconds timeout, StreamCallback done) {
  if (context == nullptr) return HandOverPlain(std::move(socket), std::move(done));
  auto op = std::make_shared<HandshakeOp>(std::move(socket), std::move(context), std::move(done));
  op->server_host = server_host;
  const bool verify = !op->context->options().insecure_skip_verify;
  if (verify) op->InstallVerifyCallback(/*check_host=*/!server_host.empty());
  error_code ec;
  asio::ip::make_address(server_host, ec);
  if (ec && !server_host.empty()) {  // a name, not an IP literal: send it as SNI
    SSL_set_tlsext_host_name(op->stream->native_handle(), server_host.c_str());
  }
  op->StartTimer(timeout);
  op->stream->async_handshake(
      ssl::stream_base::client, [op, require_node_certificate](const error_code& hec) {
        if (op->finished) return;
        if (hec) return op->Finish(op->HandshakeError(hec));
        op->Finish(op->CheckPeer(require_node_certificate));
      });
}

}  // namespace ringkv::net

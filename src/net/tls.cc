#include "net/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <ctime>

namespace ringkv::net {
namespace ssl = boost::asio::ssl;

namespace {

// "<what> <file>: <OpenSSL's reason>" — the error_code of Asio's ssl::context calls carries the
// OpenSSL error, whose message names the problem ("no start line", "key values mismatch").
Status FileError(std::string_view what, const std::string& file,
                 const boost::system::error_code& ec) {
  return Status::InvalidArgument(std::string(what) + " " + file + ": " + ec.message());
}

bool Readable(const std::string& file) {
  struct stat st{};
  return ::stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string OneLineSubject(X509* cert) {
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof(buf));
  return buf;
}

std::optional<std::chrono::system_clock::time_point> NotAfter(X509* cert) {
  const ASN1_TIME* t = X509_get0_notAfter(cert);
  struct tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace

Result<ClientCertAuth> ParseClientCertAuth(std::string_view text) {
  if (text == "off" || text.empty()) return ClientCertAuth::kOff;
  if (text == "optional") return ClientCertAuth::kOptional;
  if (text == "required") return ClientCertAuth::kRequired;
  return Status::InvalidArgument("client certificate auth must be off, optional or required, not '" +
                                 std::string(text) + "'");
}

std::string_view ClientCertAuthName(ClientCertAuth auth) {
  switch (auth) {
    case ClientCertAuth::kOff:
      return "off";
    case ClientCertAuth::kOptional:
      return "optional";
    case ClientCertAuth::kRequired:
      return "required";
  }
  return "?";
}

std::string PeerIdentity::UserName() const {
  if (!has_certificate) return "";
  if (!common_name.empty()) return common_name;
  return dns_names.empty() ? "" : dns_names.front();
}

TlsContext::TlsContext(TlsRole role, const TlsOptions& options)
    : role_(role),
      options_(options),
      ctx_(role == TlsRole::kServer ? ssl::context::tls_server : ssl::context::tls_client) {}

Result<std::shared_ptr<TlsContext>> TlsContext::Load(TlsRole role, const TlsOptions& options) {
  if (options.min_version != 12 && options.min_version != 13) {
    return Status::InvalidArgument("minimum TLS version must be 1.2 or 1.3");
  }
  if (role == TlsRole::kServer && (options.cert_file.empty() || options.key_file.empty())) {
    return Status::InvalidArgument("a TLS server needs a certificate and a key file");
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return Status::InvalidArgument("a TLS certificate needs its key file and vice versa");
  }
  if (role == TlsRole::kServer && options.client_auth != ClientCertAuth::kOff &&
      options.ca_file.empty()) {
    return Status::InvalidArgument(
        "client certificate authentication needs a CA file to verify client certificates");
  }
  for (const std::string* f : {&options.cert_file, &options.key_file, &options.ca_file}) {
    if (!f->empty() && !Readable(*f)) {
      return Status::InvalidArgument("TLS file " + *f + " does not exist or is not a file");
    }
  }
  std::shared_ptr<TlsContext> t(new TlsContext(role, options));
  ssl::context& ctx = t->ctx_;
  SSL_CTX* native = ctx.native_handle();
  SSL_CTX_set_min_proto_version(native,
                                options.min_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE);
  boost::system::error_code ec;
  if (!options.cert_file.empty()) {
    ctx.use_certificate_chain_file(options.cert_file, ec);
    if (ec) return FileError("TLS certificate", options.cert_file, ec);
    ctx.use_private_key_file(options.key_file, ssl::context::pem, ec);
    if (ec && ec.message().find("mismatch") != std::string::npos) {
      return Status::InvalidArgument("TLS key " + options.key_file +
                                     " does not match certificate " + options.cert_file);
    }
    if (ec) return FileError("TLS key", options.key_file, ec);
    if (SSL_CTX_check_private_key(native) != 1) {
      ERR_clear_error();
      return Status::InvalidArgument("TLS key " + options.key_file +
                                     " does not match certificate " + options.cert_file);
    }
    if (X509* own = SSL_CTX_get0_certificate(native)) {
      t->subject_ = OneLineSubject(own);
      t->not_after_ = NotAfter(own);
    }
  }
  if (!options.ca_file.empty()) {
    ctx.load_verify_file(options.ca_file, ec);
    if (ec) return FileError("TLS CA", options.ca_file, ec);
  } else if (role == TlsRole::kClient) {
    ctx.set_default_verify_paths(ec);  // best effort: a client without --cacert trusts the system
  }
  if (role == TlsRole::kServer) {
    switch (options.client_auth) {
      case ClientCertAuth::kOff:
        ctx.set_verify_mode(ssl::verify_none);
        break;
      case ClientCertAuth::kOptional:
        ctx.set_verify_mode(ssl::verify_peer);
        break;
      case ClientCertAuth::kRequired:
        ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
        break;
    }
    if (!options.ca_file.empty()) {
      // Sent to clients in the CertificateRequest, so they pick a certificate of this CA.
      SSL_CTX_set_client_CA_list(native, SSL_load_client_CA_file(options.ca_file.c_str()));
    }
  } else {
    ctx.set_verify_mode(options.insecure_skip_verify ? ssl::verify_none : ssl::verify_peer);
  }
  ERR_clear_error();
  return t;
}

std::optional<int64_t> SecondsUntilExpiry(const TlsContext& ctx,
                                          std::chrono::system_clock::time_point now) {
  if (!ctx.not_after()) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::seconds>(*ctx.not_after() - now).count();
}

Result<std::shared_ptr<TlsCredentials>> TlsCredentials::Create(TlsRole role, TlsOptions options) {
  std::shared_ptr<TlsCredentials> c(new TlsCredentials(role, std::move(options)));
  auto r = c->Reload(/*force=*/true);
  if (!r.ok()) return r.status();
  return c;
}

std::shared_ptr<TlsContext> TlsCredentials::Current() const {
  std::lock_guard<std::mutex> l(mu_);
  return current_;
}

std::string TlsCredentials::Fingerprint() const {
  std::string fp;
  for (const std::string* f : {&options_.cert_file, &options_.key_file, &options_.ca_file}) {
    struct stat st{};
    if (f->empty() || ::stat(f->c_str(), &st) != 0) {
      fp += "-;";
      continue;
    }
    fp += std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ":" +
          std::to_string(st.st_size) + ":" + std::to_string(st.st_ino) + ";";
  }
  return fp;
}

Result<bool> TlsCredentials::Reload(bool force) {
  const std::string fp = Fingerprint();
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!force && fp == fingerprint_) return false;
    // Changed files are loaded once they stayed the same for one more check: a certificate and
    // its key are replaced one after the other, and the moment in between would not load.
    if (!force && fp != settling_) {
      settling_ = fp;
      return false;
    }
  }
  auto loaded = TlsContext::Load(role_, options_);
  std::lock_guard<std::mutex> l(mu_);
  // Remember the failed files' fingerprint too: the error is reported once per change, not on
  // every poll, and the next edit of the files is tried again.
  fingerprint_ = fp;
  if (!loaded.ok()) return loaded.status();
  current_ = std::move(*loaded);
  return true;
}

}  // namespace ringkv::net

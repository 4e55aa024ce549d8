#include "net/test_certs.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

namespace ringkv::net::testing {
namespace {

[[noreturn]] void Fail(const std::string& what) {
  std::cerr << "test_certs: " << what << "\n";
  std::abort();
}

EVP_PKEY* NewKey() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) Fail("EC key generation failed");
  return key;
}

void AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) Fail("bad extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

std::string ToPem(X509* cert) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(b);
  return out;
}

std::string ToPem(EVP_PKEY* key) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(b);
  return out;
}

uint64_t g_serial = 1000;

// A certificate for `key` signed by `issuer_key` (self-signed when issuer is null).
X509* MakeCert(EVP_PKEY* key, const CertSpec& spec, X509* issuer, EVP_PKEY* issuer_key, bool ca) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert), ++g_serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), spec.not_before_s);
  X509_gmtime_adj(X509_getm_notAfter(cert), spec.not_after_s);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("RingKV test"), -1, -1, 0);
  if (!spec.common_name.empty()) {
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(spec.common_name.c_str()),
                               -1, -1, 0);
  }
  X509_set_issuer_name(cert, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509* iss = issuer != nullptr ? issuer : cert;
  if (ca) {
    AddExt(cert, iss, NID_basic_constraints, "critical,CA:TRUE");
    AddExt(cert, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExt(cert, iss, NID_basic_constraints, "critical,CA:FALSE");
    AddExt(cert, iss, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    std::string eku;
    if (spec.server_auth) eku += "serverAuth";
    if (spec.client_auth) eku += std::string(eku.empty() ? "" : ",") + "clientAuth";
    if (!eku.empty()) AddExt(cert, iss, NID_ext_key_usage, eku);
    std::string san;
    for (const auto& d : spec.dns_names) san += (san.empty() ? "" : ",") + ("DNS:" + d);
    for (const auto& ip : spec.ip_addresses) san += (san.empty() ? "" : ",") + ("IP:" + ip);
    if (!san.empty()) AddExt(cert, iss, NID_subject_alt_name, san);
  }
  if (X509_sign(cert, issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
    Fail("signing failed");
  }
  return cert;
}

}  // namespace

struct TestCa::Impl {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  ~Impl() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

TestCa::TestCa(std::string dir, std::string name)
    : impl_(std::make_unique<Impl>()), dir_(std::move(dir)) {
  impl_->key = NewKey();
  CertSpec spec;
  spec.common_name = name + " CA";
  spec.not_after_s = 365 * 86400;
  impl_->cert = MakeCert(impl_->key, spec, nullptr, nullptr, /*ca=*/true);
  ca_file_ = dir_ + "/" + name + "-ca.crt";
  WriteFile(ca_file_, ToPem(impl_->cert));
}

TestCa::~TestCa() = default;

CertFiles TestCa::Issue(const std::string& file, const CertSpec& spec) {
  EVP_PKEY* key = NewKey();
  X509* cert = MakeCert(key, spec, impl_->cert, impl_->key, /*ca=*/false);
  CertFiles out{dir_ + "/" + file + ".crt", dir_ + "/" + file + ".key"};
  WriteFile(out.cert, ToPem(cert));
  WriteFile(out.key, ToPem(key));
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

CertFiles TestCa::IssueNode(const std::string& file, const std::string& cn) {
  CertSpec spec;
  spec.common_name = cn;
  spec.dns_names = {"localhost"};
  spec.ip_addresses = {"127.0.0.1"};
  return Issue(file, spec);
}

CertFiles TestCa::IssueClient(const std::string& file, const std::string& cn) {
  CertSpec spec;
  spec.common_name = cn;
  spec.server_auth = false;
  return Issue(file, spec);
}

void WriteFile(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) Fail("cannot write " + tmp);
    f << content;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) Fail("cannot rename to " + path);
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace ringkv::net::testing

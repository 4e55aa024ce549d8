// Certificates for TLS tests, made in-process with OpenSSL (no openssl CLI, no fixed files): a
// CA, and certificates it issues with any CN, SANs, key usage and validity window — including
// already expired ones and ones from a second, unrelated CA for the hostile-peer cases.
// Keys are EC P-256 (fast to generate). Files are PEM, written under a caller's directory.
//
// Thread-safety: a TestCa is not thread-safe; use one per test.
#ifndef RINGKV_TESTS_NET_TEST_CERTS_H_
#define RINGKV_TESTS_NET_TEST_CERTS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ringkv::net::testing {

struct CertSpec {
  std::string common_name;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  // Extended key usage: a node certificate has both, a client certificate only client.
  bool server_auth = true;
  bool client_auth = true;
  // Validity relative to now, in seconds. Default: from an hour ago for 30 days.
  int64_t not_before_s = -3600;
  int64_t not_after_s = 30 * 86400;
};

struct CertFiles {
  std::string cert;
  std::string key;
};

class TestCa {
 public:
  // Creates a CA named `name` whose certificate is written to <dir>/<name>-ca.crt.
  TestCa(std::string dir, std::string name);
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  const std::string& ca_file() const { return ca_file_; }
  // Issues a certificate; writes <dir>/<file>.crt and <dir>/<file>.key.
  CertFiles Issue(const std::string& file, const CertSpec& spec);
  // A node certificate for 127.0.0.1 / localhost, as tools/make_certs.sh makes.
  CertFiles IssueNode(const std::string& file, const std::string& cn = "node");
  // A client certificate (clientAuth only) for user `cn`.
  CertFiles IssueClient(const std::string& file, const std::string& cn);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string dir_;
  std::string ca_file_;
};

// Writes `content` to `path` (replacing it). Aborts the test binary on failure.
void WriteFile(const std::string& path, const std::string& content);
std::string ReadFile(const std::string& path);

}  // namespace ringkv::net::testing

#endif  // RINGKV_TESTS_NET_TEST_CERTS_H_

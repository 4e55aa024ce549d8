#include "gossip/keyring.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "common/coding.h"

namespace ringkv::gossip {
namespace {

constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;
constexpr size_t kHeaderBytes = 1 + 8 + 8;

const EVP_CIPHER* CipherFor(size_t key_bytes) {
  switch (key_bytes) {
    case 16:
      return EVP_aes_128_gcm();
    case 24:
      return EVP_aes_192_gcm();
    default:
      return EVP_aes_256_gcm();
  }
}

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

Result<std::string> DecodeBase64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return Status::InvalidArgument("not base64");
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return Status::InvalidArgument("not base64");
  size_t len = static_cast<size_t>(n);
  // EVP_DecodeBlock counts padding as zero bytes.
  if (text.back() == '=') --len;
  if (text.size() >= 2 && text[text.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

std::string EncodeBase64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                  reinterpret_cast<const unsigned char*>(bytes.data()),
                  static_cast<int>(bytes.size()));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

Result<Keyring> Keyring::Parse(std::string_view text) {
  Keyring ring;
  int line_no = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = Trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    auto key = DecodeBase64(line);
    if (!key.ok() || (key->size() != 16 && key->size() != 24 && key->size() != 32)) {
      return Status::InvalidArgument("gossip key on line " + std::to_string(line_no) +
                                     " is not base64 of 16, 24 or 32 bytes");
    }
    ring.keys_.push_back(std::move(*key));
  }
  if (ring.keys_.empty()) return Status::InvalidArgument("gossip key file holds no key");
  return ring;
}

Result<Keyring> Keyring::LoadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::IOError("cannot read gossip key file " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  auto ring = Parse(ss.str());
  if (!ring.ok()) {
    return Status(ring.status().code(), path + ": " + std::string(ring.status().message()));
  }
  return ring;
}

std::string Keyring::GenerateKey() {
  unsigned char key[32];
  RAND_bytes(key, sizeof(key));
  return EncodeBase64(std::string_view(reinterpret_cast<const char*>(key), sizeof(key)));
}

std::string Keyring::Fingerprints() const {
  std::string out;
  for (const std::string& k : keys_) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(k.data()), k.size(), digest);
    char hex[9];
    std::snprintf(hex, sizeof(hex), "%02x%02x%02x%02x", digest[0], digest[1], digest[2],
                  digest[3]);
    out += (out.empty() ? "" : ",") + std::string(hex);
  }
  return out;
}

std::string Keyring::Seal(std::string_view plaintext, uint64_t sender, uint64_t sequence) const {
  const std::string& key = keys_.front();
  std::string out;
  out.reserve(kSealOverhead + plaintext.size());
  out.push_back(static_cast<char>(kSealedVersion));
  PutFixed64BE(&out, sender);
  PutFixed64BE(&out, sequence);
  unsigned char nonce[kNonceBytes];
  RAND_bytes(nonce, sizeof(nonce));
  out.append(reinterpret_cast<const char*>(nonce), sizeof(nonce));
  const size_t ct_at = out.size();
  out.resize(ct_at + plaintext.size() + kTagBytes);
  auto* ct = reinterpret_cast<unsigned char*>(out.data() + ct_at);

  CtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  EVP_EncryptInit_ex(ctx.get(), CipherFor(key.size()), nullptr,
                     reinterpret_cast<const unsigned char*>(key.data()), nonce);
  EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(out.data()),
                    kHeaderBytes);
  EVP_EncryptUpdate(ctx.get(), ct, &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
                    static_cast<int>(plaintext.size()));
  EVP_EncryptFinal_ex(ctx.get(), ct + len, &len);
  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, ct + plaintext.size());
  return out;
}

Result<Keyring::Opened> Keyring::Open(std::string_view datagram) const {
  if (datagram.size() < kSealOverhead) {
    return Status::Corruption("too short for a sealed gossip datagram (" +
                              std::to_string(datagram.size()) + " bytes)");
  }
  if (static_cast<uint8_t>(datagram[0]) != kSealedVersion) {
    return Status::Corruption("not a sealed gossip datagram (unencrypted, or version " +
                              std::to_string(static_cast<uint8_t>(datagram[0])) + ")");
  }
  Opened o;
  o.sender = DecodeFixed64BE(datagram.data() + 1);
  o.sequence = DecodeFixed64BE(datagram.data() + 9);
  const auto* nonce = reinterpret_cast<const unsigned char*>(datagram.data() + kHeaderBytes);
  const size_t ct_len = datagram.size() - kSealOverhead;
  const auto* ct =
      reinterpret_cast<const unsigned char*>(datagram.data() + kHeaderBytes + kNonceBytes);
  std::string tag(datagram.substr(datagram.size() - kTagBytes));
  for (size_t i = 0; i < keys_.size(); ++i) {
    const std::string& key = keys_[i];
    CtxPtr ctx(EVP_CIPHER_CTX_new());
    int len = 0;
    o.plaintext.assign(ct_len, '\0');
    auto* pt = reinterpret_cast<unsigned char*>(o.plaintext.data());
    EVP_DecryptInit_ex(ctx.get(), CipherFor(key.size()), nullptr,
                       reinterpret_cast<const unsigned char*>(key.data()), nonce);
    EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                      reinterpret_cast<const unsigned char*>(datagram.data()), kHeaderBytes);
    EVP_DecryptUpdate(ctx.get(), pt, &len, ct, static_cast<int>(ct_len));
    EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data());
    if (EVP_DecryptFinal_ex(ctx.get(), pt + len, &len) == 1) {
      o.key_index = i;
      return o;
    }
  }
  return Status::Corruption("no key of the gossip key ring authenticates it");
}

}  // namespace ringkv::gossip

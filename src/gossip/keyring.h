// Keyring: authenticated encryption of gossip datagrams with a shared key ring (AES-GCM), as
// HashiCorp memberlist's keyring does for Consul. Every node seals what it sends with the
// ring's primary key and opens what it receives with any key of the ring, so keys rotate
// without a flag day: install a new key everywhere (it opens), make it primary everywhere (it
// seals), remove the old one.
//
// Sealed datagram (all integers big-endian):
//   [u8 version = 1][u64 sender node id][u64 sequence][12-byte random nonce][ciphertext][16-byte tag]
// The version, sender and sequence are authenticated as additional data, so a receiver can trust
// them once a key opens the datagram: the sequence feeds the replay guard (replay_guard.h).
// Random 96-bit nonces are safe for far more datagrams than a key ever seals (2^32).
//
// Key file: one base64 key per line (16, 24 or 32 bytes: AES-128/192/256), the first line is
// the primary key; blank lines and lines starting with '#' are ignored.
//
// Thread-safety: a Keyring is immutable; Seal and Open may run concurrently.
#ifndef RINGKV_GOSSIP_KEYRING_H_
#define RINGKV_GOSSIP_KEYRING_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace ringkv::gossip {

inline constexpr uint8_t kSealedVersion = 1;
// version + sender + sequence + nonce + tag.
inline constexpr size_t kSealOverhead = 1 + 8 + 8 + 12 + 16;

class Keyring {
 public:
  // Parses key file text (see above). InvalidArgument naming the line for a key that is not
  // base64 or not 16/24/32 bytes, or when there is no key at all.
  static Result<Keyring> Parse(std::string_view text);
  // Reads and parses `path`; IOError when it cannot be read.
  static Result<Keyring> LoadFile(const std::string& path);
  // A new random 32-byte key, base64.
  static std::string GenerateKey();

  size_t size() const { return keys_.size(); }
  // Short, non-secret names of the keys (first 8 hex digits of their SHA-256), primary first,
  // for log lines: "3f2a9c1e,77b0d2aa".
  std::string Fingerprints() const;

  // Seals `plaintext` with the primary key.
  std::string Seal(std::string_view plaintext, uint64_t sender, uint64_t sequence) const;

  struct Opened {
    std::string plaintext;
    uint64_t sender = 0;
    uint64_t sequence = 0;
    size_t key_index = 0;  // which key of the ring opened it (0 = primary)
  };
  // Opens a sealed datagram with the first key of the ring that authenticates it. Corruption
  // for a datagram too short, of another version, or that no key authenticates (tampered,
  // sealed with a key not in the ring, or not sealed at all).
  Result<Opened> Open(std::string_view datagram) const;

 private:
  std::vector<std::string> keys_;  // raw key bytes, primary first
};

}  // namespace ringkv::gossip

#endif  // RINGKV_GOSSIP_KEYRING_H_

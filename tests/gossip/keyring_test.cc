// Gossip key ring and replay guard: sealing and opening, tampering, keys outside the ring, the
// install / use / remove rotation, key file parsing; the sliding replay window.
#include "gossip/keyring.h"

#include <gtest/gtest.h>

#include "gossip/replay_guard.h"
#include "testutil/status_matchers.h"

namespace ringkv::gossip {
namespace {

Keyring Ring(const std::string& text) {
  auto r = Keyring::Parse(text);
  EXPECT_OK(r.status());
  return *r;
}

TEST(KeyringTest, SealOpenRoundTripCarriesSenderAndSequence) {
  Keyring ring = Ring(Keyring::GenerateKey());
  std::string sealed = ring.Seal("hello gossip", 7, 123456789);
  EXPECT_EQ(sealed.size(), std::string("hello gossip").size() + kSealOverhead);
  EXPECT_EQ(sealed.find("hello"), std::string::npos);  // encrypted
  auto opened = ring.Open(sealed);
  ASSERT_OK(opened.status());
  EXPECT_EQ(opened->plaintext, "hello gossip");
  EXPECT_EQ(opened->sender, 7u);
  EXPECT_EQ(opened->sequence, 123456789u);
  EXPECT_EQ(opened->key_index, 0u);
  // Random nonces: the same message seals differently.
  EXPECT_NE(ring.Seal("x", 1, 1), ring.Seal("x", 1, 1));
}

TEST(KeyringTest, TamperedOrForeignDatagramsDoNotOpen) {
  Keyring ring = Ring(Keyring::GenerateKey());
  Keyring other = Ring(Keyring::GenerateKey());
  std::string sealed = ring.Seal("payload", 1, 2);
  EXPECT_TRUE(other.Open(sealed).status().IsCorruption());
  for (size_t i = 0; i < sealed.size(); ++i) {  // every byte is covered: header, body, tag
    std::string bad = sealed;
    bad[i] ^= 0x01;
    EXPECT_FALSE(ring.Open(bad).ok()) << "flipped byte " << i;
  }
  EXPECT_FALSE(ring.Open(sealed.substr(0, kSealOverhead - 1)).ok());
  EXPECT_FALSE(ring.Open("\x00\x00\x00\x00plain datagram of the unencrypted codec").ok());
}

TEST(KeyringTest, RotationInstallUseRemove) {
  const std::string old_key = Keyring::GenerateKey(), new_key = Keyring::GenerateKey();
  Keyring before = Ring(old_key);
  Keyring installed = Ring(old_key + "\n" + new_key + "\n");  // opens both, seals with old
  Keyring used = Ring(new_key + "\n" + old_key + "\n");       // seals with new
  Keyring removed = Ring(new_key);
  // During the rotation every pair of nodes in adjacent stages understands each other.
  EXPECT_OK(installed.Open(before.Seal("a", 1, 1)).status());
  EXPECT_OK(before.Open(installed.Seal("a", 1, 1)).status());
  EXPECT_OK(installed.Open(used.Seal("b", 1, 2)).status());
  EXPECT_OK(used.Open(installed.Seal("b", 1, 2)).status());
  EXPECT_OK(removed.Open(used.Seal("c", 1, 3)).status());
  EXPECT_OK(used.Open(removed.Seal("c", 1, 3)).status());
  auto via_second = installed.Open(used.Seal("d", 1, 4));
  ASSERT_OK(via_second.status());
  EXPECT_EQ(via_second->key_index, 1u);
  // After the removal, the old key no longer opens anything.
  EXPECT_FALSE(removed.Open(before.Seal("e", 1, 5)).ok());
}

TEST(KeyringTest, ParsesKeyFiles) {
  const std::string k = Keyring::GenerateKey();
  Keyring r = Ring("# gossip keys\n\n  " + k + "  \r\n# old:\n" + Keyring::GenerateKey() + "\n");
  EXPECT_EQ(r.size(), 2u);
  EXPECT_EQ(r.Fingerprints().size(), 17u);  // two 8-digit fingerprints and a comma
  EXPECT_EQ(r.Fingerprints().find(k.substr(0, 8)), std::string::npos);  // never the key
  EXPECT_TRUE(Keyring::Parse("# nothing\n").status().IsInvalidArgument());
  auto bad = Keyring::Parse(k + "\nnot-base64!\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 2"), std::string_view::npos) << bad.status();
  EXPECT_FALSE(Keyring::Parse("c2hvcnQ=\n").ok());  // "short": 5 bytes
  EXPECT_OK(Keyring::Parse("AAAAAAAAAAAAAAAAAAAAAA==\n").status());  // 16 bytes: AES-128
  EXPECT_TRUE(Keyring::LoadFile("/nonexistent/gossip.key").status().code() ==
              StatusCode::kIOError);
}

TEST(ReplayGuardTest, RefusesRepeatsAndTooOldAcceptsReordering) {
  using V = ReplayGuard::Verdict;
  ReplayGuard g;
  EXPECT_EQ(g.Check(1, 1000), V::kFresh);
  EXPECT_EQ(g.Check(1, 1000), V::kReplay);
  EXPECT_EQ(g.Check(1, 1002), V::kFresh);
  EXPECT_EQ(g.Check(1, 1001), V::kFresh);  // reordered, inside the window
  EXPECT_EQ(g.Check(1, 1001), V::kReplay);
  EXPECT_EQ(g.Check(2, 1001), V::kFresh);  // senders are independent
  EXPECT_EQ(g.Check(1, 1002 + ReplayGuard::kWindow), V::kFresh);
  EXPECT_EQ(g.Check(1, 1002), V::kTooOld);
  EXPECT_EQ(g.Check(1, 1003), V::kFresh);  // last in the window
  EXPECT_EQ(g.Check(1, 1003), V::kReplay);
}

TEST(ReplayGuardTest, WindowShiftsKeepTheRightBits) {
  using V = ReplayGuard::Verdict;
  ReplayGuard g;
  // Accept every third sequence over several window lengths, advancing by uneven steps.
  std::vector<uint64_t> accepted;
  for (uint64_t s = 5; s < 5 + 3 * ReplayGuard::kWindow; s += 3) {
    ASSERT_EQ(g.Check(9, s), V::kFresh) << s;
    accepted.push_back(s);
  }
  const uint64_t top = accepted.back();
  for (uint64_t s : accepted) {
    const V want = top - s >= ReplayGuard::kWindow ? V::kTooOld : V::kReplay;
    EXPECT_EQ(g.Check(9, s), want) << s;
  }
  EXPECT_EQ(g.Check(9, top - 1), V::kFresh);  // never seen, in the window
}

TEST(ReplayGuardTest, BoundedSenders) {
  ReplayGuard g(/*max_senders=*/3);
  for (uint64_t s = 1; s <= 10; ++s) EXPECT_EQ(g.Check(s, 1), ReplayGuard::Verdict::kFresh);
  EXPECT_EQ(g.senders(), 3u);
  EXPECT_EQ(g.Check(10, 1), ReplayGuard::Verdict::kReplay);  // recent ones are remembered
}

}  // namespace
}  // namespace ringkv::gossip

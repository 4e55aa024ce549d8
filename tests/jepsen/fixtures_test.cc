// Reproduces every label of the public ground-truth histories: Knossos cas-register (113 good,
// 7 bad), Porcupine's etcd logs (LABELS.tsv; etcd_095 has no label) and Porcupine's kv files.
// The fixtures live outside the repo (../shared/jepsen-fixtures); without them the tests skip.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "jepsen/checker/history_io.h"
#include "jepsen/checker/linearizability.h"
#include "jepsen/checker/well_formed.h"
#include "testutil/status_matchers.h"

namespace ringkv::jepsen {
namespace {

namespace fs = std::filesystem;

fs::path FixturesDir() { return fs::path(RINGKV_JEPSEN_FIXTURES_DIR); }

#define SKIP_WITHOUT_FIXTURES()                                                           \
  if (!fs::exists(FixturesDir())) {                                                       \
    GTEST_SKIP() << "jepsen fixtures not found at " << FixturesDir()                      \
                 << " (they are shared test data, not part of the repo)";                 \
  }

// Budget per key: generous, so that a verdict of `unknown` shows up as a failure, not a pass.
LinearizabilityOptions Options() {
  LinearizabilityOptions o;
  o.time_limit_per_key_s = 30;
  return o;
}

Verdict Check(const fs::path& file, LinearModelKind model) {
  auto history = ReadHistoryFile(file.string());
  EXPECT_OK(history);
  if (!history.ok()) return Verdict::kUnknown;
  auto report = CheckLinearizability(*history, model, Options());
  EXPECT_OK(report);
  if (!report.ok()) return Verdict::kUnknown;
  if (report->verdict != Verdict::kValid) {
    // Invalid verdicts must come with an explanation naming the op that couldn't go next.
    for (const KeyReport& k : report->keys) {
      if (k.verdict == Verdict::kInvalid) {
        EXPECT_TRUE(k.stuck.has_value()) << file;
        EXPECT_FALSE(k.explanation.empty()) << file;
      }
    }
  }
  return report->verdict;
}

void CheckDir(const fs::path& dir, Verdict expected, size_t expected_files) {
  size_t n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".edn") continue;
    ++n;
    EXPECT_EQ(Check(entry.path(), LinearModelKind::kRegister), expected) << entry.path();
  }
  EXPECT_EQ(n, expected_files) << dir;
}

TEST(KnossosFixtures, GoodHistoriesAreLinearizable) {
  SKIP_WITHOUT_FIXTURES();
  CheckDir(FixturesDir() / "knossos-cas-register" / "good", Verdict::kValid, 113);
}

TEST(KnossosFixtures, BadHistoriesAreNotLinearizable) {
  SKIP_WITHOUT_FIXTURES();
  CheckDir(FixturesDir() / "knossos-cas-register" / "bad", Verdict::kInvalid, 7);
}

std::map<std::string, bool> PorcupineLabels() {
  std::map<std::string, bool> labels;
  std::ifstream in(FixturesDir() / "porcupine" / "LABELS.tsv");
  std::string file, label;
  while (in >> file >> label) {
    if (label == "true" || label == "false") labels[file] = label == "true";
  }
  return labels;
}

TEST(PorcupineFixtures, EtcdLogsMatchLabels) {
  SKIP_WITHOUT_FIXTURES();
  std::map<std::string, bool> labels = PorcupineLabels();
  size_t checked = 0, linearizable = 0;
  for (const auto& [file, expected] : labels) {
    if (file.rfind("jepsen/", 0) != 0) continue;
    ++checked;
    linearizable += expected;
    EXPECT_EQ(Check(FixturesDir() / "porcupine" / file, LinearModelKind::kRegister),
              expected ? Verdict::kValid : Verdict::kInvalid)
        << file;
  }
  EXPECT_EQ(checked, 102u);  // etcd_000..102 without the unlabelled etcd_095
  EXPECT_EQ(linearizable, 23u);
}

TEST(PorcupineFixtures, KvFilesMatchLabels) {
  SKIP_WITHOUT_FIXTURES();
  std::map<std::string, bool> labels = PorcupineLabels();
  size_t checked = 0;
  for (const auto& [file, expected] : labels) {
    if (file.rfind("kv/", 0) != 0) continue;
    ++checked;
    EXPECT_EQ(Check(FixturesDir() / "porcupine" / file, LinearModelKind::kKv),
              expected ? Verdict::kValid : Verdict::kInvalid)
        << file;
  }
  EXPECT_EQ(checked, 6u);
}

TEST(Fixtures, AllHistoriesAreWellFormed) {
  SKIP_WITHOUT_FIXTURES();
  for (const auto& entry : fs::recursive_directory_iterator(FixturesDir())) {
    std::string ext = entry.path().extension().string();
    if (ext != ".edn" && ext != ".log" && ext != ".txt") continue;
    auto history = ReadHistoryFile(entry.path().string());
    ASSERT_OK(history);
    EXPECT_EQ(CheckWellFormed(*history), std::vector<std::string>{}) << entry.path();
  }
}

}  // namespace
}  // namespace ringkv::jepsen

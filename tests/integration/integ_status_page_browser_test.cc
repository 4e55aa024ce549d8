// The status page in a real browser: headless Chromium (Debian's `chromium`, installed by
// tools/install_deps.sh) loads http://<admin>/ of a 3-node cluster, runs its JavaScript, and
// the DOM it leaves is checked — one ring arc per shard (each coloured by a leader), every
// node listed, the shard table and the readiness checks filled in. A screenshot is taken too
// (RINGKV_STATUS_PAGE_SCREENSHOT=<path> keeps it, e.g. docs/status-page.png).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>

#include "integration/test_cluster.h"

namespace ringkv::integration {
namespace {

std::string FindChromium() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}) {
    if (std::filesystem::exists(p)) return p;
  }
  return "";
}

// Runs `cmd`, returns its stdout.
std::string Capture(const std::string& cmd, int* exit_code) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[8192];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

std::string ChromiumCommand(const std::string& chromium, const std::string& profile) {
  // --no-sandbox: tests run as root. The virtual time budget lets the page's fetches and
  // rendering finish before the DOM is dumped or the picture taken.
  return chromium + " --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage "
                    "--no-first-run --disable-extensions --hide-scrollbars "
                    "--user-data-dir=" + profile + " --virtual-time-budget=8000 "
                    "--window-size=1280,1200 ";
}

size_t Count(const std::string& text, const std::regex& re) {
  return static_cast<size_t>(
      std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// The page shows every shard with a leader, every node, ready checks, and its last refresh
// succeeded.
bool Settled(const std::string& dom) {
  for (int id = 1; id <= 3; ++id) {
    if (dom.find("<tr data-node=\"" + std::to_string(id) + "\">") == std::string::npos) return false;
  }
  return Count(dom, std::regex("<path[^>]*class=\"arc\"")) == 32u &&
         Count(dom, std::regex("<tr data-shard=\"\\d+\">")) == 32u &&
         dom.find("readyz check passed") != std::string::npos &&
         Count(dom, std::regex("class=\"arc\" data-shard=\"\\d+\" data-leader=\"0\"")) == 0u &&
         dom.find("<span id=\"error\"></span>") != std::string::npos;
}

TEST(StatusPageBrowserTest, RingArcsNodesAndShardsRenderInChromium) {
  const std::string chromium = FindChromium();
  if (chromium.empty()) {
    if (std::getenv("CI") != nullptr) FAIL() << "chromium missing: run tools/install_deps.sh";
    GTEST_SKIP() << "chromium is not installed (tools/install_deps.sh installs it)";
  }
  TestCluster c;
  ASSERT_TRUE(c.StartAll().ok());
  ASSERT_TRUE(c.WaitForLeader().ok());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(c.client().Put("k" + std::to_string(i), "v").ok());
  const std::string url = "http://" + c.admin_address(1) + "/";

  // The page draws what the cluster reports at that moment; right after start (more so on a
  // loaded 2-core CI machine) leadership can still move, and a shard is then drawn without a
  // leader or a refresh fails. So the DOM is dumped until it shows a settled cluster, with a
  // deadline; the checks below then run on the last dump.
  int rc = -1;
  std::string dom;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int attempt = 1;; ++attempt) {
    const std::string log = c.dir() + "/chrome-dom-" + std::to_string(attempt) + ".log";
    dom = Capture(ChromiumCommand(chromium, c.dir() + "/chrome-dom") + "--dump-dom " + url +
                      " 2>" + log,
                  &rc);
    ASSERT_EQ(rc, 0) << "chromium failed (attempt " << attempt << "): " << ReadFile(log);
    if (Settled(dom) || std::chrono::steady_clock::now() > deadline) break;
  }
  // One arc per shard's token range, each naming its shard and a leader.
  EXPECT_EQ(Count(dom, std::regex("<path[^>]*class=\"arc\"")), 32u) << dom.substr(0, 4000);
  std::set<std::string> shards;
  const std::regex arc("class=\"arc\" data-shard=\"(\\d+)\" data-leader=\"(\\d+)\"");
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), arc); it != std::sregex_iterator();
       ++it) {
    shards.insert((*it)[1]);
    EXPECT_NE((*it)[2], "0") << "shard " << (*it)[1] << " drawn without a leader";
  }
  EXPECT_EQ(shards.size(), 32u);
  // Every node listed; the shard table and the readiness checks filled in.
  for (int id = 1; id <= 3; ++id) {
    EXPECT_NE(dom.find("<tr data-node=\"" + std::to_string(id) + "\">"), std::string::npos)
        << "node " << id << " not listed";
  }
  EXPECT_EQ(Count(dom, std::regex("<tr data-shard=\"\\d+\">")), 32u);
  EXPECT_NE(dom.find("readyz check passed"), std::string::npos);
  EXPECT_NE(dom.find("<span id=\"error\"></span>"), std::string::npos) << "a refresh failed";

  const std::string png = c.dir() + "/status-page.png";
  Capture(ChromiumCommand(chromium, c.dir() + "/chrome-shot") + "--screenshot=" + png + " " + url +
              " >" + c.dir() + "/chrome-shot.log 2>&1",
          &rc);
  ASSERT_EQ(rc, 0) << "chromium screenshot failed: " << ReadFile(c.dir() + "/chrome-shot.log");
  std::ifstream f(png, std::ios::binary);
  std::string head(8, '\0');
  f.read(head.data(), 8);
  EXPECT_EQ(head, std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_GT(std::filesystem::file_size(png), 20000u);  // a page, not a blank
  if (const char* keep = std::getenv("RINGKV_STATUS_PAGE_SCREENSHOT")) {
    std::filesystem::copy_file(png, keep, std::filesystem::copy_options::overwrite_existing);
  }
}

}  // namespace
}  // namespace ringkv::integration

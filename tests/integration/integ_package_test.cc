// The client library as an installed product: `cmake --install` of this build into a temp
// prefix, then, as a user would,
//   - the installed headers include only the standard library and each other;
//   - libringkv.so carries its SONAME (libringkv.so.<major>.<minor>);
//   - examples/config_watcher builds out of tree with find_package(RingKV 0.2 CONFIG), and runs
//     against a real kvd, printing its configuration as it changes;
//   - find_package(RingKV 0.3) refuses this 0.2 package;
//   - a program compiled with `pkg-config --cflags --libs ringkv` writes and reads a key.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "integration/kvctl_run.h"
#include "integration/test_cluster.h"
#include "testutil/status_matchers.h"

namespace ringkv::integration {
namespace {

namespace fs = std::filesystem;

// A command line with its stderr in the output (what a failed compile or install printed).
ShellRun Shell(const std::string& cmd) { return RunShell(cmd + " 2>&1"); }

class PackageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TestClusterOptions o;
    o.nodes = 1;
    o.extra_flags = {"--replication=1", "--shards=4"};
    cluster_ = std::make_unique<TestCluster>(o);
    prefix_ = cluster_->dir() + "/prefix";
    ShellRun install = Shell("cmake --install " + std::string(RINGKV_BUILD_DIR) +
                                " --prefix " + prefix_ + " --component client");
    ASSERT_EQ(install.exit_code, 0) << install.out;
  }

  std::unique_ptr<TestCluster> cluster_;
  std::string prefix_;
};

TEST_F(PackageTest, InstalledHeadersNeedOnlyTheStandardLibrary) {
  const fs::path inc = fs::path(prefix_) / "include" / "ringkv";
  for (const char* h : {"client.h", "status.h", "result.h", "version.h"}) {
    EXPECT_TRUE(fs::exists(inc / h)) << h;
  }
  const std::regex include_line(R"(^\s*#\s*include\s*([<"])([^>"]+)[>"])");
  for (const auto& entry : fs::directory_iterator(inc)) {
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      std::smatch m;
      if (!std::regex_search(line, m, include_line)) continue;
      const std::string header = m[2].str();
      const bool ours = header.rfind("ringkv/", 0) == 0;
      const bool standard = m[1].str() == "<" && header.find('/') == std::string::npos &&
                            header.find('.') == std::string::npos;
      EXPECT_TRUE(ours || standard) << entry.path().filename() << " includes " << header;
    }
  }
  // Each header compiles on its own.
  for (const char* h : {"client.h", "status.h", "result.h", "version.h"}) {
    ShellRun r = Shell("echo '#include <ringkv/" + std::string(h) +
                          ">' | c++ -std=c++20 -fsyntax-only -Wall -Wextra -Werror -I " + prefix_ +
                          "/include -x c++ -");
    EXPECT_EQ(r.exit_code, 0) << h << ": " << r.out;
  }
}

TEST_F(PackageTest, SharedLibraryWithSoname) {
  ShellRun r = Shell("readelf -d " + prefix_ + "/lib/libringkv.so");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("Library soname: [libringkv.so." + std::string(RINGKV_SOVERSION) + "]"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(fs::exists(prefix_ + "/lib/pkgconfig/ringkv.pc"));
  EXPECT_TRUE(fs::exists(prefix_ + "/lib/cmake/RingKV/RingKVConfig.cmake"));
  EXPECT_TRUE(fs::exists(prefix_ + "/lib/cmake/RingKV/RingKVConfigVersion.cmake"));
}

TEST_F(PackageTest, ExampleBuiltOutOfTreeFollowsItsConfiguration) {
  const std::string build = cluster_->dir() + "/example-build";
  ShellRun cfg = Shell("cmake -S " + std::string(RINGKV_SOURCE_DIR) +
                          "/examples/config_watcher -B " + build + " -G Ninja -DCMAKE_PREFIX_PATH=" +
                          prefix_);
  ASSERT_EQ(cfg.exit_code, 0) << cfg.out;
  ShellRun bld = Shell("cmake --build " + build);
  ASSERT_EQ(bld.exit_code, 0) << bld.out;

  // A newer minor version is not this one (0.x: minor versions may break).
  const std::string newer = cluster_->dir() + "/needs-0.3";
  fs::create_directories(newer);
  std::ofstream(newer + "/CMakeLists.txt")
      << "cmake_minimum_required(VERSION 3.16)\nproject(p LANGUAGES CXX)\n"
         "find_package(RingKV 0.3 CONFIG REQUIRED)\n";
  EXPECT_NE(Shell("cmake -S " + newer + " -B " + newer + "/b -DCMAKE_PREFIX_PATH=" + prefix_)
                .exit_code,
            0);

  ASSERT_OK(cluster_->StartAll());
  ASSERT_TRUE(cluster_->WaitForLeader().ok());
  client::Client& c = cluster_->client();
  ASSERT_OK(c.Put("cfg/color", "blue"));
  KvdProcess watcher(build + "/config_watcher",
                     {cluster_->client_address(1), "cfg/", "--exit-after", "2"},
                     cluster_->dir() + "/config_watcher.log");
  ASSERT_OK(watcher.Start());
  ASSERT_TRUE(WaitUntil(
      [&] { return watcher.ReadLog().find("config: cfg/color=blue") != std::string::npos; }, 15s))
      << watcher.ReadLog();
  ASSERT_OK(c.Put("cfg/size", "10"));
  ASSERT_OK(c.Delete("cfg/color"));
  ASSERT_TRUE(WaitUntil([&] { return !watcher.Running(); }, 15s)) << watcher.ReadLog();
  EXPECT_NE(watcher.ReadLog().find("config: cfg/color=blue cfg/size=10"), std::string::npos)
      << watcher.ReadLog();
  EXPECT_NE(watcher.ReadLog().find("config: cfg/size=10\n"), std::string::npos)
      << watcher.ReadLog();
  EXPECT_EQ(watcher.ReadLog().find("watch ended"), std::string::npos) << watcher.ReadLog();
}

TEST_F(PackageTest, PkgConfigConsumer) {
  const std::string src = cluster_->dir() + "/consumer.cc";
  std::ofstream(src) << R"(#include <ringkv/client.h>
#include <ringkv/version.h>
#include <cstring>
#include <iostream>
int main(int argc, char** argv) {
  ringkv::client::ClientOptions o;
  o.endpoints = {argv[1]};
  auto c = ringkv::client::Client::Connect(o);
  if (!c.ok()) { std::cerr << c.status().ToString() << "\n"; return 1; }
  if (!(*c)->Put("pc/key", "from pkg-config").ok()) return 1;
  auto v = (*c)->Get("pc/key");
  if (!v.ok() || !v->has_value()) return 1;
  std::cout << (*v)->value << " " << ringkv::client::LibraryVersion() << "\n";
  return std::strcmp(ringkv::client::LibraryVersion(), RINGKV_VERSION_STRING) == 0 ? 0 : 1;
})";
  const std::string bin = cluster_->dir() + "/consumer";
  ShellRun cc = Shell("PKG_CONFIG_PATH=" + prefix_ + "/lib/pkgconfig c++ -std=c++20 " + src +
                         " -o " + bin + " $(PKG_CONFIG_PATH=" + prefix_ +
                         "/lib/pkgconfig pkg-config --cflags --libs ringkv) -Wl,-rpath," +
                         prefix_ + "/lib");
  ASSERT_EQ(cc.exit_code, 0) << cc.out;
  ASSERT_OK(cluster_->StartAll());
  ASSERT_TRUE(cluster_->WaitForLeader().ok());
  ShellRun run = Shell(bin + " " + cluster_->client_address(1));
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_NE(run.out.find("from pkg-config"), std::string::npos) << run.out;
}

}  // namespace
}  // namespace ringkv::integration

// The ringkv-check binary: exit codes 0 valid / 1 invalid / 2 unknown or usage, text and JSON.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

namespace fs = std::filesystem;

struct CliRun {
  int exit_code;
  std::string out;
};

CliRun RunCli(const std::string& args) {
  std::string cmd = std::string(RINGKV_CHECK_BINARY) + " " + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  EXPECT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ringkv_check_cli_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  fs::path dir_;
};

TEST_F(CliTest, RegisterVerdictsAndExitCodes) {
  std::string good = Write("good.edn",
                           "{:process 0, :type :invoke, :f :write, :value 1}\n"
                           "{:process 0, :type :ok, :f :write, :value 1}\n"
                           "{:process 1, :type :invoke, :f :read, :value nil}\n"
                           "{:process 1, :type :ok, :f :read, :value 1}\n");
  std::string bad = Write("bad.edn",
                          "{:process 0, :type :invoke, :f :write, :value 1}\n"
                          "{:process 0, :type :ok, :f :write, :value 1}\n"
                          "{:process 1, :type :invoke, :f :read, :value nil}\n"
                          "{:process 1, :type :ok, :f :read, :value 2}\n");
  CliRun r = RunCli("--model register --history " + good);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("verdict: valid"), std::string::npos) << r.out;
  r = RunCli("--model register --history " + bad);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("could not linearize"), std::string::npos) << r.out;
  r = RunCli("--model register --json --history " + bad);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("\"verdict\": \"invalid\""), std::string::npos) << r.out;
}

TEST_F(CliTest, AppendAndSetModels) {
  std::string lost = Write("lost.edn",
                           "{:process 0, :type :invoke, :f :append, :key \"k\", :value 1}\n"
                           "{:process 0, :type :ok, :f :append, :key \"k\", :value 1}\n"
                           "{:process 1, :type :invoke, :f :read, :key \"k\", :value nil}\n"
                           "{:process 1, :type :ok, :f :read, :key \"k\", :value []}\n");
  CliRun r = RunCli("--model append --history " + lost);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("lost"), std::string::npos) << r.out;
  std::string set = Write("set.edn",
                          "{:process 0, :type :invoke, :f :add, :value 1}\n"
                          "{:process 0, :type :ok, :f :add, :value 1}\n"
                          "{:process 1, :type :invoke, :f :read, :value nil}\n"
                          "{:process 1, :type :ok, :f :read, :value #{1}}\n");
  EXPECT_EQ(RunCli("--model set --history " + set).exit_code, 0);
}

TEST_F(CliTest, UsageAndMalformedHistoriesExitTwo) {
  EXPECT_EQ(RunCli("").exit_code, 2);
  EXPECT_EQ(RunCli("--model nope --history x").exit_code, 2);
  EXPECT_EQ(RunCli("--model register --history " + (dir_ / "missing.edn").string()).exit_code, 2);
  std::string malformed = Write("m.edn",
                                "{:process 0, :type :invoke, :f :write, :value 1}\n"
                                "{:process 0, :type :invoke, :f :write, :value 2}\n");
  CliRun r = RunCli("--model register --history " + malformed);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("not well-formed"), std::string::npos) << r.out;
}

}  // namespace

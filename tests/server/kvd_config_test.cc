#include "server/kvd_config.h"

#include <gflags/gflags.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>

DEFINE_string(cfg_test_a, "default-a", "A.");
DEFINE_string(cfg_test_b, "default-b", "B.");
DEFINE_string(cfg_test_c, "default-c", "C.");
DEFINE_int32(cfg_test_n, 1, "N.");
DEFINE_bool(cfg_test_flag, true, "F.");

namespace ringkv::server {
namespace {

TEST(KvdConfigTest, FlagBeatsEnvBeatsFileBeatsDefault) {
  const std::string file = testing::TempDir() + "/kvd_config_test.flags";
  std::ofstream(file) << "# a comment\n--cfg_test_a=file-a\n--cfg_test_b=file-b\n"
                         "\n--cfg_test_c=file-c\n--nocfg_test_flag\n";
  std::map<std::string, std::string> env = {{"KVD_CFG_TEST_A", "env-a"},
                                            {"KVD_CFG_TEST_B", "env-b"}};
  std::string flagfile_arg = "--flagfile=" + file;
  std::vector<std::string> args = {"kvd", "--cfg_test_a=flag-a", flagfile_arg};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  int argc = static_cast<int>(argv.size());
  char** p = argv.data();
  auto sources = ResolveFlags(&argc, &p, [&](const std::string& n) -> const char* {
    auto it = env.find(n);
    return it == env.end() ? nullptr : it->second.c_str();
  });
  ASSERT_TRUE(sources.ok()) << sources.status();
  EXPECT_EQ(FLAGS_cfg_test_a, "flag-a");
  EXPECT_EQ(FLAGS_cfg_test_b, "env-b");
  EXPECT_EQ(FLAGS_cfg_test_c, "file-c");
  EXPECT_EQ(FLAGS_cfg_test_n, 1);
  EXPECT_FALSE(FLAGS_cfg_test_flag);
  EXPECT_EQ(sources->at("cfg_test_a"), FlagSource::kCommandLine);
  EXPECT_EQ(sources->at("cfg_test_b"), FlagSource::kEnv);
  EXPECT_EQ(sources->at("cfg_test_c"), FlagSource::kFile);
  EXPECT_EQ(sources->at("cfg_test_n"), FlagSource::kDefault);
  std::string effective = EffectiveConfig(*sources, "kvd_config_test.cc");
  EXPECT_NE(effective.find("cfg_test_b=env-b (env)"), std::string::npos) << effective;
  EXPECT_NE(effective.find("cfg_test_c=file-c (flagfile)"), std::string::npos) << effective;
  EXPECT_NE(effective.find("cfg_test_n=1 (default)"), std::string::npos) << effective;

  std::string help = GroupedHelp("usage", {{"Group one", {"cfg_test_n", "cfg_test_a"}}},
                                 "kvd_config_test.cc");
  EXPECT_LT(help.find("Group one:"), help.find("--cfg_test_n=1"));
  EXPECT_LT(help.find("--cfg_test_n=1"), help.find("Other:"));
  EXPECT_NE(help.find("--cfg_test_c=\"default-c\""), std::string::npos) << help;
}

TEST(KvdConfigTest, UnknownFlagInFileAndBadEnvValueAreErrors) {
  const std::string file = testing::TempDir() + "/kvd_config_bad.flags";
  std::ofstream(file) << "--cfg_test_a=x\n--no_such_flag=1\n";
  std::string flagfile_arg = "--flagfile=" + file;
  std::vector<std::string> args = {"kvd", flagfile_arg};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  int argc = static_cast<int>(argv.size());
  char** p = argv.data();
  auto none = [](const std::string&) -> const char* { return nullptr; };
  auto r = ResolveFlags(&argc, &p, none);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(":2: unknown flag --no_such_flag"), std::string::npos)
      << r.status();

  std::vector<std::string> args2 = {"kvd"};
  std::vector<char*> argv2 = {args2[0].data()};
  argc = 1;
  p = argv2.data();
  auto bad = ResolveFlags(&argc, &p, [](const std::string& n) -> const char* {
    return n == "KVD_CFG_TEST_N" ? "not-a-number" : nullptr;
  });
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("KVD_CFG_TEST_N"), std::string::npos);
}

}  // namespace
}  // namespace ringkv::server

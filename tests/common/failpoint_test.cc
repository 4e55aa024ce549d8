#include "common/failpoint.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include "testutil/status_matchers.h"

namespace ringkv::failpoint {
namespace {

class FailpointTest : public ::testing::Test {
 protected:
  ScopedDisarmAll disarm_;
};

TEST_F(FailpointTest, UnarmedPointIsOk) {
  EXPECT_OK(Hit("test.point"));
  EXPECT_EQ(HitCount("test.point"), 0u);
}

TEST_F(FailpointTest, ErrorFiresAfterSkippedHitsAndNamesThePoint) {
  Arm("test.point", Action::kError, /*skip=*/2);
  EXPECT_OK(Hit("test.point"));
  EXPECT_OK(Hit("test.point"));
  Status s = Hit("test.point");
  EXPECT_EQ(s.code(), StatusCode::kIOError);
  EXPECT_NE(s.message().find("test.point"), std::string_view::npos) << s.ToString();
  EXPECT_FALSE(Hit("test.point").ok());  // keeps firing
  EXPECT_EQ(HitCount("test.point"), 4u);
  EXPECT_OK(Hit("test.other"));  // other points are untouched
}

TEST_F(FailpointTest, DisarmMakesThePointInertAgain) {
  Arm("test.point", Action::kError);
  Disarm("test.point");
  EXPECT_OK(Hit("test.point"));
  Arm("test.a", Action::kError);
  Arm("test.b", Action::kError);
  DisarmAll();
  EXPECT_OK(Hit("test.a"));
  EXPECT_OK(Hit("test.b"));
}

TEST_F(FailpointTest, CallbackDecidesTheResult) {
  int calls = 0;
  ArmCallback("test.point", [&] {
    ++calls;
    return calls == 2 ? Status::Aborted("second") : Status::OK();
  });
  EXPECT_OK(Hit("test.point"));
  EXPECT_EQ(Hit("test.point").code(), StatusCode::kAborted);
  EXPECT_OK(Hit("test.point"));
  EXPECT_EQ(calls, 3);
}

TEST_F(FailpointTest, SpecArmsEveryListedPoint) {
  ASSERT_OK(ArmFromSpec("test.a=error,test.b=error@3"));
  EXPECT_FALSE(Hit("test.a").ok());
  EXPECT_OK(Hit("test.b"));
  EXPECT_OK(Hit("test.b"));
  EXPECT_FALSE(Hit("test.b").ok());
}

TEST_F(FailpointTest, MalformedSpecArmsNothing) {
  for (const char* bad : {"test.a", "=crash", "test.a=explode", "test.a=crash@0",
                          "test.a=crash@x", "test.ok=error,test.a=crash@"}) {
    Status s = ArmFromSpec(bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_OK(Hit("test.ok"));
    EXPECT_OK(Hit("test.a"));
  }
}

TEST_F(FailpointTest, BugPointIsInjectedOnlyWhenArmedToInject) {
  EXPECT_FALSE(Injected("bug.test.point"));
  Arm("bug.test.point", Action::kInject, /*skip=*/1);
  EXPECT_FALSE(Injected("bug.test.point"));  // the first ask passes
  EXPECT_TRUE(Injected("bug.test.point"));
  EXPECT_TRUE(Injected("bug.test.point"));
  EXPECT_EQ(HitCount("bug.test.point"), 3u);
  EXPECT_FALSE(Injected("bug.test.other"));
  EXPECT_OK(Hit("bug.test.point"));  // a bug point is no fault
  // A fault point is never an injected bug, and arming one does not inject anything.
  Arm("test.fault", Action::kError);
  EXPECT_FALSE(Injected("test.fault"));
  Disarm("bug.test.point");
  EXPECT_FALSE(Injected("bug.test.point"));
  EXPECT_FALSE(Hit("test.fault").ok());
}

TEST_F(FailpointTest, SpecInjectsBugPoints) {
  ASSERT_OK(ArmFromSpec("bug.test.a=inject,bug.test.b=inject@2"));
  EXPECT_TRUE(Injected("bug.test.a"));
  EXPECT_FALSE(Injected("bug.test.b"));
  EXPECT_TRUE(Injected("bug.test.b"));
  DisarmAll();
  EXPECT_FALSE(Injected("bug.test.a"));
}

TEST_F(FailpointTest, CrashKillsTheProcessLikeKillDashNine) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    Arm("test.crash", Action::kCrash, /*skip=*/1);
    if (!Hit("test.crash").ok()) ::_exit(2);  // the first hit passes
    Hit("test.crash").IgnoreError();          // never returns
    ::_exit(3);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit status " << status;
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

}  // namespace
}  // namespace ringkv::failpoint

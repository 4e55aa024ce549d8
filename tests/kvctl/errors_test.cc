// kvctl's exit-code table and error lines (tools/kvctl/errors.h).
#include "errors.h"

#include <gtest/gtest.h>

namespace ringkv::kvctl {
namespace {

TEST(ExitCodeTest, FollowsUxTable) {
  EXPECT_EQ(ExitCodeFor(Status::OK()), 0);
  EXPECT_EQ(ExitCodeFor(Status::NotFound("x")), 3);
  EXPECT_EQ(ExitCodeFor(Status::FailedPrecondition("x")), 4);
  EXPECT_EQ(ExitCodeFor(Status::Unavailable("x")), 5);
  EXPECT_EQ(ExitCodeFor(Status::NotLeader("x", 2)), 5);
  EXPECT_EQ(ExitCodeFor(Status::DeadlineExceeded("x")), 6);
  EXPECT_EQ(ExitCodeFor(Status::ResourceExhausted("x")), 7);
  EXPECT_EQ(ExitCodeFor(Status::InvalidArgument("x")), 7);
  EXPECT_EQ(ExitCodeFor(Status::PermissionDenied("x")), 8);
  EXPECT_EQ(ExitCodeFor(Status::Corruption("x")), 1);
  EXPECT_EQ(ExitCodeFor(Status::IOError("x")), 1);
}

TEST(ErrorLineTest, SaysWhatWhereAndNext) {
  ErrorContext put{"put", "k", "127.0.0.1:7001", true, ""};
  EXPECT_EQ(ErrorLine(Status::DeadlineExceeded("put: outcome unknown (3 attempts over 5.0s via "
                                               "127.0.0.1:7001)"),
                      put),
            "Error: put: outcome unknown (3 attempts over 5.0s via 127.0.0.1:7001). Try: the "
            "write may or may not have been applied: read it back (kvctl get k) before retrying; "
            "raise --command-timeout if the cluster is slow (kvctl cluster status "
            "--endpoints=127.0.0.1:7001)");
  const std::string unavailable = ErrorLine(Status::Unavailable("get failed: cluster unavailable"),
                                            ErrorContext{"get", "k", "a:1,b:2", false, ""});
  EXPECT_EQ(unavailable.rfind("Error: get failed: cluster unavailable. Try: ", 0), 0u);
  EXPECT_NE(unavailable.find("kvctl cluster status --endpoints=a:1,b:2"), std::string::npos);
  EXPECT_NE(ErrorLine(Status::FailedPrecondition("compare failed"), put).find("kvctl get k -w json"),
            std::string::npos);
}

}  // namespace
}  // namespace ringkv::kvctl

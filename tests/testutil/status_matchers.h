// ASSERT_OK / EXPECT_OK for Status and Result<T>, printing the error on failure.
#ifndef RINGKV_TESTS_TESTUTIL_STATUS_MATCHERS_H_
#define RINGKV_TESTS_TESTUTIL_STATUS_MATCHERS_H_

#include <gtest/gtest.h>

#include "common/result.h"
#include "common/status.h"

namespace ringkv::testing {
inline const Status& AsStatus(const Status& s) { return s; }
template <typename T>
Status AsStatus(const Result<T>& r) { return r.status(); }
}  // namespace ringkv::testing

// The expression is evaluated exactly once: a failing Start() must not be run a second time
// just to print its error (that second run once reported a misleading "lock hold by current
// process" instead of the real bind failure).
#define RINGKV_STATUS_CHECK_(expr, on_failure)                                               \
  switch (0)                                                                                 \
  case 0:                                                                                    \
  default:                                                                                   \
    if (const ::ringkv::Status ringkv_checked_status_ = ::ringkv::testing::AsStatus(expr);  \
        ringkv_checked_status_.ok()) {                                                       \
    } else                                                                                   \
      on_failure() << #expr << " failed: " << ringkv_checked_status_.ToString()

#define ASSERT_OK(expr) RINGKV_STATUS_CHECK_(expr, FAIL)
#define EXPECT_OK(expr) RINGKV_STATUS_CHECK_(expr, ADD_FAILURE)

#endif  // RINGKV_TESTS_TESTUTIL_STATUS_MATCHERS_H_

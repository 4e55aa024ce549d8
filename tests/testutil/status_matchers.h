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

#define ASSERT_OK(expr) ASSERT_TRUE(::ringkv::testing::AsStatus(expr).ok()) << ::ringkv::testing::AsStatus(expr).ToString()
#define EXPECT_OK(expr) EXPECT_TRUE(::ringkv::testing::AsStatus(expr).ok()) << ::ringkv::testing::AsStatus(expr).ToString()

#endif  // RINGKV_TESTS_TESTUTIL_STATUS_MATCHERS_H_

// EXPECT_OK / ASSERT_OK for Status and Result<T>: on failure they print the
// status's code and message instead of "Value of: x.ok() Actual: false".
#pragma once

#include <gtest/gtest.h>

#include "protocol/status.h"

namespace cadre::testing {

inline const Status& status_of(const Status& status) { return status; }
template <typename T>
const Status& status_of(const Result<T>& result) {
  return result.status();
}

inline ::testing::AssertionResult IsOk(const Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << status.to_string();
}

}  // namespace cadre::testing

#define EXPECT_OK(expr) EXPECT_TRUE(::cadre::testing::IsOk(::cadre::testing::status_of(expr)))
#define ASSERT_OK(expr) ASSERT_TRUE(::cadre::testing::IsOk(::cadre::testing::status_of(expr)))

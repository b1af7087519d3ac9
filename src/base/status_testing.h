// GoogleTest helpers for Status and Result<T>, shared by the unit tests.
//
//   ASSERT_OK(expr), EXPECT_OK(expr)     expr is a Status or a Result<T>
//   ASSERT_OK_AND_ASSIGN(lhs, expr)      lhs = the value of a Result<T>
//   EXPECT_REFUSED(expr, code, reason)   failed with that code and reason
//
// Header-only; include it from test files only.
#ifndef ATREST_BASE_STATUS_TESTING_H_
#define ATREST_BASE_STATUS_TESTING_H_

#include <gtest/gtest.h>

#include <utility>

#include "base/status.h"

namespace atrest::testing {

inline const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const Result<T>& r) {
  return r.status();
}

}  // namespace atrest::testing

#define ASSERT_OK(expr)                                              \
  do {                                                               \
    const auto& ok_result_ = (expr);                                 \
    ASSERT_TRUE(::atrest::testing::StatusOf(ok_result_).ok())        \
        << #expr << ": " << ::atrest::testing::StatusOf(ok_result_); \
  } while (0)

#define EXPECT_OK(expr)                                              \
  do {                                                               \
    const auto& ok_result_ = (expr);                                 \
    EXPECT_TRUE(::atrest::testing::StatusOf(ok_result_).ok())        \
        << #expr << ": " << ::atrest::testing::StatusOf(ok_result_); \
  } while (0)

#define ATREST_TESTING_CONCAT_INNER_(a, b) a##b
#define ATREST_TESTING_CONCAT_(a, b) ATREST_TESTING_CONCAT_INNER_(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, expr) \
  ATREST_ASSERT_OK_AND_ASSIGN_IMPL_(    \
      ATREST_TESTING_CONCAT_(ok_and_assign_, __LINE__), lhs, expr)
#define ATREST_ASSERT_OK_AND_ASSIGN_IMPL_(result, lhs, expr)    \
  auto result = (expr);                                         \
  ASSERT_TRUE(result.ok()) << #expr << ": " << result.status(); \
  lhs = std::move(result).value()

// Expects that `expr` (a Status or Result<T>) failed with `want_code` and
// `want_reason`.
#define EXPECT_REFUSED(expr, want_code, want_reason)   \
  do {                                                 \
    const auto& refused_result_ = (expr);              \
    const ::atrest::Status& refused_status_ =          \
        ::atrest::testing::StatusOf(refused_result_);  \
    EXPECT_EQ(refused_status_.code(), (want_code))     \
        << #expr << ": " << refused_status_;           \
    EXPECT_EQ(refused_status_.reason(), (want_reason)) \
        << #expr << ": " << refused_status_;           \
  } while (0)

#endif  // ATREST_BASE_STATUS_TESTING_H_

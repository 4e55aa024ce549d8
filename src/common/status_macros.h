// RETURN_IF_ERROR and ASSIGN_OR_RETURN: propagate a non-OK Status to the caller.
#ifndef RINGKV_COMMON_STATUS_MACROS_H_
#define RINGKV_COMMON_STATUS_MACROS_H_

#include "common/result.h"
#include "common/status.h"

#define RINGKV_CONCAT_INNER_(a, b) a##b
#define RINGKV_CONCAT_(a, b) RINGKV_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                      \
  do {                                             \
    ::ringkv::Status ringkv_status_ = (expr);      \
    if (!ringkv_status_.ok()) return ringkv_status_; \
  } while (0)

#define RINGKV_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr) \
  RINGKV_ASSIGN_OR_RETURN_IMPL_(RINGKV_CONCAT_(ringkv_result_, __LINE__), lhs, expr)

#endif  // RINGKV_COMMON_STATUS_MACROS_H_

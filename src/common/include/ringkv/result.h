// Result<T>: a value of type T or a non-OK Status (absl::StatusOr semantics). A Result is never
// OK without a value.
//
// Thread-safety: as for T.
//
// Public API: installed with the client library as <ringkv/result.h>; standard library only.
// Inside RingKV, "common/result.h" includes it.
#ifndef RINGKV_RESULT_H_
#define RINGKV_RESULT_H_

#include <cassert>
#include <cstdlib>
#include <iostream>
#include <utility>
#include <variant>

#include "ringkv/status.h"

namespace ringkv {

template <typename T>
class [[nodiscard]] Result {
 public:
  // Implicit from a value and from an error, so `return value;` and `return status;` both work.
  Result(const T& value) : v_(value) {}  // NOLINT(google-explicit-constructor)
  Result(T&& value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  // REQUIRES: !status.ok(). An OK status without a value is a programming error and aborts.
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(v_).ok()) {
      std::cerr << "Result constructed from OK status without a value\n";
      std::abort();
    }
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  // OK when a value is held.
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }

  // REQUIRES: ok().
  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace ringkv

#endif  // RINGKV_RESULT_H_

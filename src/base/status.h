// Status and Result<T>: the error values every module boundary returns.
//
// A Status is either OK or carries a code and a message meant for the
// operator or the API caller. Messages never contain secrets or customer
// data: callers build them from names and limits, not from payloads.
//
// Thread safety: Status and Result are values; distinct objects may be used
// from distinct threads without synchronisation.
#ifndef ATREST_BASE_STATUS_H_
#define ATREST_BASE_STATUS_H_

#include <cassert>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace atrest {

// Canonical error codes, in the sense of google.rpc.Code. The HTTP layer maps
// them to status codes; module code picks the one that tells a caller what to
// do next.
enum class StatusCode {
  kOk = 0,
  kCancelled,
  kInvalidArgument,  // The caller's input is wrong; fix it and retry.
  kDeadlineExceeded,
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,    // Caller is known but not allowed.
  kResourceExhausted,   // A limit or quota was hit (size, disk, rate).
  kFailedPrecondition,  // The system is not in a state that allows this.
  kAborted,             // Concurrency conflict; retry the whole operation.
  kOutOfRange,
  kUnimplemented,
  kInternal,
  kUnavailable,      // Transient: retry later.
  kDataLoss,         // Stored data is corrupt or fails authentication.
  kUnauthenticated,  // Caller could not be identified.
  // The disk that holds the data (or a storage quota) is full: nothing was
  // written; retry once space is freed. Distinct from kResourceExhausted,
  // which is a limit the caller can stay under (size, rate, count). Every
  // surface answers it as HTTP 507 with a message naming no path or file.
  kInsufficientStorage,
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}
  // `reason` is a stable machine-readable name for the error (an API error
  // code such as "ResourceGroupNotFound"); surfaces put it on the wire.
  Status(StatusCode code, std::string message, std::string reason)
      : code_(code), message_(std::move(message)), reason_(std::move(reason)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // Empty unless the error names one.
  const std::string& reason() const { return reason_; }

  // "CODE: message", or "OK".
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context`: "context: msg".
  Status WithContext(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_ &&
           a.reason_ == b.reason_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string reason_;
};

std::ostream& operator<<(std::ostream& os, const Status& status);

inline Status InvalidArgumentError(std::string m) {
  return Status(StatusCode::kInvalidArgument, std::move(m));
}
inline Status NotFoundError(std::string m) {
  return Status(StatusCode::kNotFound, std::move(m));
}
inline Status AlreadyExistsError(std::string m) {
  return Status(StatusCode::kAlreadyExists, std::move(m));
}
inline Status PermissionDeniedError(std::string m) {
  return Status(StatusCode::kPermissionDenied, std::move(m));
}
inline Status ResourceExhaustedError(std::string m) {
  return Status(StatusCode::kResourceExhausted, std::move(m));
}
inline Status FailedPreconditionError(std::string m) {
  return Status(StatusCode::kFailedPrecondition, std::move(m));
}
inline Status OutOfRangeError(std::string m) {
  return Status(StatusCode::kOutOfRange, std::move(m));
}
inline Status UnimplementedError(std::string m) {
  return Status(StatusCode::kUnimplemented, std::move(m));
}
inline Status InternalError(std::string m) {
  return Status(StatusCode::kInternal, std::move(m));
}
inline Status UnavailableError(std::string m) {
  return Status(StatusCode::kUnavailable, std::move(m));
}
inline Status DataLossError(std::string m) {
  return Status(StatusCode::kDataLoss, std::move(m));
}
inline Status UnauthenticatedError(std::string m) {
  return Status(StatusCode::kUnauthenticated, std::move(m));
}
inline Status InsufficientStorageError(std::string m) {
  return Status(StatusCode::kInsufficientStorage, std::move(m));
}

// Either a value of type T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design.
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result built from an OK Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }

  // The error; OK when a value is held. A reference, so that
  // `result.status().message()` stays valid as long as `result` does.
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }

  // Precondition: ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace atrest

#define ATREST_CONCAT_INNER_(a, b) a##b
#define ATREST_CONCAT_(a, b) ATREST_CONCAT_INNER_(a, b)

// Returns from the enclosing function when `expr` (a Status) is not OK.
// __COUNTER__ keeps nested uses (inside lambdas) from shadowing each other.
#define RETURN_IF_ERROR(expr)                                               \
  ATREST_RETURN_IF_ERROR_IMPL_(ATREST_CONCAT_(atrest_status_, __COUNTER__), \
                               expr)
#define ATREST_RETURN_IF_ERROR_IMPL_(status, expr) \
  do {                                             \
    ::atrest::Status status = (expr);              \
    if (!status.ok()) return status;               \
  } while (0)

// `ASSIGN_OR_RETURN(auto x, F())` declares x from F()'s value or returns its
// error from the enclosing function.
#define ASSIGN_OR_RETURN(lhs, rexpr)                                         \
  ATREST_ASSIGN_OR_RETURN_IMPL_(ATREST_CONCAT_(atrest_result_, __COUNTER__), \
                                lhs, rexpr)
#define ATREST_ASSIGN_OR_RETURN_IMPL_(result, lhs, rexpr) \
  auto result = (rexpr);                                  \
  if (!result.ok()) return result.status();               \
  lhs = std::move(result).value()

#endif  // ATREST_BASE_STATUS_H_

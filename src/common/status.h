#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "common/check.h"

namespace cdp {

// What kind of failure a Status carries. Callers branch on the code; the message is for people.
enum class StatusCode {
  kOk,
  kInvalidArgument,  // the input is wrong; retrying the same input will fail again
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kResourceExhausted,  // a queue or limit is full; retry later
  kUnavailable,        // storage cannot take writes right now (disk full, I/O error); retry later
  kCorruption,
  kFailedPrecondition,
  kInternal,
};

std::string_view status_code_name(StatusCode code);

// The outcome of an operation that a caller must expect to fail.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  static Status invalid_argument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status already_exists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status permission_denied(std::string m) {
    return {StatusCode::kPermissionDenied, std::move(m)};
  }
  static Status resource_exhausted(std::string m) {
    return {StatusCode::kResourceExhausted, std::move(m)};
  }
  static Status unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status failed_precondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value or the Status saying why there is none; shaped like std::expected.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : state_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    CDP_CHECK(!std::get<Status>(state_).is_ok());
  }

  bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    CDP_CHECK(has_value());
    return std::get<T>(state_);
  }
  const T& value() const& {
    CDP_CHECK(has_value());
    return std::get<T>(state_);
  }
  T&& value() && {
    CDP_CHECK(has_value());
    return std::get<T>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Status& status() const {
    static const Status kOkStatus;
    return has_value() ? kOkStatus : std::get<Status>(state_);
  }

 private:
  std::variant<T, Status> state_;
};

}  // namespace cdp

// Returns early from the enclosing function when `expr` is not ok.
#define CDP_RETURN_IF_ERROR(expr)                 \
  do {                                            \
    ::cdp::Status cdp_status_ = (expr);           \
    if (!cdp_status_.is_ok()) return cdp_status_; \
  } while (false)

#include "lib/core/status.h"

#include <gtest/gtest.h>

#include "lib/core/statusor.h"

namespace novacron::core {
namespace {

TEST(StatusTest, DefaultIsOkAndHasNoMessage) {
  Status s;
  EXPECT_TRUE(s.isOk());
  EXPECT_EQ(s.toString(), "OK");
  EXPECT_EQ(Status(StatusCode::kOk, "ignored").message(), "");
}

TEST(StatusTest, RetryClassification) {
  EXPECT_TRUE(conflictError("x").isRetryable());
  EXPECT_TRUE(abortedError("x").isRetryable());
  EXPECT_TRUE(unavailableError("x").isRetryable());
  EXPECT_TRUE(resourceExhaustedError("x").isRetryable());
  EXPECT_TRUE(goneError("x").isRetryable());
  EXPECT_TRUE(deadlineExceededError("x").isRetryable());
  EXPECT_FALSE(invalidArgumentError("x").isRetryable());
  EXPECT_FALSE(notFoundError("x").isRetryable());
  EXPECT_FALSE(failedPreconditionError("x").isRetryable());
  EXPECT_FALSE(permissionDeniedError("x").isRetryable());
  EXPECT_FALSE(okStatus().isRetryable());
}

TEST(StatusTest, TerminalIsExplicitOptIn) {
  // No code is terminal by itself: a NotFound from a sub-call must be retried.
  EXPECT_FALSE(invalidArgumentError("x").isTerminal());
  EXPECT_FALSE(notFoundError("x").isTerminal());
  EXPECT_FALSE(okStatus().isTerminal());
  Status t = terminal(invalidArgumentError("bad spec"));
  EXPECT_TRUE(t.isTerminal());
  EXPECT_EQ(t.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.message(), "bad spec");
  EXPECT_TRUE(t.withContext("validating").isTerminal());  // context keeps the mark
  EXPECT_TRUE(terminal(notFoundError("gone")).isTerminal());
  EXPECT_FALSE(terminal(okStatus()).isTerminal());
  StatusOr<int> carried = terminal(invalidArgumentError("x"));
  EXPECT_TRUE(carried.status().isTerminal());
}

TEST(StatusTest, ContextAndRetryAfterArePreserved) {
  Status s = resourceExhaustedError("too many requests").withRetryAfter(std::chrono::seconds(3));
  Status c = s.withContext("listing VMs");
  EXPECT_EQ(c.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(c.message(), "listing VMs: too many requests");
  ASSERT_TRUE(c.retryAfter().has_value());
  EXPECT_EQ(*c.retryAfter(), std::chrono::seconds(3));
  EXPECT_EQ(c.toString(), "ResourceExhausted: listing VMs: too many requests");
}

TEST(StatusTest, HttpMapping) {
  EXPECT_EQ(statusCodeFromHttp(200), StatusCode::kOk);
  EXPECT_EQ(statusCodeFromHttp(201), StatusCode::kOk);
  EXPECT_EQ(statusCodeFromHttp(400), StatusCode::kInvalidArgument);
  EXPECT_EQ(statusCodeFromHttp(401), StatusCode::kUnauthenticated);
  EXPECT_EQ(statusCodeFromHttp(403), StatusCode::kPermissionDenied);
  EXPECT_EQ(statusCodeFromHttp(404), StatusCode::kNotFound);
  EXPECT_EQ(statusCodeFromHttp(409), StatusCode::kConflict);
  EXPECT_EQ(statusCodeFromHttp(410), StatusCode::kGone);
  EXPECT_EQ(statusCodeFromHttp(422), StatusCode::kInvalidArgument);
  EXPECT_EQ(statusCodeFromHttp(429), StatusCode::kResourceExhausted);
  EXPECT_EQ(statusCodeFromHttp(500), StatusCode::kInternal);
  EXPECT_EQ(statusCodeFromHttp(503), StatusCode::kUnavailable);
  EXPECT_EQ(statusCodeFromHttp(504), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(statusCodeFromHttp(599), StatusCode::kUnavailable);
}

StatusOr<int> half(int x) {
  if (x % 2 != 0) {
    return invalidArgumentError("odd: " + std::to_string(x));
  }
  return x / 2;
}

StatusOr<int> quarter(int x) {
  NOVACRON_ASSIGN_OR_RETURN(int h, half(x));
  NOVACRON_ASSIGN_OR_RETURN(int q, half(h));
  return q;
}

Status checkEven(int x) {
  NOVACRON_RETURN_IF_ERROR(half(x).status());
  return okStatus();
}

TEST(StatusOrTest, ValueAndErrorPropagation) {
  EXPECT_EQ(*quarter(8), 2);
  auto bad = quarter(6);
  ASSERT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "odd: 3");
  EXPECT_EQ(bad.valueOr(-1), -1);
  EXPECT_TRUE(checkEven(2).isOk());
  EXPECT_EQ(checkEven(3).code(), StatusCode::kInvalidArgument);
}

TEST(StatusOrTest, MoveOnlyValues) {
  StatusOr<std::unique_ptr<int>> p(std::make_unique<int>(5));
  ASSERT_TRUE(p.isOk());
  std::unique_ptr<int> taken = std::move(p).value();
  EXPECT_EQ(*taken, 5);
}

TEST(StatusOrDeathTest, ValueOnErrorAborts) {
  StatusOr<int> s(notFoundError("vm default/a"));
  EXPECT_DEATH({ (void)s.value(); }, "vm default/a");
}

TEST(StatusOrDeathTest, ConstructingFromOkAborts) {
  EXPECT_DEATH({ StatusOr<int> s{okStatus()}; }, "OK status");
}

}  // namespace
}  // namespace novacron::core

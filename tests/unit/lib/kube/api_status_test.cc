// The status-code mapping table: what each API server answer means to the caller.
#include "lib/kube/api_status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace novacron::kube {
namespace {

using ::testing::HasSubstr;

HttpResponse statusResponse(int code, const std::string& reason, const std::string& message,
                            HttpHeaders headers = {}) {
  Json body = {{"kind", "Status"},   {"apiVersion", "v1"}, {"status", "Failure"},
               {"message", message}, {"reason", reason},   {"code", code}};
  return HttpResponse{code, std::move(headers), body.dump()};
}

TEST(ApiStatusTest, MappingTable) {
  struct Row {
    int http;
    std::string reason;
    core::StatusCode expected;
  };
  std::vector<Row> rows = {
      {400, "BadRequest", core::StatusCode::kInvalidArgument},
      {401, "Unauthorized", core::StatusCode::kUnauthenticated},
      {403, "Forbidden", core::StatusCode::kPermissionDenied},
      {404, "NotFound", core::StatusCode::kNotFound},
      {409, "Conflict", core::StatusCode::kConflict},
      {409, "AlreadyExists", core::StatusCode::kAlreadyExists},
      {410, "Gone", core::StatusCode::kGone},
      {410, "Expired", core::StatusCode::kGone},
      {422, "Invalid", core::StatusCode::kInvalidArgument},
      {429, "TooManyRequests", core::StatusCode::kResourceExhausted},
      {500, "InternalError", core::StatusCode::kInternal},
      {502, "", core::StatusCode::kUnavailable},
      {503, "ServiceUnavailable", core::StatusCode::kUnavailable},
      {504, "Timeout", core::StatusCode::kDeadlineExceeded},
  };
  for (const auto& row : rows) {
    core::Status status = statusFromResponse(statusResponse(row.http, row.reason, "msg"), "GET /x");
    EXPECT_EQ(status.code(), row.expected) << row.http << " " << row.reason << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr("GET /x: msg"));
    EXPECT_THAT(status.message(), HasSubstr("HTTP " + std::to_string(row.http)));
  }
}

TEST(ApiStatusTest, RetryAfterFromHeaderAndDetails) {
  core::Status throttled = statusFromResponse(
      statusResponse(429, "TooManyRequests", "slow down", {{"retry-after", "3"}}), "GET /x");
  EXPECT_EQ(throttled.code(), core::StatusCode::kResourceExhausted);
  ASSERT_TRUE(throttled.retryAfter().has_value());
  EXPECT_EQ(*throttled.retryAfter(), std::chrono::seconds(3));

  Json body = {{"kind", "Status"},
               {"code", 503},
               {"message", "etcd leader changed"},
               {"details", {{"retryAfterSeconds", 2}}}};
  core::Status unavailable = statusFromResponse({503, {}, body.dump()}, "PUT /y");
  EXPECT_EQ(unavailable.code(), core::StatusCode::kUnavailable);
  EXPECT_EQ(unavailable.retryAfter(), std::chrono::milliseconds(2000));

  core::Status no_retry = statusFromResponse(statusResponse(404, "NotFound", "gone"), "GET /z");
  EXPECT_FALSE(no_retry.retryAfter().has_value());
}

TEST(ApiStatusTest, InvalidCarriesCauses) {
  Json body = {{"kind", "Status"},
               {"code", 422},
               {"reason", "Invalid"},
               {"message", "VirtualMachine.novacron.io \"a\" is invalid"},
               {"details",
                {{"causes",
                  {{{"field", "spec.cpus"}, {"message", "must be >= 1"}},
                   {{"field", "spec.memory"}, {"reason", "FieldValueRequired"}}}}}}};
  core::Status status = statusFromResponse({422, {}, body.dump()}, "POST /vms");
  EXPECT_EQ(status.code(), core::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("spec.cpus: must be >= 1"));
  EXPECT_THAT(status.message(), HasSubstr("spec.memory: FieldValueRequired"));
  EXPECT_FALSE(status.isRetryable());
  EXPECT_FALSE(status.isTerminal());  // only a reconciler marks errors terminal
}

TEST(ApiStatusTest, FailedJsonPatchTestIsConflict) {
  core::Status status = statusFromResponse(
      statusResponse(422, "Invalid",
                     "the server rejected our request due to an error in our request: testing "
                     "value /metadata/resourceVersion failed: test failed"),
      "PATCH /vms/a");
  EXPECT_EQ(status.code(), core::StatusCode::kConflict);
}

TEST(ApiStatusTest, NonStatusBodies) {
  core::Status html = statusFromResponse({502, {}, "<html>bad gateway</html>"}, "GET /x");
  EXPECT_EQ(html.code(), core::StatusCode::kUnavailable);
  EXPECT_THAT(html.message(), HasSubstr("bad gateway"));
  core::Status empty = statusFromResponse({404, {}, ""}, "GET /x");
  EXPECT_EQ(empty.code(), core::StatusCode::kNotFound);
}

TEST(ApiStatusTest, WatchErrorObject) {
  Json expired = {{"kind", "Status"},
                  {"code", 410},
                  {"reason", "Expired"},
                  {"message", "too old resource version: 5 (10)"}};
  EXPECT_EQ(statusFromStatusObject(expired, 500, "watch").code(), core::StatusCode::kGone);
  EXPECT_EQ(statusFromStatusObject(Json::object(), 500, "watch").code(),
            core::StatusCode::kInternal);
}

}  // namespace
}  // namespace novacron::kube

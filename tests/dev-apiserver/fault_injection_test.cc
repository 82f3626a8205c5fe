#include "dev-apiserver/fault_injection.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/testing/eventually.h"

namespace novacron::devapi {
namespace {

Request request(const std::string& method, const std::string& path) {
  Request r;
  r.method = method;
  r.path = path;
  return r;
}

auto always(double value) {
  return [value] { return value; };
}

TEST(FaultInjectionTest, EmptyTextMeansNoFaults) {
  auto config = parseFaultConfig("  \n");
  ASSERT_TRUE(config.isOk());
  auto d = decideFault(*config, request("PUT", "/api/v1/namespaces/a/pods/p"), always(0.0));
  EXPECT_EQ(d.delay.count(), 0);
  EXPECT_FALSE(d.answer);
}

TEST(FaultInjectionTest, ConflictsHitUpdatesOnlyAsKubeApiserverAnswersStaleWrites) {
  auto config = parseFaultConfig(R"({"conflictFraction": 0.5, "latencyMs": 20})");
  ASSERT_TRUE(config.isOk());
  auto put =
      decideFault(*config, request("PUT", "/apis/novacron.io/v1alpha1/hypervisors/n"), always(0.4));
  ASSERT_TRUE(put.answer);
  EXPECT_EQ(put.answer->code, 409);
  EXPECT_EQ(nlohmann::json::parse(put.answer->body)["reason"], "Conflict");
  EXPECT_EQ(put.delay.count(), 20);
  EXPECT_FALSE(decideFault(*config, request("PUT", "/x"), always(0.6)).answer);  // not drawn
  EXPECT_FALSE(decideFault(*config, request("GET", "/x"), always(0.0)).answer);
  EXPECT_FALSE(decideFault(*config, request("POST", "/x"), always(0.0)).answer);
}

TEST(FaultInjectionTest, ARuleStallsOneNodesHeartbeat) {
  auto config = parseFaultConfig(R"({"rules": [{"method": "PUT", "status": 503,
      "path": "^/apis/coordination.k8s.io/v1/namespaces/novacron-node-lease/leases/node-1$"}]})");
  ASSERT_TRUE(config.isOk());
  const std::string lease = "/apis/coordination.k8s.io/v1/namespaces/novacron-node-lease/leases/";
  auto hit = decideFault(*config, request("PUT", lease + "node-1"), always(0.99));
  ASSERT_TRUE(hit.answer);
  EXPECT_EQ(hit.answer->code, 503);
  EXPECT_FALSE(decideFault(*config, request("PUT", lease + "node-10"), always(0.0)).answer);
  EXPECT_FALSE(decideFault(*config, request("PUT", lease + "node-2"), always(0.0)).answer);
  EXPECT_FALSE(decideFault(*config, request("GET", lease + "node-1"), always(0.0)).answer);
}

TEST(FaultInjectionTest, RejectsMalformedConfigs) {
  EXPECT_FALSE(parseFaultConfig("{").isOk());
  EXPECT_FALSE(parseFaultConfig("[]").isOk());
  EXPECT_FALSE(parseFaultConfig(R"({"conflictFraction": 2})").isOk());
  EXPECT_FALSE(parseFaultConfig(R"({"latencyMs": -1})").isOk());
  EXPECT_FALSE(parseFaultConfig(R"({"rules": [{"path": "(", "status": 503}]})").isOk());
  EXPECT_FALSE(parseFaultConfig(R"({"rules": [{"path": "x", "status": 200}]})").isOk());
}

TEST(FaultInjectionTest, TheInjectorFollowsTheFileAsItChanges) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("fault-injection-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "faults.json";
  FaultInjector injector(file);
  const Request put = request("PUT", "/apis/novacron.io/v1alpha1/hypervisors/n");
  EXPECT_FALSE(injector.intercept(put));  // no file: no faults
  auto write = [&](const std::string& text) {
    const auto tmp = dir / "faults.json.tmp";
    std::ofstream(tmp) << text;
    std::filesystem::rename(tmp, file);
  };
  write(R"({"conflictFraction": 1})");
  EXPECT_TRUE(testing::eventually([&] {
    auto answer = injector.intercept(put);
    return answer && answer->code == 409;
  }));
  write(R"({"conflictFraction": 0})");
  EXPECT_TRUE(testing::eventually([&] { return !injector.intercept(put); }));
  std::filesystem::remove_all(dir);
  EXPECT_FALSE(injector.intercept(put));
}

}  // namespace
}  // namespace novacron::devapi

// Integration tests of novacron-dev-apiserver over HTTPS against a real etcd (DevCluster):
// the server-side behaviours kube clients depend on. The broader, cluster-agnostic checks live in
// tests/conformance/.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/testing/dev_cluster.h"
#include "tests/testing/kube_http.h"

namespace novacron::devapi {
namespace {

using nlohmann::json;
using novacron::testing::HttpResult;
using testing::DevCluster;
using testing::KubeHttp;

const char* kCrd = R"({
  "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": {"name": "gadgets.test.novacron.io"},
  "spec": {"group": "test.novacron.io", "scope": "Namespaced",
    "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "shortNames": ["gd"]},
    "versions": [{"name": "v1", "served": true, "storage": true,
      "subresources": {"status": {}},
      "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
      "schema": {"openAPIV3Schema": {"type": "object", "properties": {
        "spec": {"type": "object", "required": ["size"], "properties": {
          "size": {"type": "integer", "minimum": 1, "maximum": 10},
          "mode": {"type": "string", "default": "auto"}}},
        "status": {"type": "object", "properties": {"phase": {"type": "string"}}}}}}}]}})";

class ApiServerTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    auto c = DevCluster::start();
    ASSERT_TRUE(c.isOk()) << c.status();
    cluster_ = std::move(*c).release();
    http_ = new KubeHttp("127.0.0.1", cluster_->apiServerPort(), cluster_->caCertPath(),
                         cluster_->token());
    auto r =
        http_->request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", kCrd);
    ASSERT_TRUE(r.isOk());
    ASSERT_EQ(r->code, 201) << r->body;
  }
  static void TearDownTestSuite() {
    delete http_;
    delete cluster_;
  }

  static HttpResult call(const std::string& method, const std::string& path,
                         const json& body = nullptr, const std::string& ct = "application/json") {
    auto r = http_->request(method, path, body.is_null() ? "" : body.dump(), ct);
    EXPECT_TRUE(r.isOk()) << r.status();
    return r.isOk() ? *r : HttpResult{};
  }

  static json gadget(const std::string& name, int size) {
    return {{"apiVersion", "test.novacron.io/v1"},
            {"kind", "Gadget"},
            {"metadata", {{"name", name}}},
            {"spec", {{"size", size}}}};
  }

  static std::string gadgets(const std::string& ns = "default") {
    return "/apis/test.novacron.io/v1/namespaces/" + ns + "/gadgets";
  }

  // Reads watch events until `pred` holds or the deadline passes.
  static std::optional<json> waitEvent(
      testing::WatchStream& w, const std::function<bool(const json&)>& pred,
      std::chrono::milliseconds within = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline) {
      auto e = w.next(std::chrono::milliseconds(200));
      if (!e.isOk()) {
        return std::nullopt;
      }
      if (*e && pred(**e)) {
        return **e;
      }
    }
    return std::nullopt;
  }

  static DevCluster* cluster_;
  static KubeHttp* http_;
};

DevCluster* ApiServerTest::cluster_ = nullptr;
KubeHttp* ApiServerTest::http_ = nullptr;

TEST_F(ApiServerTest, CreateGetUpdateConflictDelete) {
  auto created = call("POST", gadgets(), gadget("crud", 2));
  ASSERT_EQ(created.code, 201) << created.body;
  json obj = created.json();
  EXPECT_EQ(obj["metadata"]["generation"], 1);
  EXPECT_FALSE(obj["metadata"]["uid"].get<std::string>().empty());
  EXPECT_EQ(obj["spec"]["mode"], "auto");  // defaulted
  std::string rv = obj["metadata"]["resourceVersion"];

  auto dup = call("POST", gadgets(), gadget("crud", 2));
  EXPECT_EQ(dup.code, 409);
  EXPECT_EQ(dup.json()["reason"], "AlreadyExists");

  obj["spec"]["size"] = 3;
  auto updated = call("PUT", gadgets() + "/crud", obj);
  ASSERT_EQ(updated.code, 200) << updated.body;
  EXPECT_EQ(updated.json()["metadata"]["generation"], 2);
  EXPECT_NE(updated.json()["metadata"]["resourceVersion"], rv);

  // Stale resourceVersion: 409 Conflict with kube's wording.
  obj["spec"]["size"] = 4;
  auto stale = call("PUT", gadgets() + "/crud", obj);
  EXPECT_EQ(stale.code, 409);
  EXPECT_EQ(stale.json()["reason"], "Conflict");
  EXPECT_NE(stale.json()["message"].get<std::string>().find("the object has been modified"),
            std::string::npos);

  auto got = call("GET", gadgets() + "/crud");
  EXPECT_EQ(got.json()["spec"]["size"], 3);
  EXPECT_EQ(call("DELETE", gadgets() + "/crud").code, 200);
  auto gone = call("GET", gadgets() + "/crud");
  EXPECT_EQ(gone.code, 404);
  EXPECT_EQ(gone.json()["message"], "gadgets.test.novacron.io \"crud\" not found");
}

TEST_F(ApiServerTest, StatusSubresourceIsolationAndGeneration) {
  ASSERT_EQ(call("POST", gadgets(), gadget("st", 2)).code, 201);
  auto s = call("PATCH", gadgets() + "/st/status", {{"status", {{"phase", "Running"}}}},
                "application/merge-patch+json");
  ASSERT_EQ(s.code, 200) << s.body;
  EXPECT_EQ(s.json()["status"]["phase"], "Running");
  EXPECT_EQ(s.json()["metadata"]["generation"], 1);  // status writes never bump generation
  // Writes to the main resource never change status.
  auto m = call("PATCH", gadgets() + "/st",
                {{"status", {{"phase", "Hacked"}}}, {"metadata", {{"labels", {{"a", "b"}}}}}},
                "application/merge-patch+json");
  ASSERT_EQ(m.code, 200) << m.body;
  EXPECT_EQ(m.json()["status"]["phase"], "Running");
  EXPECT_EQ(m.json()["metadata"]["generation"], 1);  // metadata-only change
  // Writes to /status never change spec.
  auto s2 = call("PATCH", gadgets() + "/st/status", {{"spec", {{"size", 9}}}},
                 "application/merge-patch+json");
  ASSERT_EQ(s2.code, 200);
  EXPECT_EQ(s2.json()["spec"]["size"], 2);
  auto spec =
      call("PATCH", gadgets() + "/st", {{"spec", {{"size", 5}}}}, "application/merge-patch+json");
  EXPECT_EQ(spec.json()["metadata"]["generation"], 2);
  // JSON patch too.
  auto jp = call("PATCH", gadgets() + "/st",
                 json::array({{{"op", "replace"}, {"path", "/spec/size"}, {"value", 6}}}),
                 "application/json-patch+json");
  ASSERT_EQ(jp.code, 200) << jp.body;
  EXPECT_EQ(jp.json()["spec"]["size"], 6);
  EXPECT_EQ(jp.json()["metadata"]["generation"], 3);
}

TEST_F(ApiServerTest, StrategicMergePatchOnlyForBuiltInKinds) {
  ASSERT_EQ(call("POST", gadgets(), gadget("smp", 2)).code, 201);
  // Custom resources: 415 naming only the accepted patch types (kube-apiserver also lists
  // application/apply-patch+yaml; the dev server has no server-side apply).
  auto cr = call("PATCH", gadgets() + "/smp", {{"spec", {{"size", 3}}}},
                 "application/strategic-merge-patch+json");
  ASSERT_EQ(cr.code, 415) << cr.body;
  EXPECT_EQ(cr.json()["reason"], "UnsupportedMediaType");
  EXPECT_EQ(cr.json()["message"],
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json");
  EXPECT_EQ(call("GET", gadgets() + "/smp").json()["spec"]["size"], 2);

  // Built-in kinds: strategic merge works (as a merge patch), and an update without
  // resourceVersion is allowed (unlike for custom resources).
  const std::string cms = "/api/v1/namespaces/default/configmaps";
  ASSERT_EQ(call("POST", cms,
                 {{"apiVersion", "v1"},
                  {"kind", "ConfigMap"},
                  {"metadata", {{"name", "smp"}}},
                  {"data", {{"a", "1"}}}})
                .code,
            201);
  auto cm = call("PATCH", cms + "/smp", {{"data", {{"b", "2"}}}},
                 "application/strategic-merge-patch+json");
  ASSERT_EQ(cm.code, 200) << cm.body;
  EXPECT_EQ(cm.json()["data"], json({{"a", "1"}, {"b", "2"}}));
  auto unconditional = call("PUT", cms + "/smp",
                            {{"apiVersion", "v1"},
                             {"kind", "ConfigMap"},
                             {"metadata", {{"name", "smp"}}},
                             {"data", {{"c", "3"}}}});
  EXPECT_EQ(unconditional.code, 200) << unconditional.body;
  auto yaml = call("PATCH", cms + "/smp", {{"data", {{"d", "4"}}}}, "application/yaml");
  ASSERT_EQ(yaml.code, 415) << yaml.body;
  EXPECT_EQ(yaml.json()["message"],
            "the body of the request was in an unknown format - accepted media types include: "
            "application/json-patch+json, application/merge-patch+json, "
            "application/strategic-merge-patch+json");

  // Custom resources refuse the unconditional update.
  auto cr_put = call("PUT", gadgets() + "/smp", gadget("smp", 4));
  EXPECT_EQ(cr_put.code, 422) << cr_put.body;
}

TEST_F(ApiServerTest, InvalidCustomResourceIs422WithCauses) {
  auto r = call("POST", gadgets(), gadget("bad", 100));
  ASSERT_EQ(r.code, 422) << r.body;
  json s = r.json();
  EXPECT_EQ(s["reason"], "Invalid");
  EXPECT_EQ(s["details"]["kind"], "Gadget");
  ASSERT_FALSE(s["details"]["causes"].empty());
  EXPECT_EQ(s["details"]["causes"][0]["field"], "spec.size");
  EXPECT_NE(s["message"].get<std::string>().find("Gadget.test.novacron.io \"bad\" is invalid"),
            std::string::npos);
  // Strict field validation names unknown fields.
  json unknown = gadget("unk", 1);
  unknown["spec"]["bogus"] = true;
  auto strict = http_->request("POST", gadgets() + "?fieldValidation=Strict", unknown.dump());
  ASSERT_TRUE(strict.isOk());
  EXPECT_EQ(strict->code, 400);
  EXPECT_NE(strict->body.find("spec.bogus"), std::string::npos);
}

TEST_F(ApiServerTest, WatchResumeBookmarksAndFinalizers) {
  auto created = call("POST", gadgets(), gadget("w1", 1));
  ASSERT_EQ(created.code, 201);
  std::string rv0 = created.json()["metadata"]["resourceVersion"];
  auto w = http_->watch(gadgets() + "?watch=true&allowWatchBookmarks=true&resourceVersion=" + rv0);
  ASSERT_TRUE(w.isOk()) << w.status();
  ASSERT_EQ((*w)->httpCode(), 200);
  json fin = gadget("w2", 1);
  fin["metadata"]["finalizers"] = {"test.novacron.io/hold"};
  ASSERT_EQ(call("POST", gadgets(), fin).code, 201);
  auto added = waitEvent(**w, [](const json& e) {
    return e["type"] == "ADDED" && e["object"]["metadata"]["name"] == "w2";
  });
  ASSERT_TRUE(added.has_value());
  // Delete with a finalizer: deletionTimestamp set, object stays (MODIFIED).
  auto del = call("DELETE", gadgets() + "/w2");
  ASSERT_EQ(del.code, 200);
  EXPECT_TRUE(del.json()["metadata"].contains("deletionTimestamp"));
  EXPECT_EQ(call("GET", gadgets() + "/w2").code, 200);
  auto mod = waitEvent(**w, [](const json& e) {
    return e["type"] == "MODIFIED" && e["object"]["metadata"].contains("deletionTimestamp");
  });
  ASSERT_TRUE(mod.has_value());
  // Removing the finalizer completes the deletion and fires DELETED.
  auto rm = call("PATCH", gadgets() + "/w2", {{"metadata", {{"finalizers", nullptr}}}},
                 "application/merge-patch+json");
  ASSERT_EQ(rm.code, 200) << rm.body;
  auto deleted = waitEvent(**w, [](const json& e) {
    return e["type"] == "DELETED" && e["object"]["metadata"]["name"] == "w2";
  });
  ASSERT_TRUE(deleted.has_value());
  EXPECT_EQ(call("GET", gadgets() + "/w2").code, 404);
  // The resource changed, so bookmarks arrive periodically (1 s in DevCluster) with a
  // resourceVersion.
  auto bm = waitEvent(**w, [](const json& e) { return e["type"] == "BOOKMARK"; });
  ASSERT_TRUE(bm.has_value());
  EXPECT_FALSE(bm->at("object")["metadata"]["resourceVersion"].get<std::string>().empty());
  // Resuming from the first resourceVersion replays the history in order.
  auto replay = http_->watch(gadgets() + "?watch=true&resourceVersion=" + rv0);
  ASSERT_TRUE(replay.isOk());
  std::vector<std::string> types;
  for (int i = 0; i < 3; ++i) {
    auto e = waitEvent(**replay,
                       [](const json& ev) { return ev["object"]["metadata"]["name"] == "w2"; });
    ASSERT_TRUE(e.has_value());
    types.push_back((*e)["type"]);
  }
  EXPECT_EQ(types, (std::vector<std::string>{"ADDED", "MODIFIED", "DELETED"}));
}

TEST_F(ApiServerTest, SelectorsAndPaging) {
  for (int i = 0; i < 7; ++i) {
    json g = gadget("page-" + std::to_string(i), 1);
    g["metadata"]["labels"] = {{"batch", "p"}, {"parity", i % 2 ? "odd" : "even"}};
    ASSERT_EQ(call("POST", gadgets("kube-public"), g).code, 201);
  }
  auto odd = call("GET", gadgets("kube-public") + "?labelSelector=parity%3Dodd");
  EXPECT_EQ(odd.json()["items"].size(), 3u);
  auto set = call("GET", gadgets("kube-public") + "?labelSelector=parity+in+(odd,even),batch");
  EXPECT_EQ(set.json()["items"].size(), 7u);
  auto byname = call("GET", gadgets("kube-public") + "?fieldSelector=metadata.name%3Dpage-3");
  ASSERT_EQ(byname.json()["items"].size(), 1u);
  auto badfield = call("GET", gadgets("kube-public") + "?fieldSelector=spec.size%3D1");
  EXPECT_EQ(badfield.code, 400);
  std::vector<std::string> names;
  std::string cont;
  int pages = 0;
  do {
    auto page = call(
        "GET", gadgets("kube-public") + "?limit=3" + (cont.empty() ? "" : "&continue=" + cont));
    ASSERT_EQ(page.code, 200) << page.body;
    json body = page.json();
    for (const auto& item : body["items"]) {
      names.push_back(item["metadata"]["name"]);
    }
    cont = body["metadata"].value("continue", "");
    ++pages;
  } while (!cont.empty() && pages < 10);
  EXPECT_EQ(names.size(), 7u);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(names.front(), "page-0");
  EXPECT_EQ(names.back(), "page-6");
}

TEST_F(ApiServerTest, GarbageCollectionAndNamespaceDeletion) {
  ASSERT_EQ(call("POST", "/api/v1/namespaces", {{"metadata", {{"name", "gc"}}}}).code, 201);
  auto owner = call("POST", gadgets("gc"), gadget("owner", 1));
  ASSERT_EQ(owner.code, 201);
  json dep = {{"metadata",
               {{"name", "dep"},
                {"ownerReferences",
                 {{{"apiVersion", "test.novacron.io/v1"},
                   {"kind", "Gadget"},
                   {"name", "owner"},
                   {"uid", owner.json()["metadata"]["uid"]}}}}}},
              {"data", {{"k", "v"}}}};
  ASSERT_EQ(call("POST", "/api/v1/namespaces/gc/configmaps", dep).code, 201);
  ASSERT_EQ(call("DELETE", gadgets("gc") + "/owner").code, 200);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (call("GET", "/api/v1/namespaces/gc/configmaps/dep").code != 404 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(call("GET", "/api/v1/namespaces/gc/configmaps/dep").code, 404);

  ASSERT_EQ(call("POST", gadgets("gc"), gadget("leftover", 1)).code, 201);
  auto del = call("DELETE", "/api/v1/namespaces/gc");
  ASSERT_EQ(del.code, 200);
  EXPECT_EQ(del.json()["status"]["phase"], "Terminating");
  auto refused = call("POST", gadgets("gc"), gadget("late", 1));
  EXPECT_EQ(refused.code, 403);
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (call("GET", "/api/v1/namespaces/gc").code != 404 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(call("GET", "/api/v1/namespaces/gc").code, 404);
  EXPECT_EQ(call("GET", gadgets("gc") + "/leftover").code, 404);
}

TEST_F(ApiServerTest, AuthenticationTokenAndClientCertificate) {
  KubeHttp anonymous("127.0.0.1", cluster_->apiServerPort(), cluster_->caCertPath(), "");
  auto r = anonymous.request("GET", "/api/v1/namespaces");
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->code, 401);
  EXPECT_EQ(anonymous.request("GET", "/version")->code, 200);
  KubeHttp wrong("127.0.0.1", cluster_->apiServerPort(), cluster_->caCertPath(), "nope");
  EXPECT_EQ(wrong.request("GET", "/api/v1/namespaces")->code, 401);
  KubeHttp cert("127.0.0.1", cluster_->apiServerPort(), cluster_->caCertPath(), "",
                cluster_->clientCertPath(), cluster_->clientKeyPath());
  EXPECT_EQ(cert.request("GET", "/api/v1/namespaces")->code, 200);
}

TEST_F(ApiServerTest, CompactionGivesGoneAndRestartKeepsData) {
  auto created = call("POST", gadgets(), gadget("old", 1));
  ASSERT_EQ(created.code, 201);
  std::string rv = created.json()["metadata"]["resourceVersion"];
  ASSERT_EQ(
      call("PATCH", gadgets() + "/old", {{"spec", {{"size", 2}}}}, "application/merge-patch+json")
          .code,
      200);
  auto compacted = cluster_->compact();
  ASSERT_TRUE(compacted.isOk()) << compacted.status();
  auto w = http_->watch(gadgets() + "?watch=true&resourceVersion=" + rv);
  ASSERT_TRUE(w.isOk());
  auto err = waitEvent(**w, [](const json& e) { return e["type"] == "ERROR"; });
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ((*err)["object"]["code"], 410);
  EXPECT_EQ((*err)["object"]["reason"], "Expired");

  ASSERT_TRUE(cluster_->stopApiServer().isOk());
  ASSERT_TRUE(cluster_->startApiServer().isOk());
  auto got = call("GET", gadgets() + "/old");
  ASSERT_EQ(got.code, 200) << got.body;  // CRD re-registered from etcd, object kept
  EXPECT_EQ(got.json()["spec"]["size"], 2);
}

TEST_F(ApiServerTest, DiscoveryAndTable) {
  auto gv = call("GET", "/apis/test.novacron.io/v1");
  ASSERT_EQ(gv.code, 200);
  bool found = false;
  json list = gv.json();
  for (const auto& r : list["resources"]) {
    if (r["name"] == "gadgets") {
      found = true;
      EXPECT_EQ(r["shortNames"], json::array({"gd"}));
      EXPECT_EQ(r["kind"], "Gadget");
    }
  }
  EXPECT_TRUE(found);
  ASSERT_EQ(call("POST", gadgets(), gadget("tbl", 7)).code, 201);
  auto t = http_->request("GET", gadgets() + "/tbl", "", "application/json",
                          "application/json;as=Table;v=v1;g=meta.k8s.io,application/json");
  ASSERT_TRUE(t.isOk());
  json table = t->json();
  EXPECT_EQ(table["kind"], "Table");
  EXPECT_EQ(table["columnDefinitions"][1]["name"], "Size");
  EXPECT_EQ(table["rows"][0]["cells"][1], 7);
}

// issue 12: the files the server writes are owner-only, and it says it is for development.
TEST_F(ApiServerTest, WritesItsSecretsOwnerOnlyAndWarnsItIsForDevelopment) {
  const std::string certs = cluster_->dir() + "/certs";
  for (const std::string& file :
       {certs + "/token", certs + "/ca.key", certs + "/server.key", certs + "/client.key",
        certs + "/sa.key", cluster_->kubeconfigPath()}) {
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
  }
  std::ifstream log(cluster_->dir() + "/apiserver.log");
  std::stringstream text;
  text << log.rdbuf();
  EXPECT_NE(text.str().find("for development and tests only"), std::string::npos) << text.str();
}

// --token-auth-file users are authenticated with their groups and authorized by RBAC (the
// default --authorization-mode); --authorization-mode=AlwaysAllow lets them do anything.
TEST(ApiServerAuthzTest, TokenFileUsersAreAuthorizedByRbacUnlessAlwaysAllow) {
  char tmpl[] = "/tmp/novacron-token-file-XXXXXX";
  int fd = ::mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  ::close(fd);
  const std::string file = tmpl;
  std::ofstream(file) << "alice-token,alice,uid-alice,\"devs,ops\"\n";
  for (const std::string mode : {"RBAC", "AlwaysAllow"}) {
    testing::DevClusterOptions opts;
    opts.extra_apiserver_args = {"--token-auth-file=" + file, "--authorization-mode=" + mode};
    auto cluster = DevCluster::start(opts);
    ASSERT_TRUE(cluster.isOk()) << cluster.status();
    auto& c = **cluster;
    KubeHttp admin("127.0.0.1", c.apiServerPort(), c.caCertPath(), c.token());
    KubeHttp alice("127.0.0.1", c.apiServerPort(), c.caCertPath(), "alice-token");
    auto r = alice.request("GET", "/api/v1/namespaces/default/configmaps");
    ASSERT_TRUE(r.isOk());
    if (mode == "AlwaysAllow") {
      EXPECT_EQ(r->code, 200) << r->body;
      continue;
    }
    ASSERT_EQ(r->code, 403) << r->body;
    EXPECT_EQ(json::parse(r->body)["message"],
              "configmaps is forbidden: User \"alice\" cannot list resource \"configmaps\" in API "
              "group \"\" in the namespace \"default\"");
    // Her groups come from the file: a binding to "ops" lets her list.
    json role = {
        {"apiVersion", "rbac.authorization.k8s.io/v1"},
        {"kind", "ClusterRole"},
        {"metadata", {{"name", "cm-reader"}}},
        {"rules", {{{"apiGroups", {""}}, {"resources", {"configmaps"}}, {"verbs", {"list"}}}}}};
    ASSERT_EQ(
        admin.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterroles", role.dump())->code,
        201);
    json binding = {{"apiVersion", "rbac.authorization.k8s.io/v1"},
                    {"kind", "RoleBinding"},
                    {"metadata", {{"name", "ops-read"}}},
                    {"roleRef",
                     {{"apiGroup", "rbac.authorization.k8s.io"},
                      {"kind", "ClusterRole"},
                      {"name", "cm-reader"}}},
                    {"subjects", {{{"kind", "Group"}, {"name", "ops"}}}}};
    ASSERT_EQ(
        admin
            .request("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
                     binding.dump())
            ->code,
        201);
    EXPECT_EQ(alice.request("GET", "/api/v1/namespaces/default/configmaps")->code, 200);
    EXPECT_EQ(alice.request("GET", "/api/v1/namespaces/kube-system/configmaps")->code, 403);
    EXPECT_EQ(alice.request("GET", "/api/v1/namespaces/default/configmaps/x")->code, 403);
  }
  std::remove(file.c_str());
}

// kube-apiserver's bookmark 2 s before a watch's deadline, with the periodic one (kube: a minute)
// out of the way: it carries the last change to the watched resource, in any namespace; a watch
// whose resource does not change gets none, even while another resource changes.
TEST(ApiServerBookmarkTest, PreTimeoutBookmarkOnlyAfterAChangeToTheResource) {
  testing::DevClusterOptions opts;
  opts.bookmark_interval = std::chrono::minutes(10);
  auto c = DevCluster::start(opts);
  ASSERT_TRUE(c.isOk()) << c.status();
  KubeHttp http("127.0.0.1", (*c)->apiServerPort(), (*c)->caCertPath(), (*c)->token());
  ASSERT_EQ(http.request("POST", "/api/v1/namespaces", R"({"metadata":{"name":"other"}})")->code,
            201);
  auto list = http.request("GET", "/api/v1/namespaces/default/configmaps");
  ASSERT_TRUE(list.isOk());
  const std::string start = list->json()["metadata"]["resourceVersion"];
  const std::string query =
      "?watch=true&allowWatchBookmarks=true&timeoutSeconds=3&resourceVersion=" + start;
  auto configmaps = http.watch("/api/v1/namespaces/default/configmaps" + query);
  auto leases = http.watch("/apis/coordination.k8s.io/v1/namespaces/default/leases" + query);
  ASSERT_TRUE(configmaps.isOk() && leases.isOk());
  // A ConfigMap in another namespace than the watch's: the watch cache is per resource.
  auto other = http.request("POST", "/api/v1/namespaces/other/configmaps",
                            R"({"metadata":{"name":"elsewhere"}})");
  ASSERT_TRUE(other.isOk());
  ASSERT_EQ(other->code, 201) << other->body;
  const int64_t changed =
      std::stoll(other->json()["metadata"]["resourceVersion"].get<std::string>());

  // Every event of a watch until the server ends it.
  auto drain = [](testing::WatchStream& w) {
    std::vector<json> events;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      auto e = w.next(std::chrono::milliseconds(200));
      if (!e.isOk()) {
        return events;  // the server ended the watch
      }
      if (*e) {
        events.push_back(**e);
      }
    }
    ADD_FAILURE() << "watch with timeoutSeconds=3 still open after 20 s";
    return events;
  };
  auto busy = drain(**configmaps);
  ASSERT_EQ(busy.size(), 1u) << "expected exactly one BOOKMARK";
  EXPECT_EQ(busy[0]["type"], "BOOKMARK") << busy[0];
  EXPECT_EQ(busy[0]["object"]["kind"], "ConfigMap");
  const int64_t bookmark_rv =
      std::stoll(busy[0]["object"]["metadata"]["resourceVersion"].get<std::string>());
  EXPECT_GE(bookmark_rv, changed);
  EXPECT_GT(bookmark_rv, std::stoll(start));
  auto quiet = drain(**leases);
  EXPECT_TRUE(quiet.empty()) << quiet.front();
}

// A watch from a resourceVersion older than the server's shared event window (here 4 events) is
// served by its own etcd watch and still replays every change in order.
TEST(ApiServerWindowTest, WatchOlderThanTheWindowReplaysFromEtcd) {
  testing::DevClusterOptions opts;
  opts.extra_apiserver_args = {"--watch-window=4"};
  auto c = DevCluster::start(opts);
  ASSERT_TRUE(c.isOk()) << c.status();
  KubeHttp http("127.0.0.1", (*c)->apiServerPort(), (*c)->caCertPath(), (*c)->token());
  const std::string path = "/api/v1/namespaces/default/configmaps";
  std::string first_rv;
  for (int i = 0; i < 12; ++i) {
    json cm = {{"metadata", {{"name", "cm-" + std::to_string(i)}}}};
    auto r = http.request("POST", path, cm.dump());
    ASSERT_TRUE(r.isOk());
    ASSERT_EQ(r->code, 201) << r->body;
    if (i == 0) {
      first_rv = r->json()["metadata"]["resourceVersion"];
    }
  }
  auto w = http.watch(path + "?watch=true&resourceVersion=" + first_rv);
  ASSERT_TRUE(w.isOk()) << w.status();
  for (int i = 1; i < 12; ++i) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::optional<json> ev;
    while (!ev && std::chrono::steady_clock::now() < deadline) {
      auto e = (*w)->next(std::chrono::milliseconds(200));
      ASSERT_TRUE(e.isOk()) << e.status();
      ev = *e;
    }
    ASSERT_TRUE(ev.has_value()) << "event " << i << " missing";
    EXPECT_EQ((*ev)["type"], "ADDED");
    EXPECT_EQ((*ev)["object"]["metadata"]["name"], "cm-" + std::to_string(i));
  }
}

}  // namespace
}  // namespace novacron::devapi

// The kube::Client contract: the same cases run against every implementation (client_under_test.h),
// so the FakeClient that unit tests rely on and RestClient -> dev API server (which follows
// kube-apiserver) cannot drift apart. When a case fails on one target only, the dev API server is
// the judge; when the dev server disagrees with kube-apiserver, fix the server.
//
// Covered: CRUD, resourceVersion ordering and optimistic concurrency, unconditional updates of
// custom resources, generation (custom resources only, spec changes only), status subresource
// isolation, deletion with finalizers, label and field selectors on list and watch, paging, watch
// event order and types, 410 Gone after compaction, merge and JSON patches.
#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/contract/client_under_test.h"
#include "tests/testing/eventually.h"

namespace novacron::contract {
namespace {

using core::StatusCode;
using kube::Json;
using kube::kConfigMap;
using kube::kLease;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

Json configMap(const std::string& name, Json labels = Json::object()) {
  return Json{{"apiVersion", "v1"},
              {"kind", "ConfigMap"},
              {"metadata", {{"name", name}, {"labels", std::move(labels)}}},
              {"data", {{"k", "v1"}}}};
}

Json gadget(const std::string& name, Json spec = {{"size", 1}}) {
  return Json{{"apiVersion", kGadget.apiVersion()},
              {"kind", kGadget.kind},
              {"metadata", {{"name", name}}},
              {"spec", std::move(spec)}};
}

std::string rvText(const Json& object) {
  return object["metadata"].value("resourceVersion", std::string());
}

// resourceVersions are opaque to clients, but both implementations hand out increasing integers
// (kube-apiserver: etcd revisions); comparing them is how "newer" is checked here.
int64_t rv(const Json& object) {
  return std::stoll(rvText(object));
}

bool hasGeneration(const Json& object) {
  return object["metadata"].contains("generation");
}

int64_t generation(const Json& object) {
  return object["metadata"].value("generation", int64_t{0});
}

// The generation a write left; -1 (and a test failure) when the write failed.
int64_t generationAfter(const core::StatusOr<Json>& written) {
  EXPECT_TRUE(written.isOk()) << written.status();
  return written.isOk() ? generation(*written) : -1;
}

std::vector<std::string> names(const Json& list) {
  std::vector<std::string> out;
  for (const auto& item : list["items"]) {
    out.push_back(item["metadata"]["name"]);
  }
  return out;
}

// Collects watch events other than bookmarks as "TYPE name" plus their resourceVersions.
class Recorder {
public:
  kube::WatchCallback callback() {
    return [this](kube::WatchEvent&& e) {
      if (e.type == kube::WatchEventType::kBookmark) {
        return true;
      }
      std::lock_guard lock(mu_);
      std::string name;
      if (e.object.contains("metadata")) {
        name = e.object["metadata"].value("name", std::string());
        rvs_.push_back(e.object["metadata"].value("resourceVersion", std::string()));
      }
      summary_.push_back(std::string(kube::watchEventTypeName(e.type)) +
                         (name.empty() ? "" : " " + name));
      objects_.push_back(std::move(e.object));
      return true;
    };
  }
  std::vector<std::string> summary() const {
    std::lock_guard lock(mu_);
    return summary_;
  }
  std::vector<std::string> rvs() const {
    std::lock_guard lock(mu_);
    return rvs_;
  }
  std::vector<Json> objects() const {
    std::lock_guard lock(mu_);
    return objects_;
  }
  // Waits for `n` events and says which arrived.
  ::testing::AssertionResult waitFor(size_t n) const {
    return testing::eventuallyThat(
        [&] { return summary(); },
        [&](const std::vector<std::string>& s) { return s.size() >= n; });
  }

private:
  mutable std::mutex mu_;
  std::vector<std::string> summary_;  // guarded by mu_
  std::vector<std::string> rvs_;      // guarded by mu_
  std::vector<Json> objects_;         // guarded by mu_
};

template <typename Target>
class KubeClientContractTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() { Target::setUpSuite(); }
  static void TearDownTestSuite() { Target::tearDownSuite(); }

  void SetUp() override {
    auto target = Target::make();
    ASSERT_TRUE(target.isOk()) << Target::kName << ": " << target.status();
    target_ = std::move(target).value();
  }

  kube::Client& client() { return target_->client(); }
  const std::string& ns() const { return target_->ns(); }

  Json mustCreate(const kube::ResourceType& resource, const Json& object) {
    auto created = client().create(resource, ns(), object);
    EXPECT_TRUE(created.isOk()) << created.status();
    return created.isOk() ? *created : Json::object();
  }
  Json mustGet(const kube::ResourceType& resource, const std::string& name) {
    auto got = client().get(resource, ns(), name);
    EXPECT_TRUE(got.isOk()) << got.status();
    return got.isOk() ? *got : Json::object();
  }
  std::vector<std::string> listNames(const kube::ResourceType& resource, std::string_view ns,
                                     kube::ListOptions options) {
    auto list = client().list(resource, ns, options);
    EXPECT_TRUE(list.isOk()) << list.status();
    std::vector<std::string> out = list.isOk() ? names(*list) : std::vector<std::string>{};
    std::sort(out.begin(), out.end());
    return out;
  }
  std::vector<std::string> withLabels(const std::string& selector) {
    kube::ListOptions options;
    options.label_selector = selector;
    return listNames(kConfigMap, ns(), options);
  }
  // Opens a watch of this test's namespace that starts after `from` (a resourceVersion).
  kube::WatchHandlePtr watchFrom(const kube::ResourceType& resource, const std::string& from,
                                 Recorder& recorder, kube::WatchOptions options = {}) {
    options.resource_version = from;
    options.timeout_seconds = 60;
    auto handle = client().watch(resource, ns(), options, recorder.callback());
    EXPECT_TRUE(handle.isOk()) << handle.status();
    return handle.isOk() ? std::move(handle).value() : nullptr;
  }
  std::string listVersion(const kube::ResourceType& resource) {
    auto list = client().list(resource, ns(), {});
    EXPECT_TRUE(list.isOk()) << list.status();
    return list.isOk() ? (*list)["metadata"].value("resourceVersion", std::string()) : "";
  }

  std::unique_ptr<ClientUnderTest> target_;
};

struct TargetName {
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};
using Targets = ::testing::Types<FakeClientTarget, DevApiServerTarget>;
TYPED_TEST_SUITE(KubeClientContractTest, Targets, TargetName);

TYPED_TEST(KubeClientContractTest, CreateGetListUpdateDelete) {
  kube::Client& c = this->client();
  const std::string& ns = this->ns();
  Json created = this->mustCreate(kConfigMap, configMap("a"));
  EXPECT_EQ(created["kind"], "ConfigMap");
  EXPECT_EQ(created["apiVersion"], "v1");
  EXPECT_EQ(created["metadata"]["namespace"], ns);
  EXPECT_FALSE(created["metadata"].value("uid", "").empty());
  EXPECT_FALSE(created["metadata"].value("creationTimestamp", "").empty());
  EXPECT_FALSE(rvText(created).empty());
  EXPECT_EQ(c.create(kConfigMap, ns, configMap("a")).status().code(), StatusCode::kAlreadyExists);

  Json got = this->mustGet(kConfigMap, "a");
  EXPECT_EQ(got, created);
  auto list = c.list(kConfigMap, ns, {});
  ASSERT_TRUE(list.isOk()) << list.status();
  EXPECT_THAT(names(*list), ElementsAre("a"));
  EXPECT_GE(rv(*list), rv(created));

  got["data"]["k"] = "v2";
  auto updated = c.update(kConfigMap, ns, got);
  ASSERT_TRUE(updated.isOk()) << updated.status();
  EXPECT_GT(rv(*updated), rv(created));
  EXPECT_EQ(this->mustGet(kConfigMap, "a")["data"]["k"], "v2");

  Json generated = configMap("");
  generated["metadata"].erase("name");
  generated["metadata"]["generateName"] = "gen-";
  Json named = this->mustCreate(kConfigMap, generated);
  std::string name = named["metadata"].value("name", "");
  EXPECT_EQ(name.rfind("gen-", 0), 0u) << name;
  EXPECT_GT(name.size(), 4u);

  ASSERT_TRUE(c.remove(kConfigMap, ns, "a").isOk());
  EXPECT_EQ(c.get(kConfigMap, ns, "a").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(c.remove(kConfigMap, ns, "a").code(), StatusCode::kNotFound);
  EXPECT_EQ(c.update(kConfigMap, ns, *updated).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(c.patch(kConfigMap, ns, "a", kube::PatchType::kMerge, {{"data", {{"k", "v3"}}}})
                .status()
                .code(),
            StatusCode::kNotFound);
  EXPECT_THAT(this->listNames(kConfigMap, ns, {}), ElementsAre(name));
}

TYPED_TEST(KubeClientContractTest, CustomResourceCrud) {
  kube::Client& c = this->client();
  const std::string& ns = this->ns();
  Json created = this->mustCreate(kGadget, gadget("g", {{"size", 1}, {"color", "red"}}));
  EXPECT_EQ(created["kind"], "Gadget");
  EXPECT_EQ(created["apiVersion"], "contract.novacron.io/v1");
  EXPECT_EQ(created["spec"]["color"], "red");
  Json got = this->mustGet(kGadget, "g");
  EXPECT_EQ(got, created);
  got["spec"]["size"] = 2;
  auto updated = c.update(kGadget, ns, got);
  ASSERT_TRUE(updated.isOk()) << updated.status();
  EXPECT_EQ((*updated)["spec"]["size"], 2);
  EXPECT_THAT(this->listNames(kGadget, ns, {}), ElementsAre("g"));
  ASSERT_TRUE(c.remove(kGadget, ns, "g").isOk());
  EXPECT_EQ(c.get(kGadget, ns, "g").status().code(), StatusCode::kNotFound);
}

TYPED_TEST(KubeClientContractTest, ResourceVersionsIncreaseAndStaleWritesConflict) {
  kube::Client& c = this->client();
  const std::string& ns = this->ns();
  Json a = this->mustCreate(kConfigMap, configMap("a"));
  Json b = this->mustCreate(kConfigMap, configMap("b"));
  EXPECT_GT(rv(b), rv(a));
  Json changed = a;
  changed["data"]["k"] = "v2";
  auto a2 = c.update(kConfigMap, ns, changed);
  ASSERT_TRUE(a2.isOk()) << a2.status();
  EXPECT_GT(rv(*a2), rv(b));

  // Writes based on the copy read before the update are refused.
  Json stale = a;
  stale["data"]["k"] = "v3";
  EXPECT_EQ(c.update(kConfigMap, ns, stale).status().code(), StatusCode::kConflict);
  kube::DeleteOptions precondition;
  precondition.precondition_resource_version = rvText(a);
  EXPECT_EQ(c.remove(kConfigMap, ns, "a", precondition).code(), StatusCode::kConflict);
  kube::DeleteOptions other_uid;
  other_uid.precondition_uid = "not-the-uid";
  EXPECT_EQ(c.remove(kConfigMap, ns, "a", other_uid).code(), StatusCode::kConflict);
  Json stale_merge = {{"metadata", {{"resourceVersion", rvText(a)}}}, {"data", {{"k", "v4"}}}};
  EXPECT_EQ(c.patch(kConfigMap, ns, "a", kube::PatchType::kMerge, stale_merge).status().code(),
            StatusCode::kConflict);
  EXPECT_EQ(this->mustGet(kConfigMap, "a")["data"]["k"], "v2");

  Json g = this->mustCreate(kGadget, gadget("g"));
  Json g2 = g;
  g2["spec"]["size"] = 2;
  ASSERT_TRUE(c.update(kGadget, ns, g2).isOk());
  g["spec"]["size"] = 3;
  EXPECT_EQ(c.update(kGadget, ns, g).status().code(), StatusCode::kConflict);
  g["status"] = {{"phase", "Stale"}};
  EXPECT_EQ(c.updateStatus(kGadget, ns, g).status().code(), StatusCode::kConflict);

  // A write that changes nothing does not create a new version.
  auto same = c.update(kConfigMap, ns, *a2);
  ASSERT_TRUE(same.isOk()) << same.status();
  EXPECT_EQ(rvText(*same), rvText(*a2));
  precondition.precondition_resource_version = rvText(*a2);
  EXPECT_TRUE(c.remove(kConfigMap, ns, "a", precondition).isOk());
}

TYPED_TEST(KubeClientContractTest, UnconditionalUpdateOnlyForBuiltInKinds) {
  kube::Client& c = this->client();
  const std::string& ns = this->ns();
  Json g = this->mustCreate(kGadget, gadget("g"));
  g["metadata"].erase("resourceVersion");
  g["spec"]["size"] = 2;
  EXPECT_EQ(c.update(kGadget, ns, g).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(this->mustGet(kGadget, "g")["spec"]["size"], 1);

  Json cm = this->mustCreate(kConfigMap, configMap("a"));
  cm["metadata"].erase("resourceVersion");
  cm["data"]["k"] = "v2";
  auto updated = c.update(kConfigMap, ns, cm);
  ASSERT_TRUE(updated.isOk()) << updated.status();
  EXPECT_EQ(this->mustGet(kConfigMap, "a")["data"]["k"], "v2");
}

TYPED_TEST(KubeClientContractTest, GenerationCountsSpecChangesOfCustomResourcesOnly) {
  kube::Client& c = this->client();
  const std::string& ns = this->ns();
  Json g = this->mustCreate(kGadget, gadget("g"));
  EXPECT_EQ(generation(g), 1);
  g["status"] = {{"phase", "Ready"}};
  EXPECT_EQ(generationAfter(c.updateStatus(kGadget, ns, g)), 1)
      << "status writes never bump generation";
  Json labelled = this->mustGet(kGadget, "g");
  labelled["metadata"]["labels"] = {{"team", "a"}};
  EXPECT_EQ(generationAfter(c.update(kGadget, ns, labelled)), 1)
      << "metadata changes never bump generation";
  EXPECT_EQ(generationAfter(c.patch(kGadget, ns, "g", kube::PatchType::kMerge,
                                    {{"metadata", {{"annotations", {{"note", "x"}}}}}})),
            1);

  Json spec = this->mustGet(kGadget, "g");
  spec["spec"]["size"] = 2;
  EXPECT_EQ(generationAfter(c.update(kGadget, ns, spec)), 2);
  EXPECT_EQ(generationAfter(
                c.patch(kGadget, ns, "g", kube::PatchType::kMerge, {{"spec", {{"size", 3}}}})),
            3);
  Json replace = Json::array({{{"op", "replace"}, {"path", "/spec/size"}, {"value", 4}}});
  EXPECT_EQ(generationAfter(c.patch(kGadget, ns, "g", kube::PatchType::kJsonPatch, replace)), 4);
  // A client cannot set generation.
  Json forged = this->mustGet(kGadget, "g");
  forged["metadata"]["generation"] = 42;
  forged["spec"]["size"] = 5;
  EXPECT_EQ(generationAfter(c.update(kGadget, ns, forged)), 5);

  // Built-in kinds without a spec/status split have no generation at all.
  Json cm = this->mustCreate(kConfigMap, configMap("a"));
  EXPECT_FALSE(hasGeneration(cm)) << cm.dump();
  cm["data"]["k"] = "v2";
  auto cm2 = c.update(kConfigMap, ns, cm);
  ASSERT_TRUE(cm2.isOk()) << cm2.status();
  EXPECT_FALSE(hasGeneration(*cm2)) << cm2->dump();
  Json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata", {{"name", "l"}}},
                {"spec", {{"holderIdentity", "a"}, {"leaseDurationSeconds", 10}}}};
  Json l = this->mustCreate(kLease, lease);
  EXPECT_FALSE(hasGeneration(l)) << l.dump();
  l["spec"]["holderIdentity"] = "b";
  auto l2 = c.update(kLease, ns, l);
  ASSERT_TRUE(l2.isOk()) << l2.status();
  EXPECT_FALSE(hasGeneration(*l2)) << l2->dump();
}

TYPED_TEST(KubeClientContractTest, StatusSubresourceIsolatesStatusFromSpec) {
  kube::Client& c = this->client();
  const std::string& ns = this->ns();
  Json with_status = gadget("g");
  with_status["status"] = {{"phase", "Bogus"}};
  Json g = this->mustCreate(kGadget, with_status);
  EXPECT_FALSE(g.contains("status")) << "create ignores status: " << g.dump();

  // updateStatus writes status only.
  g["status"] = {{"phase", "Ready"}};
  g["spec"]["size"] = 5;
  g["metadata"]["labels"] = {{"ignored", "yes"}};
  auto status = c.updateStatus(kGadget, ns, g);
  ASSERT_TRUE(status.isOk()) << status.status();
  EXPECT_EQ((*status)["status"]["phase"], "Ready");
  EXPECT_EQ((*status)["spec"]["size"], 1);
  EXPECT_FALSE((*status)["metadata"].contains("labels")) << status->dump();

  // update writes everything but status.
  Json both = *status;
  both["status"]["phase"] = "Hacked";
  both["spec"]["size"] = 2;
  auto updated = c.update(kGadget, ns, both);
  ASSERT_TRUE(updated.isOk()) << updated.status();
  EXPECT_EQ((*updated)["status"]["phase"], "Ready");
  EXPECT_EQ((*updated)["spec"]["size"], 2);

  // The same for patches.
  auto status_patch =
      c.patch(kGadget, ns, "g", kube::PatchType::kMerge,
              {{"status", {{"phase", "Patched"}}}, {"spec", {{"size", 9}}}}, "status");
  ASSERT_TRUE(status_patch.isOk()) << status_patch.status();
  EXPECT_EQ((*status_patch)["status"]["phase"], "Patched");
  EXPECT_EQ((*status_patch)["spec"]["size"], 2);
  auto main_patch = c.patch(kGadget, ns, "g", kube::PatchType::kMerge,
                            {{"status", {{"phase", "Main"}}}, {"spec", {{"size", 7}}}});
  ASSERT_TRUE(main_patch.isOk()) << main_patch.status();
  EXPECT_EQ((*main_patch)["status"]["phase"], "Patched");
  EXPECT_EQ((*main_patch)["spec"]["size"], 7);
  Json stored = this->mustGet(kGadget, "g");
  EXPECT_EQ(stored["status"]["phase"], "Patched");
  EXPECT_EQ(stored["spec"]["size"], 7);

  // ConfigMaps have no status subresource.
  Json cm = this->mustCreate(kConfigMap, configMap("a"));
  EXPECT_EQ(c.updateStatus(kConfigMap, ns, cm).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(
      c.patch(kConfigMap, ns, "a", kube::PatchType::kMerge, {{"data", {{"k", "x"}}}}, "status")
          .status()
          .code(),
      StatusCode::kNotFound);
}

TYPED_TEST(KubeClientContractTest, DeletionWaitsForFinalizers) {
  kube::Client& c = this->client();
  const std::string& ns = this->ns();
  Json held = gadget("g");
  held["metadata"]["finalizers"] = {"contract.novacron.io/hold"};
  Json g = this->mustCreate(kGadget, held);
  Recorder events;
  auto watch = this->watchFrom(kGadget, rvText(g), events);
  ASSERT_NE(watch, nullptr);

  ASSERT_TRUE(c.remove(kGadget, ns, "g").isOk());
  Json deleting = this->mustGet(kGadget, "g");
  EXPECT_FALSE(deleting["metadata"].value("deletionTimestamp", "").empty()) << deleting.dump();
  EXPECT_EQ(deleting["metadata"].value("deletionGracePeriodSeconds", -1), 0);
  EXPECT_EQ(generation(deleting), 2) << "marking for deletion bumps generation";
  EXPECT_EQ(deleting["metadata"]["finalizers"], Json::array({"contract.novacron.io/hold"}));
  // Deleting again changes nothing.
  ASSERT_TRUE(c.remove(kGadget, ns, "g").isOk());
  EXPECT_EQ(rvText(this->mustGet(kGadget, "g")), rvText(deleting));

  // No new finalizers once deletion started; other changes are still allowed.
  Json more = deleting;
  more["metadata"]["finalizers"].push_back("contract.novacron.io/late");
  EXPECT_EQ(c.update(kGadget, ns, more).status().code(), StatusCode::kInvalidArgument);
  deleting["status"] = {{"phase", "Terminating"}};
  auto status = c.updateStatus(kGadget, ns, deleting);
  ASSERT_TRUE(status.isOk()) << status.status();

  // Removing the last finalizer completes the deletion.
  Json released = *status;
  released["metadata"]["finalizers"] = Json::array();
  ASSERT_TRUE(c.update(kGadget, ns, released).isOk());
  EXPECT_EQ(c.get(kGadget, ns, "g").status().code(), StatusCode::kNotFound);

  ASSERT_TRUE(events.waitFor(3));
  EXPECT_THAT(events.summary(), ElementsAre("MODIFIED g", "MODIFIED g", "DELETED g"));
  std::vector<Json> objects = events.objects();
  EXPECT_FALSE(objects[0]["metadata"].value("deletionTimestamp", "").empty());
  auto rvs = events.rvs();
  EXPECT_LT(std::stoll(rvs[1]), std::stoll(rvs[2]));
  // The DELETED event carries the last stored state (still with its finalizer, as the object was
  // removed by the write that emptied them) at the deletion's resourceVersion.
  EXPECT_EQ(objects[2]["status"]["phase"], "Terminating");

  // Built-in kinds honour finalizers the same way (without a generation).
  Json cm = configMap("cm");
  cm["metadata"]["finalizers"] = {"contract.novacron.io/hold"};
  this->mustCreate(kConfigMap, cm);
  ASSERT_TRUE(c.remove(kConfigMap, ns, "cm").isOk());
  Json cm_deleting = this->mustGet(kConfigMap, "cm");
  EXPECT_FALSE(cm_deleting["metadata"].value("deletionTimestamp", "").empty());
  EXPECT_FALSE(hasGeneration(cm_deleting)) << cm_deleting.dump();
  auto cm_released = c.patch(kConfigMap, ns, "cm", kube::PatchType::kMerge,
                             {{"metadata", {{"finalizers", nullptr}}}});
  ASSERT_TRUE(cm_released.isOk()) << cm_released.status();
  EXPECT_EQ(c.get(kConfigMap, ns, "cm").status().code(), StatusCode::kNotFound);
}

TYPED_TEST(KubeClientContractTest, LabelSelectorsOnList) {
  this->mustCreate(kConfigMap, configMap("a", {{"app", "web"}, {"tier", "front"}}));
  this->mustCreate(kConfigMap, configMap("b", {{"app", "web"}, {"tier", "back"}}));
  this->mustCreate(kConfigMap, configMap("c", {{"app", "db"}}));
  this->mustCreate(kConfigMap, configMap("d"));
  EXPECT_THAT(this->withLabels(""), ElementsAre("a", "b", "c", "d"));
  EXPECT_THAT(this->withLabels("app=web"), ElementsAre("a", "b"));
  EXPECT_THAT(this->withLabels("app==web"), ElementsAre("a", "b"));
  EXPECT_THAT(this->withLabels("app!=web"), ElementsAre("c", "d"));
  EXPECT_THAT(this->withLabels("app in (web,db)"), ElementsAre("a", "b", "c"));
  EXPECT_THAT(this->withLabels("app notin (web)"), ElementsAre("c", "d"));
  EXPECT_THAT(this->withLabels("tier"), ElementsAre("a", "b"));
  EXPECT_THAT(this->withLabels("!tier"), ElementsAre("c", "d"));
  EXPECT_THAT(this->withLabels("app=web,tier!=front"), ElementsAre("b"));
  EXPECT_THAT(this->withLabels("app in (web), !tier"), IsEmpty());
  kube::ListOptions bad;
  bad.label_selector = "app in (web";
  EXPECT_EQ(this->client().list(kConfigMap, this->ns(), bad).status().code(),
            StatusCode::kInvalidArgument);
}

TYPED_TEST(KubeClientContractTest, FieldSelectorsOnList) {
  for (const char* name : {"a", "b", "c"}) {
    this->mustCreate(kConfigMap, configMap(name));
  }
  kube::ListOptions options;
  options.field_selector = "metadata.name=a";
  EXPECT_THAT(this->listNames(kConfigMap, this->ns(), options), ElementsAre("a"));
  options.field_selector = "metadata.name!=a";
  EXPECT_THAT(this->listNames(kConfigMap, this->ns(), options), ElementsAre("b", "c"));
  // Across all namespaces, narrowed to this test's one.
  options.field_selector = "metadata.namespace=" + this->ns();
  EXPECT_THAT(this->listNames(kConfigMap, "", options), ElementsAre("a", "b", "c"));
  options.field_selector = "metadata.namespace=" + this->ns() + ",metadata.name==b";
  EXPECT_THAT(this->listNames(kConfigMap, "", options), ElementsAre("b"));
  // Only supported fields, and only equality.
  options.field_selector = "data.k=v1";
  EXPECT_EQ(this->client().list(kConfigMap, this->ns(), options).status().code(),
            StatusCode::kInvalidArgument);
  options.field_selector = "metadata.name in (a,b)";
  EXPECT_EQ(this->client().list(kConfigMap, this->ns(), options).status().code(),
            StatusCode::kInvalidArgument);
}

TYPED_TEST(KubeClientContractTest, ListPages) {
  for (int i = 0; i < 5; ++i) {
    this->mustCreate(kConfigMap, configMap("cm-" + std::to_string(i)));
  }
  kube::ListOptions page;
  page.limit = 2;
  std::vector<std::string> seen;
  int pages = 0;
  do {
    auto list = this->client().list(kConfigMap, this->ns(), page);
    ASSERT_TRUE(list.isOk()) << list.status();
    for (const auto& n : names(*list)) {
      seen.push_back(n);
    }
    page.continue_token = (*list)["metadata"].value("continue", std::string());
    ++pages;
  } while (!page.continue_token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(seen, ElementsAre("cm-0", "cm-1", "cm-2", "cm-3", "cm-4"));
}

TYPED_TEST(KubeClientContractTest, WatchDeliversChangesInOrder) {
  kube::Client& c = this->client();
  const std::string& ns = this->ns();
  Json a = this->mustCreate(kConfigMap, configMap("a"));
  this->mustCreate(kConfigMap, configMap("b"));

  // From "": the current state as ADDED events first, then changes.
  Recorder from_now;
  auto now_watch = this->watchFrom(kConfigMap, "", from_now);
  ASSERT_NE(now_watch, nullptr);
  ASSERT_TRUE(from_now.waitFor(2));
  a["data"]["k"] = "v2";
  auto a2 = c.update(kConfigMap, ns, a);
  ASSERT_TRUE(a2.isOk()) << a2.status();
  ASSERT_TRUE(c.remove(kConfigMap, ns, "b").isOk());
  this->mustCreate(kConfigMap, configMap("c"));
  ASSERT_TRUE(from_now.waitFor(5));
  EXPECT_THAT(from_now.summary(),
              ElementsAre("ADDED a", "ADDED b", "MODIFIED a", "DELETED b", "ADDED c"));
  auto rvs = from_now.rvs();
  for (size_t i = 3; i < rvs.size(); ++i) {
    EXPECT_LT(std::stoll(rvs[i - 1]), std::stoll(rvs[i])) << "event " << i;
  }
  EXPECT_EQ(rvs[2], rvText(*a2));
  EXPECT_EQ(from_now.objects()[2]["data"]["k"], "v2");

  // From a resourceVersion: exactly the changes after it, replayed.
  Recorder replay;
  auto replay_watch = this->watchFrom(kConfigMap, rvText(*a2), replay);
  ASSERT_NE(replay_watch, nullptr);
  ASSERT_TRUE(replay.waitFor(2));
  EXPECT_THAT(replay.summary(), ElementsAre("DELETED b", "ADDED c"));

  now_watch->stop();
  EXPECT_EQ(now_watch->wait().code(), StatusCode::kCancelled);
}

TYPED_TEST(KubeClientContractTest, WatchFollowsSelectors) {
  kube::Client& c = this->client();
  const std::string& ns = this->ns();
  std::string from = this->listVersion(kConfigMap);
  Recorder web;
  kube::WatchOptions by_label;
  by_label.label_selector = "app=web";
  auto label_watch = this->watchFrom(kConfigMap, from, web, by_label);
  ASSERT_NE(label_watch, nullptr);
  Recorder named;
  kube::WatchOptions by_name;
  by_name.field_selector = "metadata.name=b";
  auto name_watch = this->watchFrom(kConfigMap, from, named, by_name);
  ASSERT_NE(name_watch, nullptr);
  // Across all namespaces, narrowed to this test's one by a field selector.
  Recorder in_ns;
  kube::WatchOptions by_namespace;
  by_namespace.resource_version = from;
  by_namespace.timeout_seconds = 60;
  by_namespace.field_selector = "metadata.namespace=" + ns;
  auto ns_watch = c.watch(kConfigMap, "", by_namespace, in_ns.callback());
  ASSERT_TRUE(ns_watch.isOk()) << ns_watch.status();

  Json a = this->mustCreate(kConfigMap, configMap("a", {{"app", "web"}}));
  Json b = this->mustCreate(kConfigMap, configMap("b", {{"app", "db"}}));
  b["metadata"]["labels"]["app"] = "web";  // enters the selection
  auto b2 = c.update(kConfigMap, ns, b);
  ASSERT_TRUE(b2.isOk()) << b2.status();
  a["metadata"]["labels"]["app"] = "db";  // leaves it
  ASSERT_TRUE(c.update(kConfigMap, ns, a).isOk());
  Json b3 = *b2;
  b3["data"]["k"] = "v2";
  ASSERT_TRUE(c.update(kConfigMap, ns, b3).isOk());
  ASSERT_TRUE(c.remove(kConfigMap, ns, "b").isOk());
  ASSERT_TRUE(c.remove(kConfigMap, ns, "a").isOk());

  ASSERT_TRUE(web.waitFor(5));
  EXPECT_THAT(web.summary(),
              ElementsAre("ADDED a", "ADDED b", "DELETED a", "MODIFIED b", "DELETED b"));
  ASSERT_TRUE(named.waitFor(4));
  EXPECT_THAT(named.summary(), ElementsAre("ADDED b", "MODIFIED b", "MODIFIED b", "DELETED b"));
  ASSERT_TRUE(in_ns.waitFor(7));
  EXPECT_THAT(in_ns.summary(), ElementsAre("ADDED a", "ADDED b", "MODIFIED b", "MODIFIED a",
                                           "MODIFIED b", "DELETED b", "DELETED a"));
}

TYPED_TEST(KubeClientContractTest, WatchFromCompactedVersionIsGone) {
  kube::Client& c = this->client();
  const std::string& ns = this->ns();
  Json a = this->mustCreate(kConfigMap, configMap("a"));
  const std::string old_rv = rvText(a);
  a["data"]["k"] = "v2";
  ASSERT_TRUE(c.update(kConfigMap, ns, a).isOk());
  ASSERT_TRUE(this->target_->compact().isOk());

  // Like kube-apiserver: the watch opens, then an ERROR event with a 410 Status ends it.
  Recorder gone;
  auto watch = this->watchFrom(kConfigMap, old_rv, gone);
  ASSERT_NE(watch, nullptr);
  EXPECT_EQ(watch->wait().code(), StatusCode::kGone);
  ASSERT_THAT(gone.summary(), ElementsAre("ERROR"));
  EXPECT_EQ(gone.objects()[0]["code"], 410);
  EXPECT_EQ(gone.objects()[0]["reason"], "Expired");

  // A fresh watch (relist-and-watch) still works.
  Recorder fresh;
  auto again = this->watchFrom(kConfigMap, "", fresh);
  ASSERT_NE(again, nullptr);
  ASSERT_TRUE(fresh.waitFor(1));
  EXPECT_THAT(fresh.summary(), ElementsAre("ADDED a"));
}

TYPED_TEST(KubeClientContractTest, MergeAndJsonPatches) {
  kube::Client& c = this->client();
  const std::string& ns = this->ns();
  Json cm = configMap("a");
  cm["data"]["gone"] = "soon";
  this->mustCreate(kConfigMap, cm);

  auto merged = c.patch(kConfigMap, ns, "a", kube::PatchType::kMerge,
                        {{"data", {{"extra", "x"}, {"gone", nullptr}}}});
  ASSERT_TRUE(merged.isOk()) << merged.status();
  EXPECT_EQ((*merged)["data"], (Json{{"k", "v1"}, {"extra", "x"}}));

  // A "test" op guards the change: it applies only to the version that was read.
  Json guarded = Json::array(
      {{{"op", "test"}, {"path", "/metadata/resourceVersion"}, {"value", rvText(*merged)}},
       {{"op", "replace"}, {"path", "/data/k"}, {"value", "v2"}}});
  auto applied = c.patch(kConfigMap, ns, "a", kube::PatchType::kJsonPatch, guarded);
  ASSERT_TRUE(applied.isOk()) << applied.status();
  EXPECT_EQ((*applied)["data"]["k"], "v2");
  EXPECT_GT(rv(*applied), rv(*merged));

  // The same patch again: the test fails, nothing changes.
  EXPECT_EQ(c.patch(kConfigMap, ns, "a", kube::PatchType::kJsonPatch, guarded).status().code(),
            StatusCode::kConflict);
  Json missing = Json::array({{{"op", "remove"}, {"path", "/data/nothing"}}});
  EXPECT_EQ(c.patch(kConfigMap, ns, "a", kube::PatchType::kJsonPatch, missing).status().code(),
            StatusCode::kConflict);
  Json after = this->mustGet(kConfigMap, "a");
  EXPECT_EQ(rvText(after), rvText(*applied));
  EXPECT_EQ(after["data"]["k"], "v2");
}

}  // namespace
}  // namespace novacron::contract

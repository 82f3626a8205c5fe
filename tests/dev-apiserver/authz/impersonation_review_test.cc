// Impersonation (authz/impersonation.h) and access reviews (authz/access_review.h) over an
// in-memory RBAC policy.
#include <gtest/gtest.h>

#include "dev-apiserver/authz/access_review.h"
#include "dev-apiserver/authz/impersonation.h"
#include "tests/dev-apiserver/authz/fake_policy_source.h"

namespace novacron::devapi::authz {
namespace {

using nlohmann::json;
using testing::binding;
using testing::FakePolicySource;
using testing::role;

class ImpersonationTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto source = std::make_shared<FakePolicySource>();
    // "support" may impersonate the service accounts of namespace "apps" and the group "viewers".
    source->add(role(
        "ClusterRole", "impersonator", "",
        {{{"apiGroups", {""}}, {"resources", {"serviceaccounts"}}, {"verbs", {"impersonate"}}}}));
    source->add(role("ClusterRole", "impersonate-viewers", "",
                     {{{"apiGroups", {""}},
                       {"resources", {"groups"}},
                       {"resourceNames", {"viewers"}},
                       {"verbs", {"impersonate"}}}}));
    source->add(binding("RoleBinding", "support", "apps", "ClusterRole", "impersonator",
                        {{{"kind", "User"}, {"name", "support"}}}));
    source->add(binding("ClusterRoleBinding", "support-groups", "", "ClusterRole",
                        "impersonate-viewers", {{{"kind", "User"}, {"name", "support"}}}));
    authorizer_ = std::make_unique<PrivilegedGroupsThen>(std::make_shared<RbacAuthorizer>(source));
    support_.name = "support";
    support_.groups = {authn::kAllAuthenticated};
  }
  std::unique_ptr<Authorizer> authorizer_;
  authn::UserInfo support_;
};

TEST_F(ImpersonationTest, NoHeadersKeepsTheUser) {
  Impersonation i = impersonate(support_, {}, *authorizer_);
  EXPECT_TRUE(i.error.is_null());
  EXPECT_EQ(i.user.name, "support");
}

TEST_F(ImpersonationTest, AdminImpersonatesAServiceAccountWithItsGroups) {
  Impersonation i =
      impersonate(authn::adminUser("admin"),
                  {{"impersonate-user", "system:serviceaccount:novacron-system:nd"}}, *authorizer_);
  ASSERT_TRUE(i.error.is_null()) << i.error;
  EXPECT_EQ(i.user.name, "system:serviceaccount:novacron-system:nd");
  EXPECT_EQ(i.user.groups, (std::vector<std::string>{"system:serviceaccounts",
                                                     "system:serviceaccounts:novacron-system",
                                                     "system:authenticated"}));
}

TEST_F(ImpersonationTest, ExplicitGroupsReplaceTheServiceAccountGroups) {
  Impersonation i = impersonate(authn::adminUser("admin"),
                                {{"impersonate-user", "bob"},
                                 {"impersonate-group", "devs"},
                                 {"impersonate-group", "ops"},
                                 {"impersonate-extra-scopes", "a"}},
                                *authorizer_);
  ASSERT_TRUE(i.error.is_null()) << i.error;
  EXPECT_EQ(i.user.name, "bob");
  EXPECT_EQ(i.user.groups, (std::vector<std::string>{"devs", "ops", "system:authenticated"}));
  EXPECT_EQ(i.user.extra["scopes"], std::vector<std::string>{"a"});
  i = impersonate(authn::adminUser("admin"), {{"impersonate-user", "system:anonymous"}},
                  *authorizer_);
  EXPECT_EQ(i.user.groups, std::vector<std::string>{"system:unauthenticated"});
}

TEST_F(ImpersonationTest, EachValueNeedsTheImpersonateVerb) {
  // Allowed: a service account of "apps" (RoleBinding there) and the group "viewers".
  Impersonation i = impersonate(
      support_,
      {{"impersonate-user", "system:serviceaccount:apps:web"}, {"impersonate-group", "viewers"}},
      *authorizer_);
  EXPECT_TRUE(i.error.is_null()) << i.error;
  // Refused: a service account elsewhere, any user, another group.
  i = impersonate(support_, {{"impersonate-user", "system:serviceaccount:kube-system:root"}},
                  *authorizer_);
  EXPECT_EQ(i.error["code"], 403);
  EXPECT_EQ(i.error["message"],
            "serviceaccounts \"root\" is forbidden: User \"support\" cannot impersonate resource "
            "\"serviceaccounts\" in API group \"\" in the namespace \"kube-system\"");
  i = impersonate(support_, {{"impersonate-user", "admin"}}, *authorizer_);
  EXPECT_EQ(i.error["message"],
            "users \"admin\" is forbidden: User \"support\" cannot impersonate resource \"users\" "
            "in API group \"\" at the cluster scope");
  i = impersonate(support_,
                  {{"impersonate-user", "system:serviceaccount:apps:web"},
                   {"impersonate-group", "system:masters"}},
                  *authorizer_);
  EXPECT_EQ(i.error["message"],
            "groups \"system:masters\" is forbidden: User \"support\" cannot impersonate resource "
            "\"groups\" in API group \"\" at the cluster scope");
  EXPECT_EQ(i.user.name, "support");  // unchanged on refusal
}

TEST_F(ImpersonationTest, GroupsWithoutAUserAreAnError) {
  Impersonation i =
      impersonate(authn::adminUser("admin"), {{"impersonate-group", "devs"}}, *authorizer_);
  EXPECT_EQ(i.error["code"], 500);
}

class AccessReviewTest : public ImpersonationTest {};

TEST_F(AccessReviewTest, SelfSubjectAccessReviewIsAboutTheRequester) {
  json spec = {{"spec",
                {{"resourceAttributes",
                  {{"namespace", "apps"},
                   {"verb", "impersonate"},
                   {"resource", "serviceaccounts"},
                   {"name", "web"}}}}}};
  ReviewResult r = accessReview("SelfSubjectAccessReview", spec.dump(), support_, *authorizer_);
  ASSERT_EQ(r.code, 201) << r.body;
  EXPECT_EQ(r.body["kind"], "SelfSubjectAccessReview");
  EXPECT_EQ(r.body["apiVersion"], "authorization.k8s.io/v1");
  EXPECT_EQ(r.body["status"]["allowed"], true);
  EXPECT_EQ(r.body["status"]["reason"],
            "RBAC: allowed by RoleBinding \"support/apps\" of ClusterRole \"impersonator\" to User "
            "\"support\"");
  spec["spec"]["resourceAttributes"]["namespace"] = "";
  r = accessReview("SelfSubjectAccessReview", spec.dump(), support_, *authorizer_);
  EXPECT_EQ(r.body["status"]["allowed"], false);
  EXPECT_FALSE(r.body["status"].contains("reason"));
  r = accessReview("SelfSubjectAccessReview", spec.dump(), authn::adminUser("admin"), *authorizer_);
  EXPECT_EQ(r.body["status"]["allowed"], true);
}

TEST_F(AccessReviewTest, SubjectAccessReviewIsAboutTheNamedSubject) {
  json spec = {
      {"spec",
       {{"user", "support"}, {"nonResourceAttributes", {{"path", "/healthz"}, {"verb", "get"}}}}}};
  ReviewResult r =
      accessReview("SubjectAccessReview", spec.dump(), authn::adminUser("admin"), *authorizer_);
  ASSERT_EQ(r.code, 201);
  EXPECT_EQ(r.body["status"]["allowed"], false);  // the admin asking does not matter
  spec["spec"]["groups"] = {"system:masters"};
  r = accessReview("SubjectAccessReview", spec.dump(), support_, *authorizer_);
  EXPECT_EQ(r.body["status"]["allowed"], true);
}

TEST_F(AccessReviewTest, SelfSubjectRulesReviewListsTheRulesThatApply) {
  ReviewResult r = accessReview("SelfSubjectRulesReview", R"({"spec":{"namespace":"apps"}})",
                                support_, *authorizer_);
  ASSERT_EQ(r.code, 201) << r.body;
  EXPECT_EQ(r.body["kind"], "SelfSubjectRulesReview");
  EXPECT_EQ(r.body["status"]["incomplete"], false);
  json groups = {{"verbs", {"impersonate"}},
                 {"apiGroups", {""}},
                 {"resources", {"groups"}},
                 {"resourceNames", {"viewers"}}};
  json sas = {{"verbs", {"impersonate"}}, {"apiGroups", {""}}, {"resources", {"serviceaccounts"}}};
  EXPECT_EQ(r.body["status"]["resourceRules"], json::array({groups, sas})) << r.body;
  EXPECT_EQ(r.body["status"]["nonResourceRules"], json::array());
  // Elsewhere only the ClusterRoleBinding's rules apply.
  r = accessReview("SelfSubjectRulesReview", R"({"spec":{"namespace":"other"}})", support_,
                   *authorizer_);
  EXPECT_EQ(r.body["status"]["resourceRules"], json::array({groups}));
}

TEST_F(AccessReviewTest, InvalidSpecsAre422) {
  ReviewResult r =
      accessReview("SelfSubjectAccessReview", R"({"spec":{}})", support_, *authorizer_);
  EXPECT_EQ(r.code, 422);
  EXPECT_EQ(r.body["reason"], "Invalid");
  EXPECT_NE(r.body["message"].get<std::string>().find(
                "exactly one of nonResourceAttributes or resourceAttributes must be specified"),
            std::string::npos)
      << r.body;
  r = accessReview("SubjectAccessReview",
                   R"({"spec":{"resourceAttributes":{"verb":"get","resource":"pods"}}})", support_,
                   *authorizer_);
  EXPECT_EQ(r.code, 422);
  EXPECT_NE(
      r.body["message"].get<std::string>().find("at least one of user or group must be specified"),
      std::string::npos)
      << r.body;
}

}  // namespace
}  // namespace novacron::devapi::authz

#include "dev-apiserver/schema/field_error.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dev-apiserver/schema/go_format.h"

namespace novacron::devapi::schema {
namespace {

using json = nlohmann::json;

TEST(GoFormatTest, QuotesLikeStrconvQuote) {
  EXPECT_EQ(goQuote("Foo"), "\"Foo\"");
  EXPECT_EQ(goQuote("a\"b\\c\n\t"), R"("a\"b\\c\n\t")");
  EXPECT_EQ(goQuote(std::string("\x01", 1)), R"("\x01")");
  EXPECT_EQ(goQuote("héllo"), "\"héllo\"");
}

TEST(GoFormatTest, FloatsLikeFmtV) {
  EXPECT_EQ(goFloat(256), "256");
  EXPECT_EQ(goFloat(1.5), "1.5");
  EXPECT_EQ(goFloat(0.25), "0.25");
  EXPECT_EQ(goFloat(100000), "100000");
  EXPECT_EQ(goFloat(1e6), "1e+06");
  EXPECT_EQ(goFloat(1234567), "1.234567e+06");
  EXPECT_EQ(goFloat(0.0001), "0.0001");
  EXPECT_EQ(goFloat(0.00001), "1e-05");
  EXPECT_EQ(goFloat(-2.5), "-2.5");
}

TEST(GoFormatTest, ValuesLikeErrorBody) {
  EXPECT_EQ(goValue(json(1000)), "1000");
  EXPECT_EQ(goValue(json("x")), "\"x\"");
  EXPECT_EQ(goValue(json(true)), "true");
  EXPECT_EQ(goValue(json()), "\"null\"");
  EXPECT_EQ(goValue(json::parse(R"({"b":1,"a":"x"})")),
            R"(map[string]interface {}{"a":"x", "b":1})");
  EXPECT_EQ(goValue(json::parse(R"([1,"a",null])")),
            R"([]interface {}{1, "a", interface {}(nil)})");
}

TEST(FieldErrorTest, MessagesMatchKube) {
  EXPECT_EQ(requiredError("spec.image").toString(), "spec.image: Required value");
  EXPECT_EQ(requiredError("spec.image").type, "FieldValueRequired");
  EXPECT_EQ(notSupportedError("spec.runPolicy", "Foo", {"Always", "Halted"}).toString(),
            R"(spec.runPolicy: Unsupported value: "Foo": supported values: "Always", "Halted")");
  EXPECT_EQ(
      invalidError("spec.cpus", 1000, "spec.cpus in body should be less than or equal to 256")
          .toString(),
      "spec.cpus: Invalid value: 1000: spec.cpus in body should be less than or equal to 256");
  EXPECT_EQ(tooLongError("spec.name", 5).toString(),
            "spec.name: Too long: may not be more than 5 bytes");
  EXPECT_EQ(tooManyError("spec.disks", 4, 3).toString(),
            "spec.disks: Too many: 4: must have at most 3 items");
  EXPECT_EQ(forbiddenError("spec.x", "nope").message, "Forbidden: nope");
  EXPECT_EQ(duplicateError("spec.l[1]", "a").toString(), R"(spec.l[1]: Duplicate value: "a")");
}

TEST(FieldErrorTest, AggregateBracketsOnlyForSeveralDistinctErrors) {
  EXPECT_EQ(aggregateMessage({requiredError("a")}), "a: Required value");
  EXPECT_EQ(aggregateMessage({requiredError("a"), requiredError("a")}), "a: Required value");
  EXPECT_EQ(aggregateMessage({requiredError("a"), requiredError("b")}),
            "[a: Required value, b: Required value]");
}

TEST(FieldErrorTest, InvalidStatusBody) {
  json s = invalidStatus("VirtualMachine", "novacron.io", "x",
                         {invalidError("spec.resources.cpus", 1000,
                                       "spec.resources.cpus in body should be less than or equal "
                                       "to 256"),
                          requiredError("spec.image")});
  EXPECT_EQ(s["kind"], "Status");
  EXPECT_EQ(s["apiVersion"], "v1");
  EXPECT_EQ(s["status"], "Failure");
  EXPECT_EQ(s["code"], 422);
  EXPECT_EQ(s["reason"], "Invalid");
  EXPECT_EQ(s["message"],
            "VirtualMachine.novacron.io \"x\" is invalid: [spec.resources.cpus: Invalid value: "
            "1000: spec.resources.cpus in body should be less than or equal to 256, spec.image: "
            "Required value]");
  EXPECT_EQ(s["details"]["name"], "x");
  EXPECT_EQ(s["details"]["group"], "novacron.io");
  EXPECT_EQ(s["details"]["kind"], "VirtualMachine");
  ASSERT_EQ(s["details"]["causes"].size(), 2u);
  EXPECT_EQ(s["details"]["causes"][0],
            json({{"reason", "FieldValueInvalid"},
                  {"message",
                   "Invalid value: 1000: spec.resources.cpus in body should be less than or equal "
                   "to 256"},
                  {"field", "spec.resources.cpus"}}));
  EXPECT_EQ(s["details"]["causes"][1], json({{"reason", "FieldValueRequired"},
                                             {"message", "Required value"},
                                             {"field", "spec.image"}}));

  json single = invalidStatus("ConfigMap", "", "c", {requiredError("data")});
  EXPECT_EQ(single["message"], "ConfigMap \"c\" is invalid: data: Required value");
  EXPECT_FALSE(single["details"].contains("group"));
}

}  // namespace
}  // namespace novacron::devapi::schema

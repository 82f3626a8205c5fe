#include "lib/runtime/finalizers.h"

#include <string>

namespace novacron::runtime {
namespace {

using nlohmann::json;

const json* finalizersOf(const json& object) {
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) {
    return nullptr;
  }
  auto list = meta->find("finalizers");
  return list != meta->end() && list->is_array() ? &*list : nullptr;
}

std::string metaString(const json& object, const char* key) {
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) {
    return {};
  }
  auto it = meta->find(key);
  return it != meta->end() && it->is_string() ? it->get<std::string>() : std::string();
}

json testResourceVersion(const json& object) {
  return {{"op", "test"},
          {"path", "/metadata/resourceVersion"},
          {"value", metaString(object, "resourceVersion")}};
}

core::StatusOr<json> applyPatch(kube::Client& client, const kube::ResourceType& resource,
                                const json& object, const json& patch, std::string_view what) {
  const std::string ns = metaString(object, "namespace");
  const std::string name = metaString(object, "name");
  auto result = client.patch(resource, ns, name, kube::PatchType::kJsonPatch, patch);
  if (result.isOk()) {
    return result;
  }
  core::Status status = result.status();
  // A failed `test` op means the object changed under us: that is a conflict, whatever HTTP code
  // the server chose for it.
  if (status.code() == core::StatusCode::kInvalidArgument &&
      status.message().find("test") != std::string::npos) {
    status = core::conflictError(status.message());
  }
  return status.withContext(std::string(what) + " " + resource.qualifiedName() + " " + ns + "/" +
                            name);
}

}  // namespace

bool hasFinalizer(const json& object, std::string_view finalizer) {
  const json* list = finalizersOf(object);
  if (list == nullptr) {
    return false;
  }
  for (const auto& f : *list) {
    if (f.is_string() && f.get<std::string>() == finalizer) {
      return true;
    }
  }
  return false;
}

json addFinalizerPatch(const json& object, std::string_view finalizer) {
  if (hasFinalizer(object, finalizer)) {
    return nullptr;
  }
  json patch = json::array({testResourceVersion(object)});
  if (finalizersOf(object) == nullptr) {
    patch.push_back({{"op", "add"},
                     {"path", "/metadata/finalizers"},
                     {"value", json::array({std::string(finalizer)})}});
  } else {
    patch.push_back(
        {{"op", "add"}, {"path", "/metadata/finalizers/-"}, {"value", std::string(finalizer)}});
  }
  return patch;
}

json removeFinalizerPatch(const json& object, std::string_view finalizer) {
  const json* list = finalizersOf(object);
  if (list == nullptr) {
    return nullptr;
  }
  for (size_t i = 0; i < list->size(); ++i) {
    const json& f = (*list)[i];
    if (f.is_string() && f.get<std::string>() == finalizer) {
      const std::string path = "/metadata/finalizers/" + std::to_string(i);
      return json::array({testResourceVersion(object),
                          {{"op", "test"}, {"path", path}, {"value", std::string(finalizer)}},
                          {{"op", "remove"}, {"path", path}}});
    }
  }
  return nullptr;
}

core::StatusOr<json> addFinalizer(kube::Client& client, const kube::ResourceType& resource,
                                  const json& object, std::string_view finalizer) {
  json patch = addFinalizerPatch(object, finalizer);
  if (patch.is_null()) {
    return object;
  }
  return applyPatch(client, resource, object, patch, "adding finalizer to");
}

core::StatusOr<json> removeFinalizer(kube::Client& client, const kube::ResourceType& resource,
                                     const json& object, std::string_view finalizer) {
  json patch = removeFinalizerPatch(object, finalizer);
  if (patch.is_null()) {
    return object;
  }
  return applyPatch(client, resource, object, patch, "removing finalizer from");
}

}  // namespace novacron::runtime

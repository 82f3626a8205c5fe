// TypedClient<T>: the NovaCron kinds (VirtualMachine, VMMigration, Hypervisor) over the dynamic
// Client, encoded and decoded with lib/api's codecs. Lease, Event, ConfigMap and Secret stay
// dynamic JSON (use Client directly).
//
// Header-only; code that uses it links novacron::api as well as novacron::kube.
// Decoding failures of server answers are InvalidArgument naming the object. Namespaces come from
// the object's metadata.namespace (create/update/updateStatus) or the explicit argument.
// Thread-safety: as the underlying Client (safe from any thread).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/api/codec.h"
#include "lib/kube/client.h"
#include "lib/kube/resource.h"

namespace novacron::kube {

template <typename T>
struct ResourceTraits;

template <>
struct ResourceTraits<api::VirtualMachine> {
  static const ResourceType& resource() { return kVirtualMachine; }
};
template <>
struct ResourceTraits<api::VMMigration> {
  static const ResourceType& resource() { return kVMMigration; }
};
template <>
struct ResourceTraits<api::Hypervisor> {
  static const ResourceType& resource() { return kHypervisor; }
};

template <typename T>
struct TypedList {
  std::vector<T> items;
  std::string resource_version;  // of the list, to start a watch from
  std::string continue_token;    // non-empty when there are more pages
};

template <typename T>
class TypedClient {
public:
  explicit TypedClient(ClientPtr client) : client_(std::move(client)) {}

  static const ResourceType& resource() { return ResourceTraits<T>::resource(); }
  const ClientPtr& dynamic() const { return client_; }

  [[nodiscard]] core::StatusOr<T> get(std::string_view ns, std::string_view name) const {
    return decode(client_->get(resource(), ns, name));
  }

  [[nodiscard]] core::StatusOr<TypedList<T>> list(std::string_view ns,
                                                  const ListOptions& options = {}) const {
    NOVACRON_ASSIGN_OR_RETURN(Json list, client_->list(resource(), ns, options));
    TypedList<T> out;
    if (list.contains("metadata") && list["metadata"].is_object()) {
      out.resource_version = list["metadata"].value("resourceVersion", std::string());
      out.continue_token = list["metadata"].value("continue", std::string());
    }
    if (list.contains("items") && list["items"].is_array()) {
      for (auto& item : list["items"]) {
        // Items of a list may lack apiVersion/kind; the codec wants them.
        item["apiVersion"] = resource().apiVersion();
        item["kind"] = resource().kind;
        NOVACRON_ASSIGN_OR_RETURN(T decoded, decode(core::StatusOr<Json>(std::move(item))));
        out.items.push_back(std::move(decoded));
      }
    }
    return out;
  }

  [[nodiscard]] core::StatusOr<T> create(const T& object) const {
    return decode(client_->create(resource(), object.metadata.namespace_, api::toJson(object)));
  }

  // Conditional on object.metadata.resourceVersion (kConflict when stale).
  [[nodiscard]] core::StatusOr<T> update(const T& object) const {
    return decode(client_->update(resource(), object.metadata.namespace_, api::toJson(object)));
  }

  [[nodiscard]] core::StatusOr<T> updateStatus(const T& object) const {
    return decode(
        client_->updateStatus(resource(), object.metadata.namespace_, api::toJson(object)));
  }

  [[nodiscard]] core::StatusOr<T> patch(std::string_view ns, std::string_view name, PatchType type,
                                        const Json& patch,
                                        std::string_view subresource = {}) const {
    return decode(client_->patch(resource(), ns, name, type, patch, subresource));
  }

  [[nodiscard]] core::Status remove(std::string_view ns, std::string_view name,
                                    const DeleteOptions& options = {}) const {
    return client_->remove(resource(), ns, name, options);
  }

private:
  static core::StatusOr<T> decode(core::StatusOr<Json> json) {
    if (!json.isOk()) {
      return json.status();
    }
    auto decoded = api::fromJson<T>(*json);
    if (!decoded.isOk()) {
      std::string name;
      if (json->contains("metadata") && (*json)["metadata"].is_object()) {
        name = (*json)["metadata"].value("namespace", std::string());
        name += name.empty() ? "" : "/";
        name += (*json)["metadata"].value("name", std::string());
      }
      return decoded.status().withContext("decoding " + resource().kind + " " + name);
    }
    return decoded;
  }

  ClientPtr client_;
};

using VirtualMachineClient = TypedClient<api::VirtualMachine>;
using VMMigrationClient = TypedClient<api::VMMigration>;
using HypervisorClient = TypedClient<api::Hypervisor>;

}  // namespace novacron::kube

// ResourceType: which Kubernetes resource a request is about, and the URL paths that address it.
//
// Paths follow the API server's layout:
//   core group ("")  /api/v1[/namespaces/<ns>]/<plural>[/<name>[/<subresource>]]
//   named groups     /apis/<group>/<version>[/namespaces/<ns>]/<plural>[/<name>[/<subresource>]]
// Query values are percent-escaped (RFC 3986 unreserved characters pass through).
// Thread-safety: plain values and pure functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace novacron::kube {

struct ResourceType {
  std::string group;    // "" for the core group
  std::string version;  // "v1", "v1alpha1"
  std::string plural;   // "virtualmachines"
  std::string kind;     // "VirtualMachine"
  bool namespaced = true;

  // "v1" for the core group, otherwise "<group>/<version>", as written in an object's apiVersion.
  std::string apiVersion() const;
  // "virtualmachines.novacron.io" (or just the plural for the core group); used in metrics labels
  // and error messages.
  std::string qualifiedName() const;

  friend bool operator==(const ResourceType&, const ResourceType&) = default;
};

// The resources NovaCron talks to.
inline const ResourceType kVirtualMachine{"novacron.io", "v1alpha1", "virtualmachines",
                                          "VirtualMachine", true};
inline const ResourceType kVMMigration{"novacron.io", "v1alpha1", "vmmigrations", "VMMigration",
                                       true};
inline const ResourceType kHypervisor{"novacron.io", "v1alpha1", "hypervisors", "Hypervisor",
                                      false};
inline const ResourceType kLease{"coordination.k8s.io", "v1", "leases", "Lease", true};
inline const ResourceType kCoreEvent{"", "v1", "events", "Event", true};
inline const ResourceType kEventsV1Event{"events.k8s.io", "v1", "events", "Event", true};
inline const ResourceType kConfigMap{"", "v1", "configmaps", "ConfigMap", true};
inline const ResourceType kSecret{"", "v1", "secrets", "Secret", true};
inline const ResourceType kNamespace{"", "v1", "namespaces", "Namespace", false};
inline const ResourceType kCustomResourceDefinition{
    "apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false};

// Path of a collection (name empty) or of one object, optionally a subresource ("status").
// `ns` is ignored for cluster-scoped resources; for a namespaced resource an empty `ns` means
// "across all namespaces" (valid for list/watch only).
std::string resourcePath(const ResourceType& resource, std::string_view ns,
                         std::string_view name = {}, std::string_view subresource = {});

// Percent-escapes a query value or path segment (everything but A-Z a-z 0-9 - . _ ~).
std::string urlEscape(std::string_view text);

// Builds "?k1=v1&k2=v2" from the pairs (values escaped), or "" when there are none.
using QueryParams = std::vector<std::pair<std::string, std::string>>;
std::string buildQuery(const QueryParams& params);

}  // namespace novacron::kube

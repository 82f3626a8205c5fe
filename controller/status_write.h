// writeStatusIfChanged: the report step of the controller's reconcilers. Writes `status` through
// the status subresource only when it differs from what was read, so that reconciling twice in a
// row writes nothing the second time. The write carries the resourceVersion of `object` (the
// copy the decision was based on): a conflict means re-read and decide again.
// Thread-safety: stateless; the client must be thread-safe (kube::Client is).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "lib/api/codec.h"
#include "lib/core/statusor.h"
#include "lib/kube/client.h"
#include "lib/kube/resource.h"

namespace novacron::controller {

// `observed_generation`: stamped into the written status (not part of the comparison), for the
// resources whose status.observedGeneration the controller owns.
template <typename Object, typename Status>
core::Status writeStatusIfChanged(kube::Client& client, const kube::ResourceType& resource,
                                  const Object& object, const Status& status,
                                  std::optional<int64_t> observed_generation = std::nullopt) {
  if (status == object.status) {
    return core::okStatus();
  }
  Object out = object;
  out.status = status;
  if (observed_generation) {
    out.status.observedGeneration = *observed_generation;
  }
  auto written = client.updateStatus(resource, object.metadata.namespace_, api::toJson(out));
  if (!written.isOk()) {
    const std::string& ns = object.metadata.namespace_;
    return written.status().withContext("writing status of " + resource.kind + " " +
                                        (ns.empty() ? "" : ns + "/") + object.metadata.name);
  }
  return core::okStatus();
}

}  // namespace novacron::controller

// finalizer(): the one way a reconciler guards an external resource with a finalizer, shaped like
// kube-rs `finalizer()`. The reconciler supplies two actions:
//   apply(obj)    make the world match obj (create domains, disks, ...); runs only while `name` is
//                 on the object, so the finalizer is always added BEFORE anything is created;
//   cleanup(obj)  remove what apply created; runs once the object is being deleted. The
//                 finalizer is removed only after cleanup returned OK (an error is retried by the
//                 controller loop, the object stays Terminating meanwhile).
// Both the add and the remove are JSON patches conditional on the resourceVersion the decision
// was based on (finalizers.h), so a stale view yields kConflict (re-read, retry) instead of a
// lost update. An object being deleted that no longer carries the finalizer needs nothing.
// Thread-safety: stateless; safe from any thread for distinct objects.
#pragma once

#include <algorithm>
#include <functional>
#include <string_view>

#include "lib/api/codec.h"
#include "lib/core/statusor.h"
#include "lib/kube/client.h"
#include "lib/kube/resource.h"
#include "lib/runtime/finalizers.h"
#include "lib/runtime/reconcile_result.h"

namespace novacron::runtime {

template <typename T>
struct FinalizerActions {
  // Receives the object as stored after the finalizer was added (its resourceVersion is current).
  std::function<core::StatusOr<ReconcileResult>(T object)> apply;
  std::function<core::Status(const T& object)> cleanup;
};

template <typename T>
core::StatusOr<ReconcileResult> finalizer(kube::Client& client, const kube::ResourceType& resource,
                                          const T& object, std::string_view name,
                                          const FinalizerActions<T>& actions) {
  // Read from the typed object: the JSON (and its encoding) is needed only for a patch, not for
  // the steady-state reconcile of an object that carries the finalizer already.
  const auto& finalizers = object.metadata.finalizers;
  const bool present = std::find(finalizers.begin(), finalizers.end(), name) != finalizers.end();
  if (object.metadata.deletionTimestamp) {
    if (!present) {
      return ReconcileResult::done();  // nothing of ours left to clean up
    }
    NOVACRON_RETURN_IF_ERROR(actions.cleanup(object));
    auto removed = removeFinalizer(client, resource, api::toJson(object), name);
    if (!removed.isOk() && removed.status().code() != core::StatusCode::kNotFound) {
      return removed.status();
    }
    return ReconcileResult::done();
  }
  if (present) {
    return actions.apply(object);
  }
  NOVACRON_ASSIGN_OR_RETURN(nlohmann::json stored,
                            addFinalizer(client, resource, api::toJson(object), name));
  NOVACRON_ASSIGN_OR_RETURN(T updated, api::fromJson<T>(stored));
  return actions.apply(std::move(updated));
}

}  // namespace novacron::runtime

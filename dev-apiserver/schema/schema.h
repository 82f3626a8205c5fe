// Umbrella header of novacron::devapi_schema: everything the dev API server needs to admit custom
// resources (structural schema, prune, default, validate, 422 bodies) and to publish OpenAPI.
//
// Order kube-apiserver uses on create/update of a custom resource:
//   prune(s, obj); applyDefaults(s, obj); errors = validate(s, obj);
//   if (!errors.empty()) reply 422 with invalidStatus(kind, group, name, errors).
// Objects read back from etcd are pruned and defaulted again (not validated).
#pragma once

#include "dev-apiserver/schema/defaulting.h"
#include "dev-apiserver/schema/field_error.h"
#include "dev-apiserver/schema/openapi.h"
#include "dev-apiserver/schema/pruning.h"
#include "dev-apiserver/schema/structural_schema.h"
#include "dev-apiserver/schema/validation.h"

-- Argo CD health of a novacron.io Hypervisor (docs/gitops.md), from its Ready and Schedulable
-- conditions and observedGeneration (docs/api.md):
--   Degraded     Ready is not True (node-daemon or libvirt down, heartbeat lost)
--   Progressing  not observed yet, or in maintenance with VMs still to evacuate
--   Suspended    cordoned (spec.unschedulable) or in maintenance with nothing left on it
--   Healthy      Ready and Schedulable
-- Lua 5.1 (Argo CD's interpreter); tests: health_test.yaml, run by tests/manifests/argocd_health_test.sh.
local hs = {}

local function condition(ctype)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == ctype then
      return c
    end
  end
  return nil
end

local function text(c, fallback)
  if c ~= nil and c.message ~= nil and c.message ~= "" then
    return c.message
  end
  if c ~= nil and c.reason ~= nil then
    return c.reason
  end
  return fallback
end

local ready = condition("Ready")
if ready == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the node-daemon to report"
  return hs
end
if ready.status ~= "True" then
  hs.status = "Degraded"
  hs.message = text(ready, "not Ready")
  return hs
end

local generation = obj.metadata.generation or 0
if obj.status.observedGeneration == nil or obj.status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller to observe generation " .. tostring(generation)
  return hs
end

local schedulable = condition("Schedulable")
if schedulable == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the controller"
  return hs
end
if schedulable.status == "True" then
  hs.status = "Healthy"
  hs.message = text(schedulable, "Ready and schedulable")
  return hs
end
if schedulable.reason == "Maintenance" then
  local vms = 0
  if obj.status.allocated ~= nil and obj.status.allocated.vms ~= nil then
    vms = obj.status.allocated.vms
  end
  if vms > 0 then
    hs.status = "Progressing"
    hs.message = "Maintenance: evacuating " .. tostring(vms) .. " VM(s)"
  else
    hs.status = "Suspended"
    hs.message = "Maintenance: no VMs left"
  end
  return hs
end
if schedulable.reason == "Unschedulable" then
  hs.status = "Suspended"
  hs.message = text(schedulable, "Cordoned")
  return hs
end
hs.status = "Degraded"
hs.message = text(schedulable, "not schedulable")
return hs

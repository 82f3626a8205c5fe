-- Argo CD health of a novacron.io VirtualMachine (docs/gitops.md), from its conditions and
-- observedGeneration (docs/api.md), never from status.phase alone:
--   Progressing  the controller has not observed the current generation yet, or the VM is on its
--                way (scheduling, starting, stopping: Ready=False with a transient reason)
--   Degraded     Valid=False (bad spec), Scheduled=False (no hypervisor fits / pinned to a missing
--                one), HypervisorUnreachable=True, or Ready=False because the domain failed or an
--                image could not be downloaded
--   Suspended    paused, or stopped on purpose (runStrategy Halted, Manual or Once)
--   Healthy      Ready=True for the current generation
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

local generation = obj.metadata.generation or 0
if obj.status == nil or obj.status.observedGeneration == nil or obj.status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for NovaCron to observe generation " .. tostring(generation)
  return hs
end

local valid = condition("Valid")
if valid ~= nil and valid.status == "False" then
  hs.status = "Degraded"
  hs.message = text(valid, "invalid spec")
  return hs
end

local scheduled = condition("Scheduled")
if scheduled ~= nil and scheduled.status == "False" then
  hs.status = "Degraded"
  hs.message = text(scheduled, "not scheduled")
  return hs
end

local unreachable = condition("HypervisorUnreachable")
if unreachable ~= nil and unreachable.status == "True" then
  hs.status = "Degraded"
  hs.message = text(unreachable, "hypervisor unreachable")
  return hs
end

local ready = condition("Ready")
if ready == nil then
  hs.status = "Progressing"
  hs.message = text(scheduled, "Waiting for the node-daemon")
  return hs
end
-- A Ready condition written for an older spec says nothing about the current one.
if ready.observedGeneration ~= nil and ready.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the node-daemon to observe generation " .. tostring(generation)
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = text(ready, "Running")
  return hs
end

local reason = ready.reason or ""
if reason == "DomainFailed" or reason == "ImageDownloadFailed" then
  hs.status = "Degraded"
  hs.message = text(ready, reason)
  return hs
end
if reason == "Paused" then
  hs.status = "Suspended"
  hs.message = text(ready, "Paused")
  return hs
end
local strategy = obj.spec and obj.spec.runStrategy or "Always"
if (reason == "Halted" or reason == "DomainStopped") and
    (strategy == "Halted" or strategy == "Manual" or strategy == "Once") then
  hs.status = "Suspended"
  hs.message = text(ready, "Stopped")
  return hs
end
hs.status = "Progressing"
hs.message = text(ready, "Starting")
return hs

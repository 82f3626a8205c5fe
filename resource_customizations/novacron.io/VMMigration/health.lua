-- Argo CD health of a novacron.io VMMigration (docs/gitops.md), from its Progressing and
-- Succeeded conditions and observedGeneration (docs/api.md), never from status.phase alone:
--   Healthy      Succeeded=True: the VM runs on the target
--   Degraded     Succeeded=False for any reason but Cancelled (the VM stays on the source)
--   Suspended    Succeeded=False, reason Cancelled (spec.cancel or deletion)
--   Healthy      Progressing=False, reason Planned: a dry run's plan is ready (nothing moves)
--   Progressing  not observed yet, waiting for a limit, scheduling or moving data
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
  hs.message = "Waiting for the controller to observe generation " .. tostring(generation)
  return hs
end

local succeeded = condition("Succeeded")
if succeeded ~= nil and succeeded.status == "True" then
  hs.status = "Healthy"
  hs.message = text(succeeded, "Succeeded")
  return hs
end
if succeeded ~= nil and succeeded.status == "False" then
  if succeeded.reason == "Cancelled" then
    hs.status = "Suspended"
  else
    hs.status = "Degraded"
  end
  hs.message = text(succeeded, "Failed")
  return hs
end

local progressing = condition("Progressing")
if progressing ~= nil and progressing.status == "False" and progressing.reason == "Planned" then
  hs.status = "Healthy"
  hs.message = text(progressing, "Planned")
  return hs
end
hs.status = "Progressing"
if progressing ~= nil and progressing.status == "False" then
  -- Finished bookkeeping without a Succeeded verdict: should not happen; say what we know.
  hs.status = "Degraded"
end
local message = text(progressing, "Waiting for the controller")
local progress = obj.status.progress
if hs.status == "Progressing" and progress ~= nil and progress.percent ~= nil then
  message = message .. " (" .. tostring(progress.percent) .. "%)"
end
hs.message = message
return hs

-- Argo CD health check for modelops.dev/ModelDeployment
-- (argocd-cm key: resource.customizations.health.modelops.dev_ModelDeployment; docs/gitops.md).
--
-- Conditions are looked up BY TYPE, never by position or count: the operator may add conditions and
-- reorders nothing on purpose, and checks that counted conditions broke (argo-cd#25312).
-- Argo CD runs health checks without Lua's string library, so this script only compares and concatenates.
--
--   generation not observed yet          -> Progressing
--   Stalled=True                         -> Degraded  (invalid spec, retries exhausted, rejected, stuck)
--   Degraded=True                        -> Degraded  (the serving model degraded; a retrain may be under way)
--   Reconciling=True                     -> Progressing (search, training, validation, rollout, canary)
--   Ready=True                           -> Healthy
--   anything else                        -> Progressing (e.g. before the operator's first status write)

local hs = { status = "Progressing", message = "waiting for the modelops operator to report status" }

local function condition(status, kind)
  if status == nil or status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function is_true(c)
  return c ~= nil and c.status == "True"
end

local status = obj.status
if status == nil then
  return hs
end

local generation = obj.metadata ~= nil and obj.metadata.generation or nil
if generation ~= nil and status.observedGeneration ~= nil and status.observedGeneration ~= generation then
  hs.message = "the operator has not observed generation " .. generation .. " yet"
  return hs
end

local stalled = condition(status, "Stalled")
local degraded = condition(status, "Degraded")
local reconciling = condition(status, "Reconciling")
local ready = condition(status, "Ready")

if is_true(stalled) then
  hs.status = "Degraded"
  hs.message = stalled.message or status.message or "stalled"
  return hs
end
if is_true(degraded) then
  hs.status = "Degraded"
  hs.message = degraded.message or "degraded"
  if is_true(reconciling) and reconciling.message ~= nil then
    hs.message = hs.message .. "; " .. reconciling.message
  end
  return hs
end
if is_true(reconciling) then
  hs.message = reconciling.message or status.message or "reconciling"
  return hs
end
if is_true(ready) then
  hs.status = "Healthy"
  hs.message = ready.message or status.message or "ready"
  return hs
end
-- A status written before Stalled existed: fall back on the phase, still never on positions.
if status.phase == "Failed" or status.phase == "Rejected" then
  hs.status = "Degraded"
end
if status.message ~= nil then
  hs.message = status.message
elseif ready ~= nil and ready.message ~= nil then
  hs.message = ready.message
end
return hs

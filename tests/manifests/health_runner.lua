-- Runs one Argo CD health script against fixtures, for tests/manifests/argocd_health_test.sh:
--
--   lua5.1 health_runner.lua HEALTH.lua FIXTURE.lua...
--
-- Each FIXTURE.lua returns an object as a Lua table (tests/manifests/yaml_to_lua.py writes them).
-- The script runs once per fixture in an environment of its own with that object as the global
-- `obj`, as Argo CD runs each check in a fresh Lua state, so no case sees another's globals.
-- Prints one line per fixture, in order: "status TAB message", or "lua error: ..." when the
-- script fails; newlines in either are printed as \n so that lines stay one per fixture.
local script = arg[1]
local function oneline(s)
  return (tostring(s):gsub("\n", "\\n"))
end
for i = 2, #arg do
  local ok, result = pcall(function()
    local obj = assert(dofile(arg[i]))
    local check = assert(loadfile(script))
    setfenv(check, setmetatable({ obj = obj }, { __index = _G }))
    local hs = check()
    return oneline(hs.status) .. "\t" .. oneline(hs.message)
  end)
  if not ok then
    result = "lua error: " .. oneline(result)
  end
  io.write(result, "\n")
end

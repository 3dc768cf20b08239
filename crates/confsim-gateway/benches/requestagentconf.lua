-- wrk script: requestagentconf / releaseagentconf round trips through the gateway.
--
-- Each wrk thread takes its own slice of the signed-in agents (agents.lua, written by wrk.sh:
-- a list of {id, guid}) and walks it: an agent applies, and the next time it comes round it
-- releases, so the platform keeps doing real work (with zero latency an application is active
-- by the time its answer returns). The retcodes are the gateway's metrics (wrk.sh prints them):
-- a Lua `response` callback would cost wrk more CPU than the server spends on the request.

local agents = dofile(os.getenv("AGENTS_LUA"))
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  local n = tonumber(os.getenv("THREADS") or "1")
  local per = math.floor(#agents / n)
  first = (tid - 1) * per + 1
  last = first + per - 1
  cursor = first
  applied = {}
  body = '{"memberNum":3,"time":60,"promptTime":5}'
end

function request()
  local a = agents[cursor]
  cursor = cursor + 1
  if cursor > last then cursor = first end
  local headers = { ["Guid"] = a[2], ["Content-Type"] = "application/json; charset=UTF-8" }
  if applied[a[1]] then
    applied[a[1]] = false
    return wrk.format("POST", "/agentgateway/resource/agentconf/" .. a[1] .. "/releaseagentconf", headers, "")
  end
  applied[a[1]] = true
  return wrk.format("POST", "/agentgateway/resource/agentconf/" .. a[1] .. "/requestagentconf", headers, body)
end

function done(summary, latency, requests)
  io.write(string.format("p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end

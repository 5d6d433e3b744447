-- The mixed soak: what a busy account's integrations send at once. Of every 20 requests:
-- 10 GET a company, 3 read a phase page, 2 the board, 3 PATCH a company, 2 move one.
-- Environment: BENCH_TOKEN, BENCH_FIRST_ID, BENCH_LAST_ID, BENCH_PHASES (comma-separated
-- ids), BENCH_PIPELINE.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local first = tonumber(os.getenv("BENCH_FIRST_ID"))
local count = tonumber(os.getenv("BENCH_LAST_ID")) - first + 1
local pipeline = os.getenv("BENCH_PIPELINE")
local auth = "Bearer " .. os.getenv("BENCH_TOKEN")
local phases = {}
for p in string.gmatch(os.getenv("BENCH_PHASES"), "%d+") do phases[#phases + 1] = p end
local read = { ["Authorization"] = auth }
local write = { ["Authorization"] = auth, ["Content-Type"] = "application/json" }

local threads = 0
function setup(thread)
   thread:set("tid", threads)
   threads = threads + 1
end

function init(args)
   math.randomseed(os.time() + tid * 7919)
end

local n = 0
function request()
   n = n + 1
   local slot = n % 20
   local id = first + math.random(0, count - 1)
   if slot < 10 then
      return wrk.format("GET", "/v1/companies/" .. id, read)
   elseif slot < 13 then
      local phase = phases[math.random(1, #phases)]
      return wrk.format("GET", "/v1/companies?phase_id=" .. phase .. "&limit=50", read)
   elseif slot < 15 then
      return wrk.format("GET", "/v1/pipelines/" .. pipeline .. "/board", read)
   elseif slot < 18 then
      return wrk.format("PATCH", "/v1/companies/" .. id, write,
         '{"phone":"+44 20 7946 ' .. string.format("%04d", math.random(0, 9999)) .. '"}')
   else
      local phase = phases[math.random(1, #phases)]
      return wrk.format("POST", "/v1/companies/" .. id .. "/transitions", write,
         '{"to_phase_id":' .. phase .. '}')
   end
end

-- GET /v1/companies/{id} of a random seeded company.
-- Environment: BENCH_TOKEN, BENCH_FIRST_ID, BENCH_LAST_ID.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local first = tonumber(os.getenv("BENCH_FIRST_ID"))
local last = tonumber(os.getenv("BENCH_LAST_ID"))
local auth = "Bearer " .. os.getenv("BENCH_TOKEN")

local threads = 0
function setup(thread)
   thread:set("tid", threads)
   threads = threads + 1
end

function init(args)
   math.randomseed(os.time() * 1000 + tid)
end

function request()
   local id = math.random(first, last)
   return wrk.format("GET", "/v1/companies/" .. id, { ["Authorization"] = auth })
end

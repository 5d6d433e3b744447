-- POST /v1/companies/{id}/transitions: every request moves another company to the phase after
-- the one it is in, so that each is a real move (a 201 with its history row and event).
-- Company first + k was seeded in phase k % #phases. Each wrk thread walks its own companies.
-- Environment: BENCH_TOKEN, BENCH_FIRST_ID, BENCH_LAST_ID, BENCH_PHASES (comma-separated ids).
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local first = tonumber(os.getenv("BENCH_FIRST_ID"))
local count = tonumber(os.getenv("BENCH_LAST_ID")) - first + 1
local auth = "Bearer " .. os.getenv("BENCH_TOKEN")
local phases = {}
for p in string.gmatch(os.getenv("BENCH_PHASES"), "%d+") do phases[#phases + 1] = p end

local threads = 0
function setup(thread)
   thread:set("tid", threads)
   threads = threads + 1
end

local n = 0
function request()
   -- tid and nthreads are set by setup; requests of thread t are t, t + T, t + 2T, ...
   local step = tid + n * nthreads
   n = n + 1
   local k = step % count
   local round = math.floor(step / count)
   local target = phases[((k + 1 + round) % #phases) + 1]
   return wrk.format("POST", "/v1/companies/" .. (first + k) .. "/transitions",
      { ["Authorization"] = auth, ["Content-Type"] = "application/json" },
      '{"to_phase_id":' .. target .. '}')
end

function init(args)
   nthreads = tonumber(os.getenv("BENCH_THREADS"))
end

-- GET /v1/search for a random seeded company or contact, by what a user would type:
-- BENCH_SEARCH = name (the company's name, `Seed company <n>`), email (the contact's
-- `person<n>@seed<n>.example`) or phone (the company's `+44 20 7<n>` in national form,
-- `020 7...`, which only the phone digits find).
-- Environment: BENCH_TOKEN, BENCH_FIRST_ID, BENCH_LAST_ID, BENCH_SEARCH.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
local first = tonumber(os.getenv("BENCH_FIRST_ID"))
local last = tonumber(os.getenv("BENCH_LAST_ID"))
local kind = os.getenv("BENCH_SEARCH")
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
   -- The seed numbers its records 1.. from the first company's id.
   local n = math.random(first, last) - first + 1
   local q
   if kind == "email" then
      q = "person" .. n .. "%40seed" .. n .. ".example"
   elseif kind == "phone" then
      q = "020%20" .. (70000000 + n)
   else
      q = "Seed%20company%20" .. n
   end
   return wrk.format("GET", "/v1/search?q=" .. q .. "&limit=20", { ["Authorization"] = auth })
end

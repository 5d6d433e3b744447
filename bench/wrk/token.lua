-- POST /oauth/token with the client credentials grant.
-- Environment: BENCH_CLIENT_ID, BENCH_CLIENT_SECRET (sent as HTTP Basic, already encoded in
-- BENCH_BASIC).
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
wrk.method = "POST"
wrk.path = "/oauth/token"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_BASIC")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=client_credentials&scope=companies%3Aread"

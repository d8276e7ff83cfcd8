-- wrk script: POST one vector search, by default the gateway API's model search
--   POST /api/v1/models/$MODEL/vectors/search  {"query_vector":[DIM numbers],"limit":10}
--
--   MODEL=mixtral DIM=4096 wrk -t2 -c100 -d30s --latency -s loadtest/post.lua http://127.0.0.1:8000
--
-- Environment: MODEL (default mixtral), DIM (the model's dimension, default 4096), LIMIT
-- (default 10); SEARCH_PATH and SEARCH_BODY replace the path and the whole body (e.g. Qdrant's
-- /collections/NAME/points/query with {"query":[...],"limit":10}). Every request is the same
-- search, so after the first one the gateway answers from its cache: this measures the cached
-- path, as the deployment's performance plan does. loadtest/validate runs it and reads the
-- RESULT line done() prints after wrk's own summary.
local model = os.getenv("MODEL") or "mixtral"
local dim = tonumber(os.getenv("DIM") or "4096")
local limit = tonumber(os.getenv("LIMIT") or "10")

local function query_vector(n)
   local v = {}
   for i = 1, n do
      -- spread over (0, 1), the same on every run
      v[i] = string.format("%.4f", ((i * 7919) % 10007) / 10007)
   end
   return "[" .. table.concat(v, ",") .. "]"
end

wrk.method = "POST"
wrk.path = os.getenv("SEARCH_PATH") or ("/api/v1/models/" .. model .. "/vectors/search")
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("SEARCH_BODY") or
   ('{"query_vector":' .. query_vector(dim) .. ',"limit":' .. limit .. '}')

function done(summary, latency, requests)
   local e = summary.errors
   local seconds = summary.duration / 1e6
   io.write(string.format(
      "RESULT requests=%d duration_s=%.3f rps=%.1f avg_ms=%.3f p50_ms=%.3f p99_ms=%.3f " ..
      "max_ms=%.3f socket_errors=%d non2xx=%d\n",
      summary.requests, seconds, summary.requests / seconds, latency.mean / 1000,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
      e.connect + e.read + e.write + e.timeout, e.status))
end

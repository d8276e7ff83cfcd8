-- wrk script for every wrk scenario of loadtest/run, chosen by the environment:
--   LT_MODE     fixed | zipf | miss | mix | get        (default fixed)
--   LT_PATH     request path (default /collections/loadtest/points/query; GET path for "get")
--   LT_DIM      vector size of the collection (default 8)
--   LT_BODY_FILE  the fixed search body (default: the 8-dimension one below); loadtest/run writes
--               it for --dim
--   LT_VECTOR_KEY  body member holding the search vector: "query" (Qdrant's points/query, the
--               default) or "query_vector" (the gateway's /api/v1/models/NAME/vectors/search)
--   LT_BODIES   distinct bodies for zipf/mix (default 1000)
--   LT_ZIPF_S   Zipf exponent (default 1.1)
--   LT_SALT     makes this run's bodies unique to it (zipf, mix, miss), so every run starts cold
--   LT_WRITE_PCT  percentage of writes in "mix" (default 10): upserts with ?wait=true
--   LT_POINTS   ids the writes overwrite are 0..LT_POINTS-1 (default 1000)
--   LT_CLOSE    1: send "Connection: close" (a new connection per request)
--   LT_XCACHE   1: count X-Cache response headers (adds wrk's per-response Lua callback)
--   LT_RATE     pace this wrk thread to about N requests/s (wrk's delay() with a schedule kept
--               with clock_gettime through LuaJIT's ffi); 0 or unset: as fast as answers come
-- done() prints one line, RESULT key=value ..., that loadtest/run parses: requests/s, latency
-- percentiles p50/p90/p99/p99.9 in ms (wrk's --latency shows only p50/75/90/99), errors.
local mode = os.getenv("LT_MODE") or "fixed"
local path = os.getenv("LT_PATH") or "/collections/loadtest/points/query"
local dim = tonumber(os.getenv("LT_DIM") or "8")
local nbodies = tonumber(os.getenv("LT_BODIES") or "1000")
local zipf_s = tonumber(os.getenv("LT_ZIPF_S") or "1.1")
local salt = tonumber(os.getenv("LT_SALT") or "0")
local write_pct = tonumber(os.getenv("LT_WRITE_PCT") or "10")
local npoints = tonumber(os.getenv("LT_POINTS") or "1000")
local count_xcache = os.getenv("LT_XCACHE") == "1"
local vector_key = os.getenv("LT_VECTOR_KEY") or "query"

local FIXED = '{"query":[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8],"limit":10,"with_payload":true}'
local body_file = os.getenv("LT_BODY_FILE")
if body_file and body_file ~= "" then
   local f = assert(io.open(body_file, "rb"))
   FIXED = f:read("*a")
   f:close()
end

wrk.headers["Content-Type"] = "application/json"
if os.getenv("LT_CLOSE") == "1" then
   wrk.headers["Connection"] = "close"
end
if mode == "get" then
   wrk.method = "GET"
   wrk.path = os.getenv("LT_PATH") or "/"
   wrk.headers["Content-Type"] = nil
   wrk.body = nil
else
   wrk.method = "POST"
   wrk.path = path
   wrk.body = FIXED
end

-- Thread bookkeeping (setup runs in the main Lua state, once per thread).
local threads = {}
local next_id = 0
function setup(thread)
   thread:set("tid", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

-- A query vector for body number k of this run: deterministic in (salt, k), distinct for every k.
local function vector(k)
   local v = {}
   for i = 1, dim do
      -- a small prime-stride walk keeps components in (0, 1) and bodies distinct
      v[i] = string.format("%.6f", ((k * 7919 + i * 104729 + salt * 31) % 999983) / 999983 + 0.000001)
   end
   -- components 1-3 carry k and the salt themselves, so bodies differ in value, not only in
   -- spelling (the gateway compares canonical JSON: 0.10 and 0.1 are one key)
   v[1] = string.format("0.%06d", k % 1000000)
   v[2] = string.format("0.%08d", salt % 100000000)
   v[3] = string.format("0.%06d", math.floor(k / 1000000) % 1000000)
   return "[" .. table.concat(v, ",") .. "]"
end

local function search_body(k)
   return '{"' .. vector_key .. '":' .. vector(k) .. ',"limit":10,"with_payload":true}'
end

-- The Zipf table: 65536 slots, body rank r (1..n) filling a share of slots proportional to
-- 1/r^s, so one math.random call picks a body with the skewed distribution.
local SLOTS = 65536
local zipf_table, reqs, writes
local counter = 0
-- globals, not locals: done() reads them from each thread with thread:get()
hits, misses, others = 0, 0, 0

function init(args)
   math.randomseed(12345 + (tid or 0) * 7777 + salt)
   if mode == "zipf" or mode == "mix" then
      local weights, total = {}, 0
      for r = 1, nbodies do
         weights[r] = 1 / (r ^ zipf_s)
         total = total + weights[r]
      end
      zipf_table = {}
      local slot, acc = 1, 0
      for r = 1, nbodies do
         acc = acc + weights[r] / total
         local last = math.floor(acc * SLOTS + 0.5)
         if r == nbodies then last = SLOTS end
         while slot <= last do
            zipf_table[slot] = r
            slot = slot + 1
         end
      end
      reqs = {}
      for r = 1, nbodies do
         reqs[r] = wrk.format("POST", path, nil, search_body(r))
      end
   end
   if mode == "mix" then
      writes = {}
      local wpath = string.gsub(path, "/points/.*$", "/points?wait=true")
      for w = 1, 256 do
         local id = (w * 37) % npoints
         local body = '{"points":[{"id":' .. id .. ',"vector":' .. vector(w + 5000000) ..
            ',"payload":{"n":' .. id .. '}}]}'
         writes[w] = wrk.format("PUT", wpath, nil, body)
      end
   end
end

if mode == "zipf" then
   function request()
      return reqs[zipf_table[math.random(SLOTS)]]
   end
elseif mode == "mix" then
   function request()
      if math.random(100) <= write_pct then
         return writes[math.random(256)]
      end
      return reqs[zipf_table[math.random(SLOTS)]]
   end
elseif mode == "miss" then
   -- every request a body never sent before (thread id and a counter in the vector)
   function request()
      counter = counter + 1
      return wrk.format(nil, nil, nil, search_body((tid or 0) * 100000000 + counter))
   end
end

if count_xcache then
   function response(status, headers, body)
      local x = headers["X-Cache"] or headers["x-cache"]
      if x == "HIT" then
         hits = hits + 1
      elseif x == nil then
         others = others + 1
      else
         misses = misses + 1
      end
   end
end

-- Pacing: every request takes the next slot of a schedule 1/LT_RATE s apart and waits for it.
-- Latency is measured by wrk from the actual send, so waiting for a slot is not counted. When
-- the target falls behind (all connections busy), the schedule restarts from now instead of
-- sending a burst to catch up.
local rate = tonumber(os.getenv("LT_RATE") or "0")
if rate > 0 then
   local ffi = require("ffi")
   ffi.cdef [[
      typedef struct { long tv_sec; long tv_nsec; } lt_timespec;
      int clock_gettime(int clk, lt_timespec *ts);
   ]]
   local ts = ffi.new("lt_timespec")
   local interval = 1000 / rate
   local next_t
   function delay()
      ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
      local t = tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
      if not next_t or next_t < t - 50 then
         next_t = t
      end
      next_t = next_t + interval
      local d = next_t - t
      return d > 0 and d or 0
   end
end

function done(summary, latency, requests)
   local h, m, o = 0, 0, 0
   for _, t in ipairs(threads) do
      h = h + (t:get("hits") or 0)
      m = m + (t:get("misses") or 0)
      o = o + (t:get("others") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_s=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f " ..
      "p999_ms=%.3f max_ms=%.3f socket_errors=%d non2xx=%d xcache_hit=%d xcache_other=%d " ..
      "xcache_none=%d\n",
      summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
      latency:percentile(50) / 1000, latency:percentile(90) / 1000,
      latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, latency.max / 1000,
      e.connect + e.read + e.write + e.timeout, e.status, h, m, o))
end

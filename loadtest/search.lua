-- wrk script: POST a fixed query to the loadtest collection (override with env SEARCH_BODY).
wrk.method = "POST"
wrk.path = os.getenv("SEARCH_PATH") or "/collections/loadtest/points/query"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("SEARCH_BODY") or '{"query":[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8],"limit":10,"with_payload":true}'

function done(summary, latency, requests)
   io.write(string.format("RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%d non2xx=%d\n",
      summary.requests / (summary.duration / 1e6),
      latency:percentile(50) / 1000, latency:percentile(99) / 1000,
      summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
      summary.errors.status))
end

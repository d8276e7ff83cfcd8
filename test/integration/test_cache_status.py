# The cache says why it is not caching (issue 13): when Qdrant's alias list cannot be read the
# gateway logs it once at warn (again only when the reason changes), /api/v1/health and
# /metrics show the state and the reason, and it keeps retrying (with backoff) until the list
# loads, when caching resumes by itself. The upstream is a real HTTP/1.1 server written here,
# whose GET /aliases answer the test switches (404, 503, a body that is not the list, a stall,
# 403, the real list).
import http.server
import json
import re
import threading
import time
import unittest

import harness

ENVELOPE = b'{"result":{"points":[]},"status":"ok","time":0.0001}'
ALIASES = b'{"result":{"aliases":[]},"status":"ok","time":0.0}'


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the gateway gave up on a stalled fetch

    def do_GET(self):
        if self.path.startswith("/aliases"):
            with self.server.lock:
                self.server.alias_calls += 1
                mode = self.server.mode
            if mode == "ok":
                return self.answer(200, ALIASES)
            if mode == "junk":
                return self.answer(200, b'{"result":"nope","status":"ok","time":0}')
            if mode == "stall":
                time.sleep(6)  # past the gateway's 5 s fetch deadline
                return self.answer(200, ALIASES)
            status = int(mode)
            return self.answer(status, b'{"status":{"error":"Not found"},"time":0}')
        return self.answer(200, b'{"title":"qdrant - vector search engine","version":"1.19.0"}')

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        self.answer(200, ENVELOPE)


class Upstream(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, mode):
        super().__init__((harness.LOOPBACK, 0), Handler)
        self.lock = threading.Lock()
        self.mode = mode
        self.alias_calls = 0
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def set(self, mode):
        with self.lock:
            self.mode = mode
            self.alias_calls = 0

    def calls(self):
        with self.lock:
            return self.alias_calls


def poll(cond, what, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class CacheStatusTest(unittest.TestCase):
    def start(self, *sets):
        self.up = Upstream("404")
        # One worker, so one fetcher and one log line per change.
        self.gw = harness.start_gateway(self.up.port, "cache.enabled=true", *sets, workers=1)
        self.c = harness.CacheClient(self.gw.port)

    def tearDown(self):
        if not hasattr(self, "gw"):
            return
        self.c.close()
        self.gw.cleanup()
        self.up.shutdown()
        self.up.server_close()

    def health(self):
        s, _, doc, _ = self.c.req("GET", "/api/v1/health")
        self.assertIn(s, (200, 503))
        return doc["result"]["cache"]

    def metric_state(self):
        s, _, b = harness.curl(self.gw.port, "GET", "/metrics")
        self.assertEqual(s, 200)
        text = b.decode()
        m = re.findall(r'^qdrant_gateway_cache_state\{state="(\w+)",reason="(\w*)"\} 1$', text,
                       re.M)
        self.assertEqual(len(m), 1, text)
        f = re.search(r"^qdrant_gateway_cache_alias_fetch_failures_total (\d+)$", text, re.M)
        self.assertIsNotNone(f)
        return m[0], int(f.group(1))

    def search(self):
        return self.c.req("POST", "/collections/c/points/query", {"query": [1, 0], "limit": 3})

    def warn_lines(self, code):
        return [l for l in self.gw.log().splitlines()
                if "warn" in l.lower() and "(" + code + ")" in l]

    def test_bypass_reason_and_recovery(self):
        # A short refresh (it also caps the retry delay) so the degraded states show soon.
        self.start("cache.alias_refresh=1s")
        # 404: never loaded, so every read bypasses; the reason is visible everywhere.
        poll(lambda: self.up.calls() >= 3, "three alias fetches")
        self.assertEqual(self.search()[1], "BYPASS")
        h = self.health()
        self.assertEqual(h["enabled"], True)
        self.assertEqual(h["state"], "bypass")
        self.assertEqual(h["caching"], False)
        self.assertEqual(h["reason"], "aliases_http_404")
        self.assertIn("404", h["detail"])
        (state, reason), failures = self.metric_state()
        self.assertEqual((state, reason), ("bypass", "aliases_http_404"))
        self.assertGreaterEqual(failures, 3)
        # Logged once although fetched again and again.
        self.assertEqual(len(self.warn_lines("aliases_http_404")), 1, self.gw.log())

        # Another reason is a new line, once.
        self.up.set("503")
        poll(lambda: self.health()["reason"] == "aliases_http_503", "the 503 reason")
        poll(lambda: self.up.calls() >= 2, "two 503 fetches")
        self.assertEqual(len(self.warn_lines("aliases_http_503")), 1, self.gw.log())
        self.up.set("junk")
        poll(lambda: self.health()["reason"] == "aliases_invalid", "the invalid-body reason")

        # The list loads: caching resumes without a restart, said once at info.
        self.up.set("ok")
        poll(lambda: self.health()["state"] == "active", "caching to resume")
        self.assertEqual(self.metric_state()[0], ("active", ""))
        self.assertEqual(self.health()["reason"], None)
        self.assertEqual(self.search()[1], "MISS")
        self.assertEqual(self.search()[1], "HIT")
        self.assertIn("caching resumed", self.gw.log())

        # A refresh that fails later keeps caching with the last list, and says so.
        self.up.set("stall")
        poll(lambda: self.health()["state"] == "degraded", "the degraded state", timeout=40)
        h = self.health()
        self.assertEqual(h["reason"], "aliases_stale")
        self.assertIn("GET /aliases failed", h["detail"])
        self.assertEqual(h["caching"], True)
        self.assertIn(self.search()[1], ("HIT", "MISS"))
        self.assertEqual(len(self.warn_lines("aliases_stale")), 1, self.gw.log())

        # Qdrant wants a key: caching without alias tracking, degraded with its own reason.
        self.up.set("403")
        poll(lambda: self.health()["reason"] == "aliases_forbidden", "the forbidden reason",
             timeout=60)
        self.assertEqual(self.health()["state"], "degraded")
        self.assertIn("upstream.api_key", self.health()["detail"])

    def test_backoff_spaces_retries(self):
        # The retries double from 1 s towards the cap: in the time a fixed 1 s retry would
        # have fetched 6 times, the backoff fetches at most 4 (1, 2, 4 s: 0.5-1, 1-2, 2-4 s
        # with jitter). Counted, not timed: the bound holds however slow the machine is,
        # since a slower machine only fetches less often.
        self.start()  # the default 30 s refresh: retries may back off to 30 s
        start = self.up.calls()
        time.sleep(6)
        self.assertLessEqual(self.up.calls() - start, 5)


if __name__ == "__main__":
    harness.main()

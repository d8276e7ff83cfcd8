# GET /metrics end to end: the gateway's counters move by exactly the requests sent, the whole
# exposition passes promtool with fake_qdrant and Redis up and with each of them down, several
# Qdrant nodes are re-exported with an upstream label, and /api/v1/health shows the cache.
import json
import re
import shutil
import subprocess
import time
import unittest

import harness

PROMTOOL = shutil.which("promtool")


def scrape(port):
    s, h, b = harness.curl(port, "GET", "/metrics")
    assert s == 200, b
    assert h["content-type"].startswith("text/plain; version=0.0.4"), h
    return b.decode()


def value(text, name, labels=None):
    """The sample's value; labels is a dict that must match exactly (None: no labels)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)', line)
        if not m or m.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        if got == (labels or {}):
            return float(m.group(4))
    return None


def promtool_check(test, text):
    """promtool must parse everything; lint findings are allowed only on Qdrant's own names,
    which are re-exported unchanged on purpose."""
    if not PROMTOOL:
        test.skipTest("promtool not installed (Debian package prometheus)")
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = r.stdout.decode()
    test.assertIn(r.returncode, (0, 3), out)  # 3: lint findings only
    for line in out.splitlines():
        name = line.split(" ", 1)[0]
        test.assertFalse(name.startswith(("qdrant_gateway_", "process_", "redis_", "qdrant_up")),
                         "lint finding on a metric the gateway names: " + line)


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.redis = harness.start_redis()
        cls.up = harness.start_fake_qdrant()
        cls.up2 = harness.start_fake_qdrant()
        cls.gw = harness.start_gateway(
            cls.up.port, "cache.redis.url=redis://127.0.0.1:%d" % cls.redis.port,
            "metrics.qdrant_urls=http://127.0.0.1:%d,http://127.0.0.1:%d" % (cls.up.port, cls.up2.port),
            "metrics.upstream_ttl=0", "metrics.scrape_timeout=500ms")
        c = harness.HttpClient(cls.gw.port)
        s, _, b = c.request("PUT", "/collections/m", {"vectors": {"size": 2, "distance": "Dot"}})
        assert s == 200, b
        c.close()

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.up.cleanup()
        cls.up2.cleanup()
        cls.redis.cleanup()

    def test_counters_move_by_exactly_the_requests_sent(self):
        lbl = {"route_class": "read", "method": "POST", "code": "200"}
        nf = {"route_class": "read", "method": "POST", "code": "404"}
        before = scrape(self.gw.port)
        c = harness.HttpClient(self.gw.port)
        for i in range(7):
            s, _, _ = c.request("POST", "/collections/m/points/query", {"query": [1, i], "limit": 1})
            self.assertEqual(s, 200)
        for _ in range(3):
            s, _, _ = c.request("POST", "/collections/nope/points/query", {"query": [1, 1]})
            self.assertEqual(s, 404)
        c.close()
        after = scrape(self.gw.port)
        name = "qdrant_gateway_http_requests_total"
        self.assertEqual((value(after, name, lbl) or 0) - (value(before, name, lbl) or 0), 7)
        self.assertEqual((value(after, name, nf) or 0) - (value(before, name, nf) or 0), 3)
        hc = "qdrant_gateway_http_request_duration_seconds_count"
        self.assertEqual(value(after, hc, {"route_class": "read"}) -
                         value(before, hc, {"route_class": "read"}), 10)
        lk = "qdrant_gateway_cache_lookups_total"
        misses = value(after, lk, {"tier": "l1", "result": "miss"}) - \
            value(before, lk, {"tier": "l1", "result": "miss"})
        self.assertEqual(misses, 10)  # 7 distinct bodies plus 3 errors, none stored
        # The scrape in between counts too: /metrics is Qdrant's route, class read_volatile.
        rv = {"route_class": "read_volatile", "method": "GET", "code": "200"}
        self.assertEqual(value(after, name, rv) - value(before, name, rv), 1)

    def test_cache_hits_are_counted(self):
        before = scrape(self.gw.port)
        c = harness.HttpClient(self.gw.port)
        for _ in range(4):
            c.request("POST", "/collections/m/points/count", {"exact": True})
        c.close()
        after = scrape(self.gw.port)
        lk = "qdrant_gateway_cache_lookups_total"
        hit = {"tier": "l1", "result": "hit"}
        self.assertGreaterEqual(value(after, lk, hit) - value(before, lk, hit), 3)

    def test_promtool_passes_with_everything_up(self):
        text = scrape(self.gw.port)
        promtool_check(self, text)
        for port in (self.up.port, self.up2.port):
            self.assertEqual(value(text, "qdrant_up", {"upstream": "127.0.0.1:%d" % port}), 1)
            self.assertEqual(value(text, "collections_total",
                                   {"upstream": "127.0.0.1:%d" % port}) is not None, True)
        self.assertEqual(value(text, "redis_up"), 1)
        self.assertEqual(value(text, "qdrant_gateway_redis_up"), 1)
        self.assertIsNotNone(value(text, "redis_used_memory_bytes"))
        self.assertEqual(value(text, "qdrant_gateway_build_info", {"version": "0.1.0"}), 1)
        self.assertGreater(value(text, "process_resident_memory_bytes"), 0)
        self.assertEqual(text.count("# TYPE collections_total "), 1)

    def test_dashboard_queries_name_exported_metrics(self):
        # Every metric the provisioned Grafana dashboard queries is in this live scrape (the
        # gateway with Redis and two Qdrant nodes; histograms as _bucket/_sum/_count samples).
        import os
        from test_deploy import promql_metric_names
        path = os.path.join(harness.SOURCE_DIR, "docker", "grafana", "dashboards",
                            "qdrant-gateway.json")
        with open(path) as f:
            dash = json.load(f)
        exprs = []

        def walk(node):
            if isinstance(node, dict):
                if isinstance(node.get("expr"), str):
                    exprs.append(node["expr"])
                for v in node.values():
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)
        walk(dash)
        self.assertGreater(len(exprs), 5)
        text = scrape(self.gw.port)
        exported = {re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
                    for line in text.splitlines() if line and not line.startswith("#")}
        # Real Qdrant 1.19 exports this histogram (shared/qdrant/API-NOTES.md); fake_qdrant
        # only has the avg/min/max gauges (a documented deviation), so it cannot show up here.
        qdrant_only = {"rest_responses_duration_seconds_bucket", "rest_responses_duration_seconds_sum",
                       "rest_responses_duration_seconds_count"}
        for e in exprs:
            missing = promql_metric_names(e) - exported - qdrant_only
            self.assertFalse(missing, "dashboard query %r names %s, not in /metrics" % (e, missing))

    def test_health_shows_cache_and_redis(self):
        s, _, b = harness.curl(self.gw.port, "GET", "/api/v1/health")
        doc = json.loads(b)["result"]
        self.assertTrue(doc["cache"]["enabled"])
        redis = doc["cache"]["redis"]
        self.assertEqual(redis, {"configured": True, "up": True, "dns_error": None,
                                 "address": "127.0.0.1:%d" % self.redis.port}, redis)
        self.assertIn("hit_ratio", doc["cache"])


class MetricsDownTest(unittest.TestCase):
    def test_redis_down_and_qdrant_down(self):
        redis = harness.start_redis()
        up = harness.start_fake_qdrant()
        gw = harness.start_gateway(up.port, "cache.redis.url=redis://127.0.0.1:%d" % redis.port,
                                   "metrics.upstream_ttl=0", "metrics.scrape_timeout=1s")
        try:
            redis.kill()
            time.sleep(0.3)
            text = scrape(gw.port)
            promtool_check(self, text)
            self.assertEqual(value(text, "redis_up"), 0)
            self.assertEqual(value(text, "qdrant_gateway_redis_up"), 0)
            self.assertEqual(value(text, "qdrant_up", {"upstream": "127.0.0.1:%d" % up.port}), 1)
            up.kill()
            t0 = time.monotonic()
            text = scrape(gw.port)
            self.assertLess(time.monotonic() - t0, 5, "the scrape waited past scrape_timeout")
            promtool_check(self, text)
            self.assertEqual(value(text, "qdrant_up", {"upstream": "127.0.0.1:%d" % up.port}), 0)
            self.assertIsNone(value(text, "collections_total", {"upstream": "127.0.0.1:%d" % up.port}))
        finally:
            gw.cleanup()
            up.cleanup()
            redis.cleanup()

    def test_blackholed_node_never_stalls_the_scrape(self):
        # A listener that accepts and never answers: the node shows qdrant_up 0 after the
        # scrape timeout, and everything else is still there.
        import socket
        hole = socket.socket()
        hole.bind(("127.0.0.1", 0))
        hole.listen(64)
        up = harness.start_fake_qdrant()
        gw = harness.start_gateway(
            up.port, "metrics.scrape_timeout=300ms", "metrics.upstream_ttl=0",
            "metrics.qdrant_urls=http://127.0.0.1:%d,http://127.0.0.1:%d" % (up.port, hole.getsockname()[1]))
        try:
            t0 = time.monotonic()
            text = scrape(gw.port)
            self.assertLess(time.monotonic() - t0, 3)
            self.assertEqual(value(text, "qdrant_up", {"upstream": "127.0.0.1:%d" % hole.getsockname()[1]}), 0)
            self.assertEqual(value(text, "qdrant_up", {"upstream": "127.0.0.1:%d" % up.port}), 1)
            promtool_check(self, text)
        finally:
            gw.cleanup()
            up.cleanup()
            hole.close()

    def test_disabled_goes_to_qdrant(self):
        up = harness.start_fake_qdrant()
        gw = harness.start_gateway(up.port, "metrics.enabled=false")
        try:
            s, h, b = harness.curl(gw.port, "GET", "/metrics")
            self.assertEqual(s, 200)
            self.assertNotIn(b"qdrant_gateway_", b)
            self.assertIn(b"collections_total", b)
        finally:
            gw.cleanup()
            up.cleanup()


if __name__ == "__main__":
    harness.main()

# cache.redis.lookup_filter with a real redis-server and two gateways sharing it: once a gateway
# has listened for a whole TTL, a miss that no replica stored goes to Qdrant without a Redis
# lookup (counted in Redis's own INFO commandstats), its answer is still stored in Redis and
# announced, and the other gateway then finds it there; writes still invalidate across them.
import re
import subprocess
import time
import unittest

import harness

TTL = 2.0  # seconds: how long the filter listens before it says "nobody stored this"


def redis_cli(port, *args):
    r = subprocess.run(["redis-cli", "-h", harness.LOOPBACK, "-p", str(port)] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def calls(port, cmd):
    m = re.search(r"^cmdstat_%s:calls=(\d+)" % cmd, redis_cli(port, "INFO", "commandstats"), re.M)
    return int(m.group(1)) if m else 0


def metric(port, name, labels):
    s, _, b = harness.curl(port, "GET", "/metrics")
    assert s == 200
    m = re.search(r"^%s\{%s\} (\d+)" % (re.escape(name), re.escape(labels)), b.decode(), re.M)
    return int(m.group(1)) if m else 0


def search(i, limit=3):
    return {"query": [0.1, 0.2, 0.3, 0.4], "limit": limit, "offset": i, "with_payload": True}


class LookupFilterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.redis = harness.start_redis()
        cls.up = harness.start_fake_qdrant()
        url = "cache.redis.url=redis://%s:%d" % (harness.LOOPBACK, cls.redis.port)
        sets = (url, "cache.ttl=%gs" % TTL, "cache.redis.timeout=1s")
        cls.a = harness.start_gateway(cls.up.port, *sets, workers=1)
        cls.b = harness.start_gateway(cls.up.port, *sets, workers=2)
        cls.off = harness.start_gateway(cls.up.port, *sets, "cache.redis.lookup_filter=false",
                                        workers=1)
        c = harness.HttpClient(cls.a.port)
        s, _, b = c.request("PUT", "/collections/c", {"vectors": {"size": 4, "distance": "Dot"}})
        assert s == 200, b
        pts = [{"id": i, "vector": [i + 1, 1, 1, 1], "payload": {"n": i}} for i in range(40)]
        s, _, b = c.request("PUT", "/collections/c/points?wait=true", {"points": pts})
        assert s == 200, b
        c.close()
        for g in (cls.a, cls.b, cls.off):
            harness.wait_caching(g.port)
        time.sleep(TTL + 0.3)  # the filters have listened for a whole TTL now

    @classmethod
    def tearDownClass(cls):
        for p in (cls.a, cls.b, cls.off, cls.up, cls.redis):
            p.cleanup()

    def qdrant_queries(self):
        return harness.fake_stats(self.up.port)["requests"].get("query_points", 0)

    def test_misses_skip_redis_and_the_other_replica_finds_them(self):
        n = 12
        ca, cb = harness.CacheClient(self.a.port), harness.CacheClient(self.b.port)
        mget0, set0, pub0 = (calls(self.redis.port, c) for c in ("mget", "set", "publish"))
        skipped0 = metric(self.a.port, "qdrant_gateway_cache_lookups_total",
                          'tier="l2",result="skipped"')
        q0 = self.qdrant_queries()
        for i in range(n):
            s, xc, _, _ = ca.req("POST", "/collections/c/points/query", search(i, limit=5))
            self.assertEqual((s, xc), (200, "MISS"))
        self.assertEqual(self.qdrant_queries() - q0, n)
        self.assertEqual(calls(self.redis.port, "mget") - mget0, 0, "a miss asked Redis")
        self.assertEqual(metric(self.a.port, "qdrant_gateway_cache_lookups_total",
                                'tier="l2",result="skipped"') - skipped0, n)
        # Stored in Redis all the same, and announced.
        deadline = time.monotonic() + 5
        while calls(self.redis.port, "set") - set0 < n:
            self.assertLess(time.monotonic(), deadline, "entries not stored in Redis")
            time.sleep(0.02)
        self.assertGreaterEqual(calls(self.redis.port, "publish") - pub0, n)
        time.sleep(0.3)  # the announcements reach gateway b's subscriber
        # Gateway b knows they are in Redis: it asks, and Qdrant is not asked again.
        q1 = self.qdrant_queries()
        for i in range(n):
            s, xc, _, _ = cb.req("POST", "/collections/c/points/query", search(i, limit=5))
            self.assertEqual((s, xc), (200, "HIT"))
        self.assertEqual(self.qdrant_queries(), q1)
        self.assertGreaterEqual(calls(self.redis.port, "mget") - mget0, n)
        ca.close()
        cb.close()

    def test_without_the_filter_every_miss_asks_redis(self):
        c = harness.CacheClient(self.off.port)
        mget0 = calls(self.redis.port, "mget")
        for i in range(5):
            s, xc, _, _ = c.req("POST", "/collections/c/points/query", search(i, limit=7))
            self.assertEqual((s, xc), (200, "MISS"))
        self.assertEqual(calls(self.redis.port, "mget") - mget0, 5)
        c.close()

    def test_a_write_through_one_invalidates_the_other(self):
        ca, cb = harness.CacheClient(self.a.port), harness.CacheClient(self.b.port)
        body = search(0, limit=9)
        self.assertEqual(ca.req("POST", "/collections/c/points/query", body)[1], "MISS")
        time.sleep(0.3)
        s, xc, doc, _ = cb.req("POST", "/collections/c/points/query", body)
        self.assertEqual((s, xc), (200, "HIT"))
        old = doc["result"]
        # A write through b: a's cached copy and Redis's are both outdated now.
        s, _, _, _ = cb.req("PUT", "/collections/c/points?wait=true",
                            {"points": [{"id": p["id"], "vector": [1, 1, 1, 1],
                                         "payload": {"n": -1}} for p in old["points"]]})
        self.assertEqual(s, 200)
        time.sleep(0.3)
        s, xc, doc, _ = ca.req("POST", "/collections/c/points/query", body)
        self.assertEqual(s, 200)
        self.assertNotEqual(xc, "HIT")
        self.assertNotEqual(doc["result"], old)
        ca.close()
        cb.close()


if __name__ == "__main__":
    harness.main()

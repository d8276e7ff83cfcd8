# cache.min_uses: 2 with real fake_qdrant (REST and gRPC), redis-server and gateways with two
# workers: the first use of a read goes to Qdrant with nothing stored in L1 or Redis, the second
# goes to Qdrant and is stored, the third is a hit, whichever worker or connection each comes
# on. With access control on, a first use is still checked against every collection it names.
import re
import subprocess
import unittest

import harness
from test_auth import key_hash

harness.grpc_stubs()
import grpc  # noqa: E402
import points_pb2 as ppb  # noqa: E402

FIRST = "qdrant_gateway_cache_first_uses_total"
STORES_L1 = 'qdrant_gateway_cache_stores_total{tier="l1"}'


def metric(port, sample):
    s, _, b = harness.curl(port, "GET", "/metrics")
    assert s == 200
    m = re.search(r"^%s (\d+)" % re.escape(sample), b.decode(), re.M)
    return int(m.group(1)) if m else 0


def redis_sets(port):
    r = subprocess.run(["redis-cli", "-h", harness.LOOPBACK, "-p", str(port), "INFO",
                        "commandstats"], stdout=subprocess.PIPE, timeout=10, text=True)
    m = re.search(r"^cmdstat_set:calls=(\d+)", r.stdout, re.M)
    return int(m.group(1)) if m else 0


def query(i):
    return {"query": [0.1, 0.2, 0.3, 0.4], "limit": 2, "offset": i}


class MinUsesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.redis = harness.start_redis()
        cls.up, cls.gport = harness.start_fake_qdrant_grpc()
        for name in ("a", "b"):
            s, _, b = harness.curl(cls.up.port, "PUT", "/collections/" + name,
                                   {"vectors": {"size": 4, "distance": "Dot"}})
            assert s == 200, b
            pts = [{"id": i, "vector": [i + 1, 1, 1, 1], "payload": {"n": i}} for i in range(20)]
            s, _, b = harness.curl(cls.up.port, "PUT", "/collections/%s/points?wait=true" % name,
                                   {"points": pts})
            assert s == 200, b
        common = ["cache.min_uses=2", "cache.ttl=60s", "cache.redis.timeout=1s",
                  "cache.redis.url=redis://%s:%d" % (harness.LOOPBACK, cls.redis.port),
                  "upstream.grpc_url=http://127.0.0.1:%d" % cls.gport]
        cls.gw = harness.start_gateway(cls.up.port, *common, workers=2)
        keys = ["auth.keys.reader-a.sha256=" + key_hash("key-reader-a"),
                "auth.keys.reader-a.role=read", "auth.keys.reader-a.collections=a",
                "auth.keys.admin.sha256=" + key_hash("key-admin"), "auth.keys.admin.role=admin"]
        cls.auth = harness.start_gateway(cls.up.port, *common, *keys, workers=2)
        harness.wait_caching(cls.gw.port)
        harness.wait_caching(cls.auth.port, "a", headers={"api-key": "key-admin"})

    @classmethod
    def tearDownClass(cls):
        for p in (cls.gw, cls.auth, cls.up, cls.redis):
            p.cleanup()

    def qdrant(self, op):
        return harness.fake_stats(self.up.port)["requests"].get(op, 0)

    def rest(self, port, body, headers=None):
        c = harness.CacheClient(port)  # a new connection each time: any worker may take it
        try:
            s, xc, d, _ = c.req("POST", "/collections/a/points/query", body, headers or {})
            return s, xc, d
        finally:
            c.close()

    def test_rest_read_is_stored_from_its_second_use(self):
        q0, st0, set0, f0 = (self.qdrant("query_points"), metric(self.gw.port, STORES_L1),
                             redis_sets(self.redis.port), metric(self.gw.port, FIRST))
        s1, x1, d1 = self.rest(self.gw.port, query(1))
        self.assertEqual((s1, x1), (200, "MISS"))
        self.assertEqual(self.qdrant("query_points") - q0, 1)
        self.assertEqual(metric(self.gw.port, FIRST) - f0, 1)
        self.assertEqual(metric(self.gw.port, STORES_L1) - st0, 0, "a first use was stored")
        self.assertEqual(redis_sets(self.redis.port) - set0, 0, "a first use went to Redis")
        s2, x2, d2 = self.rest(self.gw.port, query(1))
        self.assertEqual((s2, x2), (200, "MISS"))
        self.assertEqual(self.qdrant("query_points") - q0, 2)
        self.assertEqual(metric(self.gw.port, STORES_L1) - st0, 1)
        for _ in range(3):
            s3, x3, d3 = self.rest(self.gw.port, query(1))
            self.assertEqual((s3, x3, d3["result"]), (200, "HIT", d1["result"]))
        self.assertEqual(self.qdrant("query_points") - q0, 2)
        self.assertEqual(metric(self.gw.port, FIRST) - f0, 1)
        # another read is a first use of its own
        self.assertEqual(self.rest(self.gw.port, query(2))[1], "MISS")
        self.assertEqual(metric(self.gw.port, FIRST) - f0, 2)

    def test_grpc_read_is_stored_from_its_second_use(self):
        ch = grpc.insecure_channel("127.0.0.1:%d" % self.gw.port)
        fn = ch.unary_unary("/qdrant.Points/Search", request_serializer=lambda b: b,
                            response_deserializer=lambda b: b)
        body = ppb.SearchPoints(collection_name="a", vector=[1, 0, 0, 0], limit=3,
                                offset=7).SerializeToString()
        q0, f0 = harness.fake_stats(self.up.port)["grpc_calls"], metric(self.gw.port, FIRST)
        seen = []
        for _ in range(4):
            resp, c = fn.with_call(body, timeout=10)
            seen.append((dict(c.initial_metadata()).get("x-cache"), resp))
        ch.close()
        self.assertEqual([x for x, _ in seen], ["MISS", "MISS", "HIT", "HIT"])
        # the hits replay the second answer's bytes (each of Qdrant's has its own time)
        self.assertEqual(seen[2][1], seen[1][1])
        self.assertEqual(seen[3][1], seen[1][1])
        self.assertEqual(metric(self.gw.port, FIRST) - f0, 1)
        self.assertEqual(harness.fake_stats(self.up.port)["grpc_calls"] - q0, 2)

    def test_first_use_is_still_checked_against_every_collection(self):
        key = {"api-key": "key-reader-a"}
        rec = {"query": {"recommend": {"positive": [1]}}, "limit": 2,
               "lookup_from": {"collection": "b"}}
        for _ in range(2):  # a first use, then a second: both refused
            s, x, d = self.rest(self.auth.port, rec, key)
            self.assertEqual(s, 403, d)
            self.assertEqual(d["status"]["error"], "Forbidden: Access to collection b is required")
        xs = [self.rest(self.auth.port, query(3), key)[1] for _ in range(3)]
        self.assertEqual(xs, ["MISS", "MISS", "HIT"])
        self.assertEqual(self.rest(self.auth.port, query(3), {"api-key": "nope"})[0], 401)


if __name__ == "__main__":
    unittest.main()

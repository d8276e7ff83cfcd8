# Transparency: the same sequence of Qdrant operations is sent to two identical fake_qdrant
# instances, one directly and one through the gateway; status, body bytes and content type
# must be identical (only the envelope's "time" value, a measurement, may differ, and the
# operation_id of an update: after a write without wait=true the gateway sends Qdrant one
# no-op wait=true update of its own, a write barrier (README, "Freshness"), which takes an id).
import hashlib
import re
import unittest

import harness

TIME_RE = re.compile(rb'"time":[-+0-9.eE]+')
OPID_RE = re.compile(rb'"operation_id":[0-9]+')


def normalise(body):
    return OPID_RE.sub(b'"operation_id":0', TIME_RE.sub(b'"time":0', body))


C = "/collections/demo"
VEC = [0.05, 0.61, 0.76, 0.74]

# (method, path, body or None, extra headers)
SCRIPT = [
    ("GET", "/", None),
    ("GET", "/healthz", None),
    ("GET", "/livez", None),
    ("GET", "/readyz", None),
    ("GET", "/collections", None),
    ("GET", C, None),  # 404: missing collection
    ("GET", C + "/exists", None),
    ("PUT", C, {"vectors": {"size": 4, "distance": "Dot"}}),
    ("PUT", C, {"vectors": {"size": 4, "distance": "Dot"}}),  # 409
    ("PUT", "/collections/multi", {"vectors": {"image": {"size": 2, "distance": "Euclid"},
                                                "text": {"size": 3, "distance": "Cosine"}}}),
    ("GET", "/collections/", None),  # trailing slash
    ("GET", C + "/exists", None),
    ("PUT", C + "/points?wait=true", {"points": [
        {"id": 1, "vector": [0.05, 0.61, 0.76, 0.74], "payload": {"city": "Berlin", "n": 1}},
        {"id": 2, "vector": [0.19, 0.81, 0.75, 0.11], "payload": {"city": "London", "n": 2}},
        {"id": 3, "vector": [0.36, 0.55, 0.47, 0.94], "payload": {"city": "Moscow", "n": 3}},
        {"id": 4, "vector": [0.18, 0.01, 0.85, 0.80], "payload": {"city": "New York", "n": 4}},
        {"id": 5, "vector": [0.24, 0.18, 0.22, 0.44], "payload": {"city": "Beijing", "n": 5}},
        {"id": 6, "vector": [0.35, 0.08, 0.11, 0.44], "payload": {"city": "Mumbai", "n": 6}},
    ]}),
    ("PUT", C + "/points", {"batch": {"ids": [7, 8], "vectors": [[0.1, 0.2, 0.3, 0.4],
                                                                 [0.4, 0.3, 0.2, 0.1]],
                                      "payloads": [{"city": "Paris"}, {"city": "Rome"}]}}),
    ("PUT", C + "/points?wait=true", {"points": [{"id": 9, "vector": [1, 2, 3]}]}),  # dim 400
    ("GET", C, None),
    ("GET", C + "/points/2", None),
    ("GET", C + "/points/77", None),  # 404 point
    ("POST", C + "/points", {"ids": [1, 3, 5], "with_payload": True, "with_vector": True}),
    ("POST", C + "/points/search", {"vector": VEC, "limit": 3, "with_payload": True}),
    ("POST", C + "/points/search", {"vector": VEC, "limit": 3,
                                    "filter": {"must": [{"key": "city",
                                                         "match": {"value": "London"}}]}}),
    ("POST", C + "/points/search/batch", {"searches": [{"vector": VEC, "limit": 2},
                                                       {"vector": [1, 0, 0, 0], "limit": 1}]}),
    ("POST", C + "/points/query", {"query": VEC, "limit": 3, "with_payload": True}),
    ("POST", C + "/points/query", {"query": {"nearest": VEC}, "limit": 2,
                                   "filter": {"must": [{"key": "n", "range": {"gte": 3}}]}}),
    ("POST", C + "/points/query", {"query": 2, "limit": 2}),
    ("POST", C + "/points/query", {"limit": 0}),  # 422
    ("POST", C + "/points/query/batch", {"searches": [{"query": VEC, "limit": 1},
                                                      {"query": [1, 1, 1, 1], "limit": 2}]}),
    ("POST", C + "/points/recommend", {"positive": [1], "negative": [2], "limit": 2}),
    ("POST", C + "/points/scroll", {"limit": 3, "with_payload": True}),
    ("POST", C + "/points/scroll", {"limit": 3, "offset": 4}),
    ("POST", C + "/points/count", {"exact": True}),
    ("POST", C + "/points/count", {"filter": {"must_not": [{"key": "city",
                                                             "match": {"any": ["Rome", "Paris"]}}]}}),
    ("POST", C + "/facet", {"key": "city"}),
    ("POST", C + "/points/payload?wait=true", {"payload": {"tag": "x"}, "points": [1, 2]}),
    ("PUT", C + "/points/payload?wait=true", {"payload": {"only": 1}, "points": [3]}),
    ("POST", C + "/points/payload/delete?wait=true", {"keys": ["tag"], "points": [1]}),
    ("POST", C + "/points/payload/clear?wait=true", {"points": [4]}),
    ("POST", C + "/points", {"ids": [1, 2, 3, 4]}),
    ("POST", C + "/points/delete?wait=true", {"points": [6]}),
    ("POST", C + "/points/delete?wait=true", {"filter": {"must": [{"key": "city",
                                                                     "match": {"value": "Rome"}}]}}),
    ("POST", C + "/points/count", {}),
    ("POST", "/collections/aliases", {"actions": [{"create_alias": {"collection_name": "demo",
                                                                    "alias_name": "current"}}]}),
    ("GET", "/aliases", None),
    ("GET", C + "/aliases", None),
    ("POST", "/collections/current/points/count", {}),
    ("POST", C + "/points/search", b'{"vector": [0.1, '),  # malformed JSON 400
    ("POST", C + "/points/search", b''),  # empty body 400
    ("GET", "/no/such/route", None),  # 404 empty body
    ("DELETE", "/collections/current", None),  # alias is not a collection name here
    ("DELETE", "/collections/multi", None),
    ("DELETE", "/collections/multi", None),  # result false
    ("GET", "/collections", None),
    # The cluster-level, shard, named-vector and snapshot routes (issue 19: once unrouted by
    # fake_qdrant, so the gateway was never tried on them).
    ("PUT", C + "/vectors/extra?wait=true", {"dense": {"size": 2, "distance": "Dot"}}),  # 400
    ("PUT", "/collections/named", {"vectors": {"a": {"size": 2, "distance": "Dot"}},
                                   "sharding_method": "custom"}),
    ("PUT", "/collections/named/vectors/b?wait=true", {"dense": {"size": 3, "distance": "Euclid"}}),
    ("PUT", "/collections/named/vectors/s", {"sparse": {}}),
    ("GET", "/collections/named", None),
    ("DELETE", "/collections/named/vectors/a?wait=true", None),
    ("DELETE", "/collections/named/vectors/a", None),  # 400 unknown
    ("GET", "/collections/named", None),
    ("GET", "/collections/named/shards", None),
    ("PUT", "/collections/named/shards", {"shard_key": "eu"}),  # 400 standalone
    ("POST", "/collections/named/shards/delete", {"shard_key": "eu"}),
    ("POST", "/collections/named/cluster", {"drop_replica": {"shard_id": 0, "peer_id": 1}}),
    ("GET", "/collections/named/optimizations?with=queued", None),
    ("GET", "/collections/named/shards/0/snapshots", None),
    ("GET", "/collections/named/shards/4/snapshots", None),  # 404
    ("GET", "/collections/named/shards/0/snapshots/none.snapshot", None),  # 404
    ("PUT", "/collections/named/snapshots/recover", {"location": "file:///x/none.snapshot"}),
    ("GET", "/snapshots", None),
    ("DELETE", "/snapshots/none.snapshot", None),  # 404
    ("GET", "/quotas", None),
    ("PUT", "/quotas", {"enabled": True, "max_disk_usage_percent": 95}),
    ("PUT", "/quotas", {"max_disk_usage_percent": 101}),  # 422
    ("GET", "/quotas", None),
    ("GET", "/cluster/telemetry", None),
    ("POST", "/cluster/recover", None),  # 405 standalone
    ("DELETE", "/cluster/peer/12", None),  # 400 standalone
    ("DELETE", "/issues", None),
    ("DELETE", "/collections/named", None),
    ("GET", "/metrics", None),
]


class PassthroughTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.direct = harness.start_fake_qdrant("--snapshot-mb", "4")
        cls.behind = harness.start_fake_qdrant("--snapshot-mb", "4")
        # The gateway's own /metrics replaces Qdrant's on purpose (test_metrics covers it): here
        # the path is forwarded, like every other Qdrant route.
        cls.gw = harness.start_gateway(cls.behind.port, "metrics.enabled=false")

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.direct.cleanup()
        cls.behind.cleanup()

    def test_script_identical(self):
        for method, path, body in SCRIPT:
            with self.subTest(method=method, path=path, body=str(body)[:60]):
                ds, dh, db = harness.curl(self.direct.port, method, path, body)
                gs, gh, gb = harness.curl(self.gw.port, method, path, body)
                self.assertEqual(ds, gs)
                if path == "/metrics":
                    # Counters include the requests of this very test: compare the shape.
                    self.assertEqual(dh.get("content-type"), gh.get("content-type"))
                    self.assertIn(b"# TYPE app_info gauge", gb)
                    continue
                self.assertEqual(normalise(db), normalise(gb))
                self.assertEqual(dh.get("content-type"), gh.get("content-type"))
                self.assertIn("x-request-id", gh)

    def test_snapshot_scopes_stream_through(self):
        """Storage and shard snapshots made, listed and downloaded through the gateway: the
        bytes are the ones Qdrant describes (sha256 = checksum)."""
        c = harness.HttpClient(self.gw.port)
        try:
            s, _, b = c.request("PUT", "/collections/snaps",
                                {"vectors": {"size": 2, "distance": "Dot"}})
            self.assertEqual(s, 200, b)
            for base in ("", "/collections/snaps/shards/0"):
                s, doc, _ = c.json("POST", base + "/snapshots")
                self.assertEqual(s, 200, doc)
                snap = doc["result"]
                s, doc, _ = c.json("GET", base + "/snapshots")
                self.assertIn(snap, doc["result"])
                s, h, body = c.request("GET", base + "/snapshots/" + snap["name"])
                self.assertEqual((s, len(body)), (200, snap["size"]))
                self.assertEqual(hashlib.sha256(body).hexdigest(), snap["checksum"])
                s, doc, _ = c.json("DELETE", base + "/snapshots/" + snap["name"])
                self.assertEqual((s, doc["result"]), (200, True))
            s, h, body = c.request("GET", "/collections/snaps/shards/0/snapshot")
            self.assertEqual(s, 200)
            self.assertEqual(int(h["content-length"]), len(body))
            self.assertRegex(h["content-disposition"], r'filename="snaps-shard-0-')
        finally:
            c.request("DELETE", "/collections/snaps")
            c.close()

    def test_head_answered_like_qdrant(self):
        # Qdrant's routes are GET-only: HEAD gets its 404, with no body, through the gateway too.
        ds, _, db = harness.curl(self.direct.port, "HEAD", "/")
        gs, gh, gb = harness.curl(self.gw.port, "HEAD", "/")
        self.assertEqual((ds, db), (gs, gb))
        self.assertEqual(gb, b"")

    def test_keyed_order_and_whitespace_bytes_pass_untouched(self):
        # Bodies are forwarded byte for byte: odd spacing reaches Qdrant unchanged.
        body = b'{ "limit" : 2 ,\n "query" : [0.05, 0.61, 0.76, 0.74] }'
        ds, _, db = harness.curl(self.direct.port, "POST", C + "/points/query", body,
                                 headers=["Content-Type: application/json"])
        gs, _, gb = harness.curl(self.gw.port, "POST", C + "/points/query", body,
                                 headers=["Content-Type: application/json"])
        self.assertEqual((ds, normalise(db)), (gs, normalise(gb)))


if __name__ == "__main__":
    harness.main()

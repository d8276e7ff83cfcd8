"""Tenant enforcement through the real gateway against fake_qdrant: a collection holds the
points of two tenants (group_id acme and other); a gateway key bound to acme and a JWT with the
`tenant` claim for other see only their own points on every filter-bearing route, writes stay
within the tenant (upsert over another tenant's id, delete by ids), and escape attempts are
refused before Qdrant is asked."""
import base64
import hashlib
import hmac
import json
import unittest

import harness

SECRET = "gw-test-secret"
ACME = {1, 2, 3, 4}
OTHER = {11, 12, 13, 14}


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(claims):
    msg = b64u(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + \
        b64u(json.dumps(claims).encode())
    return msg + "." + b64u(hmac.new(SECRET.encode(), msg.encode(), hashlib.sha256).digest())


def ids_in(doc):
    """Every point id (and group_id) in an answer, wherever the route puts them."""
    ids, groups = set(), set()

    def walk(v):
        if isinstance(v, dict):
            if "id" in v and isinstance(v["id"], int):
                ids.add(v["id"])
            if isinstance(v.get("payload"), dict) and "group_id" in v["payload"]:
                groups.add(v["payload"]["group_id"])
            for k, x in v.items():
                if k in ("a", "b") and isinstance(x, int):  # matrix pairs
                    ids.add(x)
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk(doc)
    return ids, groups


V = [1.0, 0.5, 0.2, 0.1]
READS = [
    ("search", "/points/search", {"vector": V, "limit": 20, "with_payload": True}),
    ("search_batch", "/points/search/batch", {"searches": [{"vector": V, "limit": 20}] * 2}),
    ("search_groups", "/points/search/groups",
     {"vector": V, "limit": 20, "group_by": "n", "group_size": 3}),
    ("query", "/points/query", {"query": V, "limit": 20, "with_payload": True}),
    ("query_prefetch", "/points/query",
     {"prefetch": [{"query": V, "limit": 20}, {"query": [0, 1, 0, 0], "limit": 20}],
      "query": {"fusion": "rrf"}, "limit": 20}),
    ("query_batch", "/points/query/batch", {"searches": [{"query": V, "limit": 20}]}),
    ("query_groups", "/points/query/groups", {"query": V, "group_by": "n", "limit": 20}),
    ("recommend", "/points/recommend", {"positive": [V], "limit": 20}),
    ("recommend_batch", "/points/recommend/batch", {"searches": [{"positive": [V], "limit": 20}]}),
    ("recommend_groups", "/points/recommend/groups",
     {"positive": [V], "group_by": "n", "group_size": 3, "limit": 20}),
    ("discover", "/points/discover",
     {"target": V, "context": [{"positive": V, "negative": [0, 0, 1, 0]}], "limit": 20}),
    ("discover_batch", "/points/discover/batch",
     {"searches": [{"target": V, "context": [], "limit": 20}]}),
    ("scroll", "/points/scroll", {"limit": 100, "with_payload": True}),
    ("scroll_should", "/points/scroll",
     {"limit": 100, "filter": {"should": [{"key": "n", "range": {"gte": 0}}]}}),
    ("matrix_pairs", "/points/search/matrix/pairs", {"sample": 10, "limit": 3}),
]


class TenantTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up = harness.start_fake_qdrant("--api-key", SECRET, "--jwt-rbac", "true")
        c = harness.HttpClient(cls.up.port, headers={"api-key": SECRET})
        s, _, b = c.request("PUT", "/collections/t", {"vectors": {"size": 4, "distance": "Dot"}})
        assert s == 200, b
        pts = [{"id": i, "vector": [float(i % 10), 1.0, 0.0, 0.5],
                "payload": {"n": i, "group_id": "acme" if i in ACME else "other"}}
               for i in sorted(ACME | OTHER)]
        s, _, b = c.request("PUT", "/collections/t/points?wait=true", {"points": pts})
        assert s == 200, b
        c.close()
        sets = ["upstream.api_key=" + SECRET, "auth.jwt.enabled=true", "auth.jwt.secret=" + SECRET,
                "auth.keys.acme.sha256=" + hashlib.sha256(b"key-acme").hexdigest(),
                "auth.keys.acme.role=write", "auth.keys.acme.collections=t",
                "auth.keys.acme.tenant.field=group_id", "auth.keys.acme.tenant.value=acme"]
        cls.gw = harness.start_gateway(cls.up.port, *sets, workers=2)
        harness.wait_caching(cls.gw.port, "t", headers={"api-key": SECRET})
        cls.other = jwt({"access": [{"collection": "t", "access": "rw"}],
                         "tenant": {"field": "group_id", "value": "other"}})

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.up.cleanup()

    def req(self, cred, method, path, body=None, port=None):
        c = harness.HttpClient(port or self.gw.port)
        try:
            s, _, b = c.request(method, path, body, {"api-key": cred})
            return s, (json.loads(b) if b else None)
        finally:
            c.close()

    def direct_ids(self):
        s, doc = self.req(SECRET, "POST", "/collections/t/points/scroll",
                          {"limit": 100, "with_payload": True}, port=self.up.port)
        self.assertEqual(s, 200)
        return {p["id"]: p["payload"]["group_id"] for p in doc["result"]["points"]}

    def test_reads_see_only_the_tenant(self):
        for cred, mine, name in (("key-acme", ACME, "acme"), (self.other, OTHER, "other")):
            for label, path, body in READS:
                with self.subTest(tenant=name, route=label):
                    s, doc = self.req(cred, "POST", "/collections/t" + path, body)
                    self.assertEqual(s, 200, doc)
                    ids, groups = ids_in(doc["result"])
                    self.assertTrue(ids, doc)
                    self.assertLessEqual(ids, mine | {i % 10 for i in mine})  # group ids: n
                    self.assertLessEqual(groups, {name})
            s, doc = self.req(cred, "POST", "/collections/t/points/count", {"exact": True})
            self.assertEqual((s, doc["result"]["count"]), (200, 4))
            s, doc = self.req(cred, "POST", "/collections/t/facet", {"key": "group_id"})
            self.assertEqual(s, 200, doc)
            self.assertEqual([h["value"] for h in doc["result"]["hits"]], [name])

    def test_escapes_refused(self):
        cases = [
            ("POST", "/points/scroll",
             {"filter": {"should": [{"key": "group_id", "match": {"value": "other"}}]}},
             "the filter may not name"),
            ("POST", "/points/count", {"filter": {"must_not": [
                {"key": "group_id", "match": {"value": "acme"}}]}}, "may not name"),
            ("POST", "/points", {"ids": [11]}, "retrieving points by id"),
            ("GET", "/points/11", None, "retrieving points by id"),
            ("POST", "/points/recommend", {"positive": [11]}, "recommend by point id"),
            ("POST", "/points/query", {"query": 11}, "query by point id"),
            ("PUT", "/points", {"points": [{"id": 30, "vector": V,
                                            "payload": {"group_id": "other"}}]},
             "only to the tenant's value"),
            ("PUT", "/points", {"points": [{"id": 30, "vector": V}]}, "must set group_id"),
            ("POST", "/points/payload", {"payload": {"group_id": "other"}, "points": [1]},
             "only to the tenant's value"),
            ("POST", "/points/payload/delete", {"keys": ["group_id"], "points": [1]},
             "deleting the tenant field"),
            ("POST", "/points/payload/clear", {"points": [1]}, "clearing payloads"),
            ("PUT", "/index", {"field_name": "n", "field_schema": "integer"}, "not allowed"),
            ("GET", "", None, "get_collection is not allowed"),
            ("DELETE", "", None, "Forbidden"),
        ]
        before = self.direct_ids()
        for method, path, body, text in cases:
            with self.subTest(route="%s %s" % (method, path)):
                s, doc = self.req("key-acme", method, "/collections/t" + path, body)
                self.assertEqual(s, 403, doc)
                self.assertIn(text, doc["status"]["error"])
        self.assertEqual(self.direct_ids(), before)
        s, doc = self.req("key-acme", "POST", "/collections/t/points/scroll", b"{\"limit\":")
        self.assertEqual(s, 400, doc)
        # a malformed tenant claim is refused: the gateway could not enforce it
        bad = jwt({"access": "r", "tenant": {"field": "a.b", "value": "x"}})
        c = harness.HttpClient(self.gw.port)
        s, _, b = c.request("POST", "/collections/t/points/scroll", {}, {"api-key": bad})
        c.close()
        self.assertEqual(s, 401, b)

    def test_writes_stay_in_the_tenant(self):
        # upsert over another tenant's id: update_filter keeps their point; a new id is added
        s, doc = self.req("key-acme", "PUT", "/collections/t/points?wait=true", {"points": [
            {"id": 12, "vector": V, "payload": {"group_id": "acme", "n": 99}},
            {"id": 5, "vector": V, "payload": {"group_id": "acme", "n": 5}}]})
        self.assertEqual(s, 200, doc)
        now = self.direct_ids()
        self.assertEqual((now[12], now[5]), ("other", "acme"))
        # delete by ids, one of them another tenant's: only the tenant's goes
        s, doc = self.req("key-acme", "POST", "/collections/t/points/delete?wait=true",
                          {"points": [5, 13]})
        self.assertEqual(s, 200, doc)
        now = self.direct_ids()
        self.assertNotIn(5, now)
        self.assertEqual(now[13], "other")
        # set payload by ids: only the tenant's point changes
        s, doc = self.req(self.other, "POST", "/collections/t/points/payload?wait=true",
                          {"payload": {"mark": 1}, "points": [1, 14]})
        self.assertEqual(s, 200, doc)
        s, doc = self.req(SECRET, "POST", "/collections/t/points",
                          {"ids": [1, 14], "with_payload": True}, port=self.up.port)
        marks = {p["id"]: p["payload"].get("mark") for p in doc["result"]}
        self.assertEqual(marks, {1: None, 14: 1})


if __name__ == "__main__":
    unittest.main()

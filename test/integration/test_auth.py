# Access control at the gateway (issue 16): the JWT battery compared with fake_qdrant, which
# checks JWTs like Qdrant (test/fake_qdrant/fq_auth.c), over HTTP/1.1 and HTTP/2; gateway keys
# with roles and allowlists per route class (aliases of allowed collections included); the cache
# shared by access scope and never serving across it; the audit log and its SIGHUP reopen.
import base64
import hashlib
import hmac
import json
import os
import signal
import tempfile
import time
import unittest

import harness
from h2client import H2Client

SECRET = "gw-test-secret"
DIM = 4


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(claims, key=SECRET, header=None):
    header = header or {"alg": "HS256", "typ": "JWT"}
    msg = b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(claims).encode())
    sig = hmac.new(key.encode(), msg.encode(), hashlib.sha256).digest()
    return msg + "." + b64u(sig)


def normalise(status, body):
    """(status, body) with the envelope's time dropped, for comparing two servers."""
    try:
        return status, harness.without_time(json.loads(body))
    except ValueError:
        return status, body


def setup_collections(port):
    c = harness.HttpClient(port, headers={"api-key": SECRET})
    for name in ("a", "b"):
        s, _, b = c.request("PUT", "/collections/" + name,
                            {"vectors": {"size": DIM, "distance": "Dot"}})
        assert s == 200, b
        pts = [{"id": i, "vector": [float(i), 1.0, 0.0, 0.5], "payload": {"n": i, "c": name}}
               for i in range(1, 6)]
        s, _, b = c.request("PUT", "/collections/%s/points?wait=true" % name, {"points": pts})
        assert s == 200, b
    s, _, b = c.request("POST", "/collections/aliases", {"actions": [
        {"create_alias": {"collection_name": "b", "alias_name": "alias_b"}}]})
    assert s == 200, b
    c.close()


NOW = int(time.time())
TOKENS = {
    "global_r": jwt({"access": "r", "exp": NOW + 600}),
    "global_m": jwt({"access": "m", "exp": NOW + 600}),
    "a_r": jwt({"access": [{"collection": "a", "access": "r"}]}),
    "a_rw": jwt({"access": [{"collection": "a", "access": "rw"}], "sub": "svc-a"}),
    "a_prw": jwt({"access": [{"collection": "a", "access": "prw"}]}),
    "b_r": jwt({"access": [{"collection": "b", "access": "r"}]}),
    "no_claims": jwt({}),
    "expired": jwt({"access": "r", "exp": NOW - 3600}),
    "wrong_key": jwt({"access": "m"}, key="not-the-secret"),
    "alg_none": jwt({"access": "m"}, header={"alg": "none"}),
    "hs512": jwt({"access": "m"}, header={"alg": "HS512", "typ": "JWT"}),
    "rs256": jwt({"access": "m"}, header={"alg": "RS256", "typ": "JWT"}),
    "bad_access": jwt({"access": "rw"}),
    "payload_claim": jwt({"access": [{"collection": "a", "access": "r", "payload": {"u": 1}}]}),
    "dup_collection": jwt({"access": [{"collection": "a", "access": "r"},
                                      {"collection": "a", "access": "rw"}]}),
    "not_a_jwt": "abc.def",
    "garbage": "x" * 40,
}
# A tampered payload: the signature of a read token on a manage payload.
_t = TOKENS["a_r"].split(".")
TOKENS["tampered"] = ".".join([_t[0], b64u(json.dumps({"access": "m"}).encode()), _t[2]])

WRITERS = ("global_m", "no_claims", "a_rw", "a_prw")  # tokens whose writes succeed

SEARCH = {"query": [1, 0, 0, 0], "limit": 3}
REQUESTS = [
    ("GET", "/collections/a", None),
    ("GET", "/collections", None),
    ("POST", "/collections/a/points/query", SEARCH),
    ("POST", "/collections/b/points/query", SEARCH),
    ("POST", "/collections/alias_b/points/query", SEARCH),
    ("POST", "/collections/a/points/scroll", {"limit": 2}),
    ("PUT", "/collections/a/points?wait=true",
     {"points": [{"id": 9, "vector": [0, 0, 1, 0], "payload": {"n": 9}}]}),
    ("PUT", "/collections/a/index?wait=true", {"field_name": "n", "field_schema": "integer"}),
    ("PATCH", "/collections/a", {}),
    ("GET", "/telemetry", None),
    ("GET", "/cluster", None),
    ("GET", "/no/such/route", None),
]


class JwtGateway(unittest.TestCase):
    """fake_qdrant checking JWTs as Qdrant does (collections a, b, alias_b) behind a gateway
    verifying them with the same secret."""

    @classmethod
    def setUpClass(cls):
        cls.up = harness.start_fake_qdrant("--api-key", SECRET, "--jwt-rbac", "true")
        setup_collections(cls.up.port)
        cls.gw = harness.start_gateway(cls.up.port, "auth.jwt.enabled=true",
                                       "auth.jwt.secret=" + SECRET, workers=2)

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.up.cleanup()


class JwtBatteryTest(JwtGateway):
    def both(self, method, path, body, headers):
        direct = harness.HttpClient(self.up.port)
        via = harness.HttpClient(self.gw.port)
        try:
            a = direct.request(method, path, body, headers)
            b = via.request(method, path, body, headers)
        finally:
            direct.close()
            via.close()
        return a, b

    def test_battery_matches_qdrant_rules(self):
        checked = 0
        for name, tok in sorted(TOKENS.items()):
            for method, path, body in REQUESTS:
                if method != "GET" and name in WRITERS:
                    continue  # writes that succeed change the data: test_writes covers them
                for hdr in ({"Authorization": "Bearer " + tok}, {"api-key": tok}):
                    (s1, h1, b1), (s2, h2, b2) = self.both(method, path, body, hdr)
                    with self.subTest(token=name, route="%s %s" % (method, path), hdr=list(hdr)):
                        self.assertEqual(normalise(s2, b2), normalise(s1, b1))
                        if s2 in (401, 403):
                            # refused before Qdrant: the gateway's answer carries no X-Cache
                            self.assertNotIn("x-cache", h2)
                    checked += 1
        self.assertGreater(checked, 300)

    def test_refusals_never_reach_qdrant(self):
        before = harness.fake_stats(self.up.port)["requests_total"]
        for name in ("expired", "wrong_key", "alg_none", "hs512", "rs256", "tampered", "b_r"):
            s, _, _ = harness.curl(self.gw.port, "POST", "/collections/a/points/query", SEARCH,
                                   headers=["Authorization: Bearer " + TOKENS[name]])
            self.assertIn(s, (401, 403), name)
        s, _, b = harness.curl(self.gw.port, "GET", "/collections/a")
        self.assertEqual((s, b), (401, b"Must provide an API key or an Authorization bearer token"))
        self.assertEqual(harness.fake_stats(self.up.port)["requests_total"], before)

    def test_expected_texts(self):
        cases = [
            ("expired", 403, b"ExpiredSignature"),
            ("wrong_key", 403, b"InvalidSignature"),
            ("tampered", 403, b"InvalidSignature"),
            ("alg_none", 401, b"Invalid API key or JWT"),
            ("hs512", 401, b"Invalid API key or JWT"),
            ("rs256", 401, b"Invalid API key or JWT"),
        ]
        for name, status, text in cases:
            s, _, b = harness.curl(self.gw.port, "GET", "/collections/a",
                                   headers=["api-key: " + TOKENS[name]])
            self.assertEqual((s, b), (status, text), name)
        s, _, b = harness.curl(self.gw.port, "POST", "/collections/alias_b/points/query", SEARCH,
                               headers=["api-key: " + TOKENS["a_r"]])
        self.assertEqual(s, 403)
        self.assertEqual(json.loads(b)["status"]["error"],
                         "Forbidden: Access to collection alias_b is required")

    def test_nbf_is_checked_by_the_gateway_only(self):
        tok = jwt({"access": "r", "nbf": NOW + 3600})
        (s1, _, _), (s2, _, b2) = self.both("GET", "/collections/a", None, {"api-key": tok})
        self.assertEqual(s1, 200)  # Qdrant ignores nbf
        self.assertEqual((s2, b2), (401, b"Invalid API key or JWT"))

    def test_huge_token(self):
        tok = jwt({"access": "r", "pad": "x" * 9000})
        s, _, b = harness.curl(self.gw.port, "GET", "/collections/a", headers=["api-key: " + tok])
        self.assertEqual((s, b), (401, b"Invalid API key or JWT"))

    def test_writes(self):
        body = {"points": [{"id": 7, "vector": [0, 1, 0, 0], "payload": {"n": 7}}]}
        for name, want in (("a_r", 403), ("global_r", 403), ("a_rw", 200), ("global_m", 200)):
            (s1, _, b1), (s2, _, b2) = self.both("PUT", "/collections/a/points?wait=true", body,
                                                 {"api-key": TOKENS[name]})
            self.assertEqual(s2, want, (name, b2))
            self.assertEqual(normalise(s2, b2)[0], normalise(s1, b1)[0])
            if want == 403:
                self.assertEqual(normalise(s2, b2), normalise(s1, b1))

    def test_h2_same_answers(self):
        c = H2Client(self.gw.port)
        try:
            for name, tok in sorted(TOKENS.items()):
                for method, path, body in REQUESTS:
                    if method != "GET" and name in WRITERS:
                        continue
                    data = json.dumps(body).encode() if body is not None else None
                    hdrs = [("api-key", tok)]
                    if data is not None:
                        hdrs.append(("content-type", "application/json"))
                    st = c.request(method, path, body=data, headers=hdrs)
                    self.assertTrue(c.wait([st]))
                    direct = harness.HttpClient(self.up.port)
                    s1, _, b1 = direct.request(method, path, body, {"api-key": tok})
                    direct.close()
                    with self.subTest(token=name, route="%s %s" % (method, path)):
                        self.assertEqual(normalise(st.status, st.body), normalise(s1, b1))
        finally:
            c.close()


def read_text(path):
    if not os.path.exists(path):
        return ""
    with open(path) as f:
        return f.read()


def key_hash(k):
    return hashlib.sha256(k.encode()).hexdigest()


KEYS = {"reader-a": ("read", "a"), "writer-a": ("write", "a"), "reader-all": ("read", ""),
        "writer-all": ("write", ""), "admin": ("admin", ""), "reader-b": ("read", "b"),
        "tenant-x": ("read", "a")}


class GatewayKeysTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up = harness.start_fake_qdrant("--api-key", SECRET)
        setup_collections(cls.up.port)
        cls.audit = tempfile.NamedTemporaryFile(prefix="audit", suffix=".log", delete=False).name
        sets = ["upstream.api_key=" + SECRET, "auth.audit_log=" + cls.audit]
        for name, (role, colls) in KEYS.items():
            sets += ["auth.keys.%s.sha256=%s" % (name, key_hash("key-" + name)),
                     "auth.keys.%s.role=%s" % (name, role)]
            if colls:
                sets.append("auth.keys.%s.collections=%s" % (name, colls))
        sets += ["auth.keys.tenant-x.tenant.field=c", "auth.keys.tenant-x.tenant.value=a"]
        cls.gw = harness.start_gateway(cls.up.port, *sets, workers=2)
        harness.wait_caching(cls.gw.port, "a", headers={"api-key": "key-admin"})
        harness.wait_caching(cls.gw.port, "b", headers={"api-key": "key-admin"})

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.up.cleanup()
        os.unlink(cls.audit)

    def req(self, key, method, path, body=None, extra=None):
        c = harness.CacheClient(self.gw.port)
        hdrs = {"api-key": "key-" + key} if key else {}
        hdrs.update(extra or {})
        try:
            return c.req(method, path, body, hdrs)
        finally:
            c.close()

    def status(self, key, method, path, body=None):
        return self.req(key, method, path, body)[0]

    def test_roles_and_allowlists_per_route_class(self):
        up = {"points": [{"id": 8, "vector": [0, 0, 0, 1], "payload": {"n": 8, "c": "a"}}]}
        table = [  # (route, {key: expected status})
            (("POST", "/collections/a/points/query", SEARCH),
             {"reader-a": 200, "writer-a": 200, "reader-all": 200, "admin": 200, "reader-b": 403}),
            (("POST", "/collections/alias_b/points/query", SEARCH),
             {"reader-b": 200, "reader-a": 403, "reader-all": 200}),
            (("PUT", "/collections/a/points?wait=true", up),
             {"reader-a": 403, "reader-all": 403, "writer-a": 200, "writer-all": 200,
              "reader-b": 403}),
            (("PUT", "/collections/b/points?wait=true", up), {"writer-a": 403, "writer-all": 200}),
            (("PATCH", "/collections/a", {}),
             {"writer-a": 403, "writer-all": 403, "admin": 200}),
            (("GET", "/collections", None), {"reader-a": 200, "reader-b": 200}),
            (("GET", "/metrics", None), {"reader-all": 200, "reader-a": 403, "admin": 200}),
            (("GET", "/cluster", None), {"reader-all": 200, "reader-a": 403}),
            (("POST", "/api/v1/cache/purge", {}), {"reader-all": 403, "writer-all": 403,
                                                    "admin": 200}),
            (("GET", "/api/v1/health", None), {None: 200, "reader-a": 200}),
            (("GET", "/healthz", None), {None: 200}),
            (("GET", "/collections/a", None), {None: 401, "reader-a": 200}),
        ]
        for (method, path, body), want in table:
            for key, status in want.items():
                with self.subTest(route="%s %s" % (method, path), key=key):
                    self.assertEqual(self.status(key, method, path, body), status)
        harness.wait_caching(self.gw.port, "a", headers={"api-key": "key-admin"})

    def test_graphql_fields_are_checked_like_rest(self):
        def gql(key, query):
            s, _, doc, _ = self.req(key, "POST", "/graphql", {"query": query})
            return s, doc
        q = '{ count(collection: "%s", exact: true) }'
        s, doc = gql("reader-a", q % "a")
        self.assertEqual(s, 200, doc)
        self.assertNotIn("errors", doc)
        self.assertIsInstance(doc["data"]["count"], int)
        s, doc = gql("reader-a", q % "b")  # not in its allowlist: the field is refused
        self.assertIsNone(doc["data"])
        err = doc["errors"][0]
        self.assertEqual(err["extensions"]["status"], 403, doc)
        self.assertIn("collection b", err["message"])
        s, doc = gql("reader-a", 'mutation { deletePoints(collection: "a", ids: [8]) '
                                 '{ status } }')
        self.assertEqual(doc["errors"][0]["extensions"]["status"], 403, doc)
        s, doc = gql(None, q % "a")  # no credential at all: Qdrant's 401, before any field
        self.assertEqual(s, 401, doc)

    def test_unknown_key_and_texts(self):
        s, _, doc, _ = self.req("nobody", "GET", "/collections/a")
        self.assertEqual((s, doc), (401, b"Invalid API key or JWT"))
        s, _, doc, _ = self.req("reader-a", "PUT", "/collections/a/points", {"points": []})
        self.assertEqual(s, 403)
        self.assertEqual(doc["status"]["error"],
                         "Forbidden: Write access to collection a is required")
        long = "/collections/%s/points/query" % ("a" * 300)
        self.assertEqual(self.status("reader-a", "POST", long, SEARCH), 403)
        self.assertNotEqual(self.status("reader-all", "POST", long, SEARCH), 403)

    def test_qdrant_gets_upstream_key_not_the_clients(self):
        # fake_qdrant only knows SECRET: a 200 through the gateway means the key was replaced
        s, _, doc, _ = self.req("reader-a", "GET", "/collections/a")
        self.assertEqual(s, 200, doc)

    def test_cache_shared_by_scope_never_across(self):
        q = {"query": [0.5, 1, 0, 0], "limit": 2, "offset": 1}
        s, x1, d1, _ = self.req("reader-a", "POST", "/collections/a/points/query", q)
        s2, x2, d2, _ = self.req("writer-a", "POST", "/collections/a/points/query", q)
        self.assertEqual((s, s2), (200, 200))
        self.assertEqual(x1, "MISS")
        self.assertEqual(x2, "HIT")  # two keys with read access to a share one entry
        self.assertEqual(d1["result"], d2["result"])
        s3, x3, d3, _ = self.req("reader-b", "POST", "/collections/a/points/query", q)
        self.assertEqual((s3, x3), (403, None))  # refused, never served the entry
        s4, x4, _, _ = self.req("tenant-x", "POST", "/collections/a/points/query", q)
        self.assertEqual((s4, x4), (200, "MISS"))  # another tenant: its own entry
        # a read naming another collection (lookup_from) needs access to it too
        rec = {"query": {"recommend": {"positive": [1]}}, "limit": 2,
               "lookup_from": {"collection": "b"}}
        s5, x5, d5, _ = self.req("reader-a", "POST", "/collections/a/points/query", rec,
                                 {"x-request-id": "aud-lookup"})
        self.assertEqual(s5, 403, d5)
        self.assertEqual(d5["status"]["error"], "Forbidden: Access to collection b is required")
        line = self.wait_lines(self.audit, ("aud-lookup",))["aud-lookup"]
        self.assertEqual((line["status"], line["error"]),
                         (403, "Forbidden: Access to collection b is required"))

    def test_audit_log_and_sighup_reopen(self):
        self.req("reader-a", "PUT", "/collections/a/points", {"points": []}, {"x-request-id": "aud-1"})
        up = {"points": [{"id": 11, "vector": [1, 1, 1, 1], "payload": {"c": "a"}}]}
        self.req("writer-a", "PUT", "/collections/a/points?wait=true", up, {"x-request-id": "aud-2"})
        lines = self.wait_lines(self.audit, ("aud-1", "aud-2"))
        refused = lines["aud-1"]
        self.assertEqual((refused["key"], refused["status"], refused["collection"],
                          refused["route"]), ("reader-a", 403, "a", "upsert_points"))
        self.assertEqual(refused["error"], "Forbidden: Write access to collection a is required")
        self.assertEqual((lines["aud-2"]["key"], lines["aud-2"]["status"]), ("writer-a", 200))
        self.assertNotIn("key-writer-a", read_text(self.audit))  # never the secret
        rotated = self.audit + ".1"
        os.rename(self.audit, rotated)
        os.kill(self.gw.pid, signal.SIGHUP)
        try:
            for i in range(200):
                self.req(None, "GET", "/collections/a", extra={"x-request-id": "aud-3-%d" % i})
                if "aud-3" in read_text(self.audit):
                    break
                time.sleep(0.02)
            self.assertIn("aud-3", read_text(self.audit))
        finally:
            os.unlink(rotated)

    @staticmethod
    def wait_lines(path, ids):
        for _ in range(250):
            found = {}
            for line in read_text(path).splitlines():
                doc = json.loads(line)
                if doc["request_id"] in ids:
                    found[doc["request_id"]] = doc
            if len(found) == len(ids):
                return found
            time.sleep(0.02)
        raise AssertionError("audit lines missing: %s" % read_text(path))


class RateLimitTest(unittest.TestCase):
    """Per-key token buckets, counted: one worker, 1 request a minute after a burst of 3, so no
    refill can happen within the test."""

    @classmethod
    def setUpClass(cls):
        cls.up = harness.start_fake_qdrant("--api-key", SECRET)
        setup_collections(cls.up.port)
        sets = ["upstream.api_key=" + SECRET, "cache.enabled=false"]
        for name in ("limited", "other"):
            sets += ["auth.keys.%s.sha256=%s" % (name, key_hash("key-" + name)),
                     "auth.keys.%s.role=write" % name]
        sets += ["auth.keys.limited.rate.reads=1", "auth.keys.limited.rate.writes=1",
                 "auth.keys.limited.rate.burst=3"]
        cls.gw = harness.start_gateway(cls.up.port, *sets, workers=1)

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.up.cleanup()

    def test_exact_burst_then_429(self):
        c = harness.HttpClient(self.gw.port, headers={"api-key": "key-limited"})
        o = harness.HttpClient(self.gw.port, headers={"api-key": "key-other"})
        try:
            reads = [c.request("POST", "/collections/a/points/query", SEARCH) for _ in range(5)]
            self.assertEqual([r[0] for r in reads], [200, 200, 200, 429, 429])
            s, h, b = reads[3]
            self.assertEqual(h.get("retry-after"), "60")
            self.assertRegex(json.loads(b)["status"]["error"],
                             r"^Rate limiting exceeded: Read rate limit exceeded: Operation "
                             r"requires 1 tokens but only 0\.0 were available\. Retry after 60s$")
            # writes have their own bucket
            up = {"points": [{"id": 3, "vector": [1, 0, 0, 0]}]}
            writes = [c.request("PUT", "/collections/a/points?wait=true", up)[0] for _ in range(4)]
            self.assertEqual(writes, [200, 200, 200, 429])
            # another key is not limited by this one's bucket
            self.assertEqual([o.request("GET", "/collections/a")[0] for _ in range(6)], [200] * 6)
        finally:
            c.close()
            o.close()


class ValueExistsTest(JwtGateway):
    """A token with value_exists is valid while its point exists: only Qdrant can tell, so its
    reads never take a cached answer (or another client's in flight)."""

    def search(self, port, token):
        c = harness.HttpClient(port)
        try:
            s, h, b = c.request("POST", "/collections/a/points/query", SEARCH,
                                {"authorization": "Bearer " + token})
        finally:
            c.close()
        return s, {k.lower(): v for k, v in h.items()}.get("x-cache"), b

    def test_revoked_token_never_served_from_cache(self):
        ve = jwt({"access": [{"collection": "a", "access": "r"}],
                  "value_exists": {"collection": "a", "matches": [{"key": "n", "value": 5}]}})
        reader = TOKENS["global_r"]
        s, x, first = self.search(self.gw.port, reader)
        self.assertEqual((s, x), (200, "MISS"))
        s, x, b = self.search(self.gw.port, reader)
        self.assertEqual((s, x, b), (200, "HIT", first))
        s, x, b = self.search(self.gw.port, ve)  # valid: Qdrant answers it, not the cache
        self.assertEqual(s, 200, b)
        self.assertNotEqual(x, "HIT")
        self.assertEqual(normalise(s, b), normalise(*self.search(self.up.port, ve)[::2]))
        # The point goes (straight at Qdrant, so the gateway's entry stays): the token is stale.
        c = harness.HttpClient(self.up.port, headers={"api-key": SECRET})
        s, _, b = c.request("POST", "/collections/a/points/delete?wait=true", {"points": [5]})
        c.close()
        self.assertEqual(s, 200, b)
        direct = self.search(self.up.port, ve)
        self.assertEqual((direct[0], direct[2]), (401, b"Invalid JWT, stateful validation failed"))
        s, x, b = self.search(self.gw.port, ve)
        self.assertEqual((s, b), (401, b"Invalid JWT, stateful validation failed"))
        self.assertEqual(self.search(self.gw.port, reader)[1], "HIT")  # the entry was there


if __name__ == "__main__":
    harness.main()

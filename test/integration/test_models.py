# The gateway API for model services end to end: real fake_qdrant, real gateways configured
# with models, real clients. Searches and batches compared with direct Qdrant queries, the
# cache (hits, invalidation by writes, coalescing), every validation error, model states,
# collections, upstream failures and timeouts, credentials, HTTP/2, clients that go away.
import json
import os
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import harness

MODELS_YAML = """
models:
  mini:
    collection: docs
    dimension: 4
    default_limit: 3
    max_limit: 20
  img:
    collection: pics
    vector: clip
    dimension: 3
    default_limit: 2
    max_limit: 5
  wrongdim:
    collection: docs
    dimension: 5
  ghost:
    collection: nowhere
    dimension: 4
  wrongvec:
    collection: pics
    vector: nope
    dimension: 3
"""

SEARCH = "/api/v1/models/%s/vectors/search"
BATCH = "/api/v1/models/%s/vectors/search/batch"


def write_config(text):
    f = tempfile.NamedTemporaryFile("w", prefix="gw-models-", suffix=".yaml", delete=False)
    f.write(text)
    f.close()
    return f.name


def setup_collections(port, headers=None):
    c = harness.HttpClient(port, headers=headers)
    for name, vectors in (("docs", {"size": 4, "distance": "Dot"}),
                          ("pics", {"clip": {"size": 3, "distance": "Cosine"},
                                    "other": {"size": 2, "distance": "Dot"}})):
        s, _, b = c.request("PUT", "/collections/" + name, {"vectors": vectors})
        assert s == 200, b
    docs = [{"id": i, "vector": [i % 5 + 1, i % 3 + 0.5, (i * 7) % 11 / 10, 1],
             "payload": {"n": i, "g": i % 3, "tag": "t%d" % (i % 4)}} for i in range(30)]
    pics = [{"id": i, "vector": {"clip": [i % 4 + 0.1, i % 7 - 3, 1.5], "other": [1, i]},
             "payload": {"n": i}} for i in range(12)]
    for name, pts in (("docs", docs), ("pics", pics)):
        s, _, b = c.request("PUT", "/collections/%s/points?wait=true" % name, {"points": pts})
        assert s == 200, b
    c.close()


def wait_caching(port, headers=None):
    harness.wait_caching(port, coll="docs", headers=headers)


def blackhole():
    """A listening socket that never accepts: connections hang like an upstream that froze."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((harness.LOOPBACK, 0))
    s.listen(64)
    return s


class Api(harness.CacheClient):
    """A CacheClient that knows the model search path."""

    def search(self, model, body, headers=None):
        return self.req("POST", SEARCH % model, body, headers)


def hits_from_points(points, payload):
    out = []
    for p in points:
        h = {"id": p["id"], "score": p["score"]}
        if payload:
            h["payload"] = p.get("payload", {})
        out.append(h)
    return out


class ModelsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up = harness.start_fake_qdrant()
        setup_collections(cls.up.port)
        cls.conf = write_config(MODELS_YAML)
        cls.gw = harness.start_gateway(cls.up.port, config=cls.conf)
        cls.api = Api(cls.gw.port)
        cls.direct = harness.HttpClient(cls.up.port)
        wait_caching(cls.gw.port)

    @classmethod
    def tearDownClass(cls):
        cls.api.close()
        cls.direct.close()
        cls.gw.cleanup()
        cls.up.cleanup()
        os.unlink(cls.conf)

    def test_counted_once_in_metrics(self):
        # The inner Qdrant query a model search makes is not a client request: /metrics counts
        # the call once, as gateway_api, and no read at all.
        from test_metrics import scrape, value
        api = {"route_class": "gateway_api", "method": "POST", "code": "200"}
        reads = {"route_class": "read", "method": "POST", "code": "200"}
        before = scrape(self.gw.port)
        s, _, doc, _ = self.api.search("mini", {"query_vector": [0.5, 0.1, 0.2, 0.3]})
        self.assertEqual(s, 200, doc)
        after = scrape(self.gw.port)
        name = "qdrant_gateway_http_requests_total"
        self.assertEqual((value(after, name, api) or 0) - (value(before, name, api) or 0), 1)
        self.assertEqual((value(after, name, reads) or 0) - (value(before, name, reads) or 0), 0)

    def upstream(self, op="query_points"):
        return harness.fake_stats(self.up.port)["requests"].get(op, 0)

    def direct_query(self, coll, body):
        s, doc, _ = self.direct.json("POST", "/collections/%s/points/query" % coll, body)
        self.assertEqual(s, 200, doc)
        return doc["result"]["points"]

    def check_search(self, model, coll, using, body, default_limit=3):
        s, x, doc, h = self.api.search(model, body)
        self.assertEqual(s, 200, doc)
        self.assertIn(x, ("MISS", "HIT"))
        self.assertEqual(h.get("content-type"), "application/json")
        self.assertEqual(doc["status"], "ok")
        self.assertIsInstance(doc["time"], float)
        self.assertEqual(doc["result"]["model"], model)
        self.assertEqual(doc["result"]["collection"], coll)
        q = {"query": body["query_vector"], "limit": default_limit}
        if using:
            q["using"] = using
        for k in ("limit", "filter", "with_payload", "score_threshold", "offset"):
            if k in body:
                q[k] = body[k]
        payload = body.get("with_payload") not in (None, False)
        want = hits_from_points(self.direct_query(coll, q), payload)
        self.assertEqual(doc["result"]["hits"], want, body)
        return doc["result"]["hits"]

    def test_search_matches_direct_query(self):
        bodies = [
            {"query_vector": [0.1, 0.2, 0.3, 0.4]},
            {"query_vector": [0.1, 0.2, 0.3, 0.4], "limit": 20, "with_payload": True},
            {"query_vector": [1, 0, 0, 0], "limit": 5, "with_payload": False},
            {"query_vector": [1, 1, 1, 1], "limit": 10, "with_payload": ["g"],
             "filter": {"must": [{"key": "g", "match": {"value": 1}}]}},
            {"query_vector": [0.5, 0.5, 0.5, 0.5], "limit": 4, "offset": 3},
            {"query_vector": [0.5, 0.5, 0.5, 0.5], "limit": 20, "score_threshold": 4.5},
        ]
        for body in bodies:
            hits = self.check_search("mini", "docs", None, body)
            self.assertTrue(hits or "score_threshold" in body)
        # defaults: default_limit 3, no payload
        hits = self.check_search("mini", "docs", None, {"query_vector": [2, 1, 0, 1]})
        self.assertEqual(len(hits), 3)
        self.assertNotIn("payload", hits[0])
        # a threshold above every score gives no hits
        self.assertEqual(self.check_search("mini", "docs", None,
                                           {"query_vector": [0.01, 0, 0, 0],
                                            "score_threshold": 1000}), [])

    def test_named_vector(self):
        for body in ({"query_vector": [0.3, -1, 2]},
                     {"query_vector": [1, 1, 1], "limit": 5, "with_payload": True}):
            hits = self.check_search("img", "pics", "clip", body, default_limit=2)
            self.assertEqual(len(hits), body.get("limit", 2))

    def test_cache_hit_then_write_invalidates(self):
        body = {"query_vector": [0.77, 0.11, 0.5, 0.3], "limit": 4, "with_payload": True}
        before = self.upstream()
        s1, x1, d1, _ = self.api.search("mini", body)
        s2, x2, d2, _ = self.api.search("mini", body)
        self.assertEqual((s1, x1), (200, "MISS"))
        self.assertEqual((s2, x2), (200, "HIT"))
        self.assertEqual(d1["result"], d2["result"])
        self.assertEqual(self.upstream() - before, 1)
        # a write through the gateway: the next search is fresh and sees it
        s, _, b = self.api.c.request("PUT", "/collections/docs/points?wait=true",
                                     {"points": [{"id": 999, "vector": [50, 50, 50, 50],
                                                  "payload": {"n": 999}}]})
        self.assertEqual(s, 200, b)
        try:
            s3, x3, d3, _ = self.api.search("mini", body)
            self.assertEqual((s3, x3), (200, "MISS"))
            self.assertEqual(d3["result"]["hits"][0]["id"], 999)
            self.assertEqual(self.upstream() - before, 2)
            self.assertEqual(self.api.search("mini", body)[1], "HIT")
        finally:
            s, _, b = self.api.c.request("POST", "/collections/docs/points/delete?wait=true",
                                         {"points": [999]})
            self.assertEqual(s, 200, b)
        self.assertEqual(self.api.search("mini", body)[1], "MISS")

    def test_cache_control_passes_through(self):
        body = {"query_vector": [0.9, 0.1, 0.9, 0.1], "limit": 2}
        self.assertEqual(self.api.search("mini", body)[1], "MISS")
        self.assertEqual(self.api.search("mini", body, {"Cache-Control": "no-cache"})[1], "MISS")
        self.assertEqual(self.api.search("mini", body)[1], "HIT")

    def test_batch(self):
        searches = [{"query_vector": [1, 2, 3]},
                    {"query_vector": [0, 1, 0], "limit": 5, "with_payload": True},
                    {"query_vector": [3, 3, -1], "filter": {"must": [{"key": "n", "range": {"gte": 4}}]}}]
        before = self.upstream("query_batch_points")
        for round_, want_x in ((0, "MISS"), (1, "HIT")):
            s, x, doc, _ = self.api.req("POST", BATCH % "img", {"searches": searches})
            self.assertEqual((s, x), (200, want_x), doc)
            self.assertEqual(doc["result"]["model"], "img")
            self.assertEqual(doc["result"]["collection"], "pics")
            batches = doc["result"]["batches"]
            self.assertEqual(len(batches), 3)
            for one, got in zip(searches, batches):
                q = {"query": one["query_vector"], "using": "clip",
                     "limit": one.get("limit", 2)}
                for k in ("filter", "with_payload"):
                    if k in one:
                        q[k] = one[k]
                want = hits_from_points(self.direct_query("pics", q), one.get("with_payload"))
                self.assertEqual(got, {"hits": want})
        self.assertEqual(self.upstream("query_batch_points") - before, 1)

    def check_error(self, method, path, body, status, message, raw=False):
        hdrs = {"Content-Type": "application/json"} if raw else None
        s, _, doc, h = self.api.req(method, path, body, hdrs)
        self.assertEqual(s, status, (path, body, doc))
        self.assertEqual(h.get("content-type"), "application/json")
        self.assertEqual(doc["status"]["error"], message, body)
        self.assertIsInstance(doc["time"], float)

    def test_validation_errors(self):
        fe, wi = "Format error in JSON body: ", "Wrong input: "
        v4 = [0.1, 0.2, 0.3, 0.4]
        cases = [
            ({"query_vector": [1, 2, 3]}, wi + "model mini expects 4 dimensions, got 3"),
            ({"query_vector": v4, "limit": 21}, wi + "limit 21 is over the maximum of 20 for model mini"),
            ({"query_vector": v4, "limit": 0}, wi + "limit must be at least 1, got 0"),
            ({"query_vector": v4, "limit": -3}, wi + "limit must be at least 1, got -3"),
            ({"query_vector": [1, "2", 3, 4]}, wi + "query_vector[1]: expected a number, got a string"),
            ({"query_vector": [1, 2, None, 4]}, wi + "query_vector[2]: expected a number, got null"),
            ({"query_vector": [1, 2, 3, 1e39]}, wi + "query_vector[3]: 1e+39 is not a finite 32-bit float"),
            ({"query_vector": v4, "top": 3}, fe + "unknown field `top`, expected one of `query_vector`, "
             "`limit`, `filter`, `with_payload`, `score_threshold`, `offset`"),
            ({"limit": 3}, fe + "missing field `query_vector`"),
            ({"query_vector": "v"}, fe + "query_vector: expected an array of numbers, got a string"),
            ({"query_vector": v4, "filter": "x"}, fe + "filter: expected an object, got a string"),
            ({"query_vector": v4, "offset": -1}, wi + "offset must be 0 or more, got -1"),
            ({"query_vector": v4, "score_threshold": "hi"}, fe + "score_threshold: expected a number, got a string"),
            ([1, 2], fe + "expected a JSON object, got an array"),
        ]
        before = self.upstream()
        for body, msg in cases:
            self.check_error("POST", SEARCH % "mini", body, 400, msg)
        self.check_error("POST", SEARCH % "mini", '{"query_vector":[1,2,3,4]', 400,
                         fe + "'}' expected near end of file at line 1 column 25", raw=True)
        self.check_error("POST", SEARCH % "mini", "not json", 400,
                         fe + "invalid token near 'not' at line 1 column 3", raw=True)
        self.check_error("POST", SEARCH % "mini", "", 400,
                         fe + "EOF while parsing a value at line 1 column 0", raw=True)
        self.assertEqual(self.upstream(), before, "nothing invalid reached Qdrant")

    def test_batch_validation_errors(self):
        fe, wi = "Format error in JSON body: ", "Wrong input: "
        ok = {"query_vector": [1, 2, 3]}
        cases = [
            ({"searches": [ok, ok, {"query_vector": [1, 2]}]},
             wi + "searches[2]: model img expects 3 dimensions, got 2"),
            ({"searches": [ok, {"query_vector": [1, 2, 3], "limit": 6}]},
             wi + "searches[1]: limit 6 is over the maximum of 5 for model img"),
            ({"searches": [{"query_vector": [1, "x", 3]}]},
             wi + "searches[0]: query_vector[1]: expected a number, got a string"),
            ({"searches": [ok, {"vector": [1, 2, 3]}]},
             fe + "searches[1]: unknown field `vector`, expected one of `query_vector`, `limit`, "
             "`filter`, `with_payload`, `score_threshold`, `offset`"),
            ({"searches": []}, wi + "searches must hold 1 to 100 searches, got 0"),
            ({"searches": [ok] * 101}, wi + "searches must hold 1 to 100 searches, got 101"),
            ({"search": [ok]}, fe + "unknown field `search`, expected `searches`"),
            ({}, fe + "missing field `searches`"),
        ]
        before = self.upstream("query_batch_points")
        for body, msg in cases:
            self.check_error("POST", BATCH % "img", body, 400, msg)
        s, _, doc, _ = self.api.req("POST", BATCH % "img", {"searches": [ok] * 100})
        self.assertEqual(s, 200, doc)
        self.assertEqual(len(doc["result"]["batches"]), 100)
        self.assertEqual(self.upstream("query_batch_points") - before, 1)

    def test_routes_methods_and_unknown_models(self):
        v4 = {"query_vector": [1, 2, 3, 4]}
        self.check_error("POST", SEARCH % "nope", v4, 404, "Not found: model nope is not configured")
        self.check_error("POST", BATCH % "nope", {"searches": [v4]}, 404,
                         "Not found: model nope is not configured")
        for method in ("GET", "PUT", "DELETE"):
            self.check_error(method, SEARCH % "mini", None, 405, "Method not allowed: use POST")
        self.check_error("GET", BATCH % "mini", None, 405, "Method not allowed: use POST")
        for path in ("/api/v1/models", "/api/v1/collections"):
            self.check_error("POST", path, {}, 405, "Method not allowed: use GET")
        # trailing slash as elsewhere; other paths under /api/v1/models are not routes
        s, _, doc, _ = self.api.req("POST", SEARCH % "mini" + "/", v4)
        self.assertEqual(s, 200, doc)
        s, _, doc, _ = self.api.req("POST", "/api/v1/models/mini/vectors/search/x", v4)
        self.assertEqual(s, 404)
        self.assertIn("no gateway API route", doc["status"]["error"])
        s, _, doc, _ = self.api.req("GET", "/api/v1/models/mini")
        self.assertEqual(s, 404)

    def test_upstream_errors_are_passed_on(self):
        s, x, doc, _ = self.api.search("ghost", {"query_vector": [1, 2, 3, 4]})
        self.assertEqual(s, 404, doc)
        self.assertEqual(doc["status"]["error"], "Not found: Collection `nowhere` doesn't exist!")
        self.assertEqual(x, "MISS")  # the inner answer's X-Cache
        # a filter Qdrant refuses: its status and text, as a direct query gets them
        bad = {"must": [{"key": "g", "match": {"nonsense": 1}}]}
        ds, ddoc, _ = self.direct.json("POST", "/collections/docs/points/query",
                                       {"query": [1, 2, 3, 4], "limit": 3, "filter": bad})
        self.assertGreaterEqual(ds, 400)
        s, _, doc, _ = self.api.search("mini", {"query_vector": [1, 2, 3, 4], "filter": bad})
        self.assertEqual(s, ds)
        # the same text, but for the position in the (translated) body
        self.assertEqual(doc["status"]["error"].split(" at line")[0],
                         ddoc["status"]["error"].split(" at line")[0])
        # wrong vector name in the model: Qdrant's own error
        s, _, doc, _ = self.api.search("wrongvec", {"query_vector": [1, 2, 3]})
        self.assertEqual(s, 400, doc)

    def test_list_models(self):
        s, x, doc, h = self.api.req("GET", "/api/v1/models")
        self.assertEqual(s, 200, doc)
        self.assertIsNone(x)
        self.assertEqual(doc["status"], "ok")
        models = {m["name"]: m for m in doc["result"]["models"]}
        self.assertEqual([m["name"] for m in doc["result"]["models"]],
                         ["mini", "img", "wrongdim", "ghost", "wrongvec"])
        self.assertEqual(models["mini"], {"name": "mini", "collection": "docs", "vector": "",
                                          "dimension": 4, "default_limit": 3, "max_limit": 20,
                                          "state": "ready", "detail": None})
        self.assertEqual(models["img"]["state"], "ready")
        self.assertEqual(models["img"]["vector"], "clip")
        self.assertEqual((models["img"]["default_limit"], models["img"]["max_limit"]), (2, 5))
        self.assertEqual(models["wrongdim"]["state"], "dimension mismatch")
        self.assertEqual(models["wrongdim"]["detail"],
                         "collection docs has 4-dimensional vectors, the model 5")
        self.assertEqual((models["wrongdim"]["default_limit"], models["wrongdim"]["max_limit"]),
                         (10, 100))
        self.assertEqual(models["ghost"]["state"], "collection missing")
        self.assertEqual(models["wrongvec"]["state"], "dimension mismatch")
        self.assertEqual(models["wrongvec"]["detail"], "collection pics has no vector named nope")
        s, _, doc, _ = self.api.req("HEAD", "/api/v1/models")
        self.assertEqual(s, 200)

    def test_list_collections(self):
        s, x, doc, _ = self.api.req("GET", "/api/v1/collections")
        self.assertEqual(s, 200, doc)
        got = {c["name"]: c for c in doc["result"]["collections"]}
        _, listing, _ = self.direct.json("GET", "/collections")
        self.assertEqual(sorted(got), sorted(c["name"] for c in listing["result"]["collections"]))
        for name in got:
            _, info, _ = self.direct.json("GET", "/collections/" + name)
            self.assertEqual(got[name]["points_count"], info["result"]["points_count"])
        self.assertEqual(got["docs"]["vectors"], {"size": 4, "distance": "Dot"})
        self.assertEqual(got["docs"]["models"], ["mini", "wrongdim"])
        self.assertEqual(got["pics"]["vectors"], {"clip": {"size": 3, "distance": "Cosine"},
                                                  "other": {"size": 2, "distance": "Dot"}})
        self.assertEqual(got["pics"]["models"], ["img", "wrongvec"])
        self.assertNotIn("error", got["docs"])

    def test_http2(self):
        body = {"query_vector": [0.4, 0.3, 0.2, 0.1], "limit": 5, "with_payload": True}
        s, h, b = harness.curl(self.gw.port, "POST", SEARCH % "mini", body,
                               extra=["--http2-prior-knowledge"])
        self.assertEqual(s, 200, b)
        doc = json.loads(b)
        want = hits_from_points(self.direct_query("docs", {"query": body["query_vector"],
                                                           "limit": 5, "with_payload": True}), True)
        self.assertEqual(doc["result"]["hits"], want)
        self.assertIn(h.get("x-cache"), ("MISS", "HIT"))
        s, _, b = harness.curl(self.gw.port, "GET", "/api/v1/models",
                               extra=["--http2-prior-knowledge"])
        self.assertEqual(s, 200, b)

    def test_many_at_once(self):
        """Concurrent searches of both kinds and listings on several connections."""
        errors = []

        def worker(i):
            api = Api(self.gw.port)
            try:
                for j in range(15):
                    v = [(i + j) % 7 + 0.5, 1, j % 3, 0.25]
                    s, _, doc, _ = api.search("mini", {"query_vector": v, "limit": 5})
                    if s != 200 or len(doc["result"]["hits"]) != 5:
                        errors.append((s, doc))
                    if j % 5 == 0:
                        s, _, doc, _ = api.req("GET", "/api/v1/models")
                        if s != 200:
                            errors.append((s, doc))
            finally:
                api.close()

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])


class SlowUpstreamTest(unittest.TestCase):
    """Searches that wait on a slow Qdrant: coalescing, and clients that leave mid-way."""

    @classmethod
    def setUpClass(cls):
        # Far longer than the leaving clients' --max-time, so that a slow curl start on a loaded
        # machine cannot let a leaver see the answer after all.
        cls.up = harness.start_fake_qdrant("--latency-ms", "1500")
        setup_collections(cls.up.port)
        cls.conf = write_config(MODELS_YAML)
        cls.gw = harness.start_gateway(cls.up.port, config=cls.conf, workers=1)
        wait_caching(cls.gw.port)

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.up.cleanup()
        os.unlink(cls.conf)

    def curl_search(self, body, timeout):
        argv = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", str(timeout),
                "-X", "POST", "-H", "Content-Type: application/json", "--data-binary",
                json.dumps(body), "http://%s:%d%s" % (harness.LOOPBACK, self.gw.port, SEARCH % "mini")]
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def queries(self):
        return harness.fake_stats(self.up.port)["requests"].get("query_points", 0)

    def test_waiters_leave(self):
        body = {"query_vector": [0.6, 0.6, 0.1, 0.2], "limit": 3}
        before = self.queries()
        leader = self.curl_search(body, 10)
        time.sleep(0.1)  # it leads the flight; the others wait for its answer
        stay = [self.curl_search(body, 10) for _ in range(2)]
        leave = [self.curl_search(body, 0.2) for _ in range(3)]
        codes = [p.communicate()[0].decode() for p in [leader] + stay + leave]
        self.assertEqual(codes, ["200"] * 3 + ["000"] * 3)  # 000: curl gave up, client gone
        self.assertEqual(self.queries() - before, 1, "identical searches were coalesced")

    def test_leader_leaves(self):
        body = {"query_vector": [0.1, 0.6, 0.1, 0.7], "limit": 3}
        leader = self.curl_search(body, 0.2)
        time.sleep(0.1)
        stay = [self.curl_search(body, 10) for _ in range(2)]
        codes = [p.communicate()[0].decode() for p in [leader] + stay]
        # the waiters get no answer to share when the leader's transfer is cancelled: they
        # go to Qdrant on their own
        self.assertEqual(codes, ["000", "200", "200"])
        s, _, doc = harness.HttpClient(self.gw.port).json("POST", SEARCH % "mini", body)
        self.assertEqual(s, 200, doc)

    def test_all_clients_leave(self):
        procs = [self.curl_search({"query_vector": [i, 1, 1, 1], "limit": 2}, 0.1)
                 for i in range(5)]
        procs.append(subprocess.Popen(
            ["curl", "-s", "-o", "/dev/null", "--max-time", "0.1", "--http2-prior-knowledge",
             "-X", "POST", "--data-binary", json.dumps({"searches": [{"query_vector": [1, 2, 3]}]}),
             "http://%s:%d%s" % (harness.LOOPBACK, self.gw.port, BATCH % "img")]))
        for p in procs:
            p.wait()
        time.sleep(1.7)  # the upstream answers arrive after their clients left
        s, _, doc = harness.HttpClient(self.gw.port).json("GET", "/api/v1/models")
        self.assertEqual(s, 200, doc)


class UpstreamFailureTest(unittest.TestCase):
    """Qdrant down (connection refused) and Qdrant frozen (connections never answered)."""

    @classmethod
    def setUpClass(cls):
        cls.conf = write_config(MODELS_YAML)
        cls.down_port = harness.free_port()  # nothing listens there
        cls.down = harness.start_gateway(cls.down_port, config=cls.conf)
        cls.hole = blackhole()
        cls.frozen = harness.start_gateway(cls.hole.getsockname()[1], "upstream.connect_timeout=200ms",
                                           "upstream.timeout=4s", config=cls.conf)

    @classmethod
    def tearDownClass(cls):
        cls.down.cleanup()
        cls.frozen.cleanup()
        cls.hole.close()
        os.unlink(cls.conf)

    def test_down(self):
        api = Api(self.down.port)
        s, _, doc, _ = api.search("mini", {"query_vector": [1, 2, 3, 4]})
        self.assertEqual(s, 502, doc)
        self.assertTrue(doc["status"]["error"].startswith("Bad gateway: upstream"), doc)
        s, _, doc, _ = api.req("POST", BATCH % "mini", {"searches": [{"query_vector": [1, 2, 3, 4]}]})
        self.assertEqual(s, 502, doc)
        # validation needs no upstream
        s, _, doc, _ = api.search("mini", {"query_vector": [1]})
        self.assertEqual(s, 400, doc)
        s, _, doc, _ = api.req("GET", "/api/v1/models")
        self.assertEqual(s, 200, doc)
        for m in doc["result"]["models"]:
            self.assertEqual(m["state"], "unknown")
            self.assertIn("unreachable", m["detail"])
        s, _, doc, _ = api.req("GET", "/api/v1/collections")
        self.assertEqual(s, 502, doc)
        api.close()

    def test_frozen(self):
        api = Api(self.frozen.port)
        t0 = time.monotonic()
        s, _, doc, _ = api.req("GET", "/api/v1/models")
        elapsed = time.monotonic() - t0
        self.assertEqual(s, 200, doc)
        for m in doc["result"]["models"]:
            self.assertEqual((m["state"], m["detail"]), ("unknown", "no answer from upstream in time"))
        # bounded by connect_timeout + 1s (1.2s), well before upstream.timeout (4s)
        self.assertLess(elapsed, 3.5)
        s, _, doc, _ = api.req("GET", "/api/v1/collections")
        self.assertEqual(s, 504, doc)
        self.assertEqual(doc["status"]["error"], "Gateway timeout: no answer from upstream in time")
        s, _, doc, _ = api.search("mini", {"query_vector": [1, 2, 3, 4]})
        self.assertEqual(s, 504, doc)
        self.assertTrue(doc["status"]["error"].startswith("Gateway timeout"), doc)
        api.close()


class CredentialsTest(unittest.TestCase):
    """Qdrant with an api-key: the client's key (api-key or Authorization) is passed through."""

    @classmethod
    def setUpClass(cls):
        cls.up = harness.start_fake_qdrant("--api-key", "k1")
        setup_collections(cls.up.port, headers={"api-key": "k1"})
        cls.conf = write_config(MODELS_YAML)
        cls.gw = harness.start_gateway(cls.up.port, config=cls.conf)

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.up.cleanup()
        os.unlink(cls.conf)

    def test_key_passed_through(self):
        api = Api(self.gw.port)
        body = {"query_vector": [1, 2, 3, 4], "limit": 2}
        s, _, doc, _ = api.search("mini", body)
        self.assertEqual(s, 401, doc)
        self.assertEqual(doc["status"]["error"],
                         "Must provide an API key or an Authorization bearer token")
        s, _, doc, _ = api.search("mini", body, {"api-key": "wrong"})
        self.assertEqual(s, 401, doc)
        for hdrs in ({"api-key": "k1"}, {"Authorization": "Bearer k1"}):
            for _ in range(2):  # the second may be a hit: only for the same key
                s, _, doc, _ = api.search("mini", body, hdrs)
                self.assertEqual(s, 200, doc)
                self.assertEqual(len(doc["result"]["hits"]), 2)
        s, _, doc, _ = api.search("mini", body)
        self.assertEqual(s, 401, doc)  # a cached answer never reaches a client without the key
        s, _, doc, _ = api.req("GET", "/api/v1/models")
        self.assertEqual(s, 200, doc)
        self.assertEqual(doc["result"]["models"][0]["state"], "unknown")
        self.assertIn("401", doc["result"]["models"][0]["detail"])
        s, _, doc, _ = api.req("GET", "/api/v1/models", headers={"api-key": "k1"})
        self.assertEqual(doc["result"]["models"][0]["state"], "ready")
        s, _, doc, _ = api.req("GET", "/api/v1/collections")
        self.assertEqual(s, 401, doc)
        s, _, doc, _ = api.req("GET", "/api/v1/collections", headers={"api-key": "k1"})
        self.assertEqual(s, 200, doc)
        self.assertEqual(sorted(c["name"] for c in doc["result"]["collections"]), ["docs", "pics"])
        api.close()


class NoCacheTest(unittest.TestCase):
    """cache.enabled: false: searches go straight to Qdrant through the pool."""

    def test_search_without_cache(self):
        up = harness.start_fake_qdrant()
        conf = write_config(MODELS_YAML)
        gw = None
        try:
            setup_collections(up.port)
            gw = harness.start_gateway(up.port, "cache.enabled=false", config=conf)
            api = Api(gw.port)
            body = {"query_vector": [1, 2, 3, 4], "limit": 2, "with_payload": True}
            for _ in range(2):
                s, x, doc, _ = api.search("mini", body)
                self.assertEqual(s, 200, doc)
                self.assertIsNone(x)
            self.assertEqual(harness.fake_stats(up.port)["requests"]["query_points"], 2)
            api.close()
        finally:
            if gw:
                gw.cleanup()
            up.cleanup()
            os.unlink(conf)


if __name__ == "__main__":
    harness.main()

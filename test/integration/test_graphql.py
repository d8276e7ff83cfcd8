# GraphQL at /graphql end to end: real fake_qdrant, a real gateway, real clients. Every read is
# compared with the equivalent REST answer through the same gateway; a mutation invalidates a
# cached search; GET vs POST, media types and status codes per GraphQL over HTTP; parse,
# validation and Qdrant errors with their locations; and graphql-js (test/integration/node)
# builds a client schema from the gateway's introspection answer and validates every query
# used here, agreeing with the gateway on which are valid and on the messages of the others.
import json
import os
import shutil
import subprocess
import unittest
import urllib.parse

import harness

NODE_DIR = os.path.join(harness.SOURCE_DIR, "test", "integration", "node")
GRJ = "application/graphql-response+json"

SEARCH = """query Search($v: [Float!]!, $n: Int = 3, $f: JSON) {
  hits: search(collection: "docs", vector: $v, limit: $n, filter: $f) { id score payload }
}"""
READS = """{
  one: collection(name: "docs") { name status pointsCount config }
  missing: collection(name: "nowhere") { name }
  collections { name pointsCount }
  points(collection: "docs", ids: [3, 1], withVector: true) { id payload vector }
  page: scroll(collection: "docs", limit: 4, offset: 2) { points { id payload } nextPageOffset }
  count(collection: "docs", filter: {must: [{key: "g", match: {value: 1}}]})
  approx: count(collection: "docs", exact: false)
  reco: recommend(collection: "docs", positive: [1, 2], negative: [7], limit: 3) { id score }
  q: query(collection: "docs", query: [0.5, 1, 0, 0.25], limit: 2, withPayload: false) { id score }
}"""
FRAGMENTS = """query ($p: Boolean!) {
  search(collection: "docs", vector: [1, 0, 0, 1], limit: 2) {
    ...Ids
    payload @include(if: $p)
    ... on ScoredPoint { kind: __typename }
  }
  __typename
}
fragment Ids on ScoredPoint { id score @skip(if: $p) }"""
VALID = [SEARCH, READS, FRAGMENTS, "{ __typename }",
         "mutation Up($pts: [PointInput!]!) { upsertPoints(collection: \"docs\", points: $pts) "
         "{ status operationId } }"]
INVALID = [
    "{ collections { name zzzzzz } }",  # no "Did you mean": the gateway makes no suggestions
    "query ($x: Int) { count(collection: \"docs\") }",
    "{ search(collection: \"docs\", vector: [\"a\"]) { id } }",
    "{ collection { name } }",
    "{ a: count(collection: \"a\") a: count(collection: \"b\") }",
    "{ ...F } fragment F on Query { ...F }",
    "{ points(collection: \"docs\", ids: [1]) }",
    "{ count(collection: \"docs\"",
]


def setup_docs(port):
    c = harness.HttpClient(port)
    s, _, b = c.request("PUT", "/collections/docs", {"vectors": {"size": 4, "distance": "Cosine"}})
    assert s == 200, b
    pts = [{"id": i, "vector": [i % 5 + 0.5, i % 3 - 1, 0.25 * i, 1],
            "payload": {"n": i, "g": i % 3}} for i in range(30)]
    s, _, b = c.request("PUT", "/collections/docs/points?wait=true", {"points": pts})
    assert s == 200, b
    c.close()


class Gql:
    """One keep-alive connection to /graphql."""

    def __init__(self, port):
        self.c = harness.HttpClient(port)

    def post(self, query, variables=None, op=None, accept=None):
        body = {"query": query}
        if variables is not None:
            body["variables"] = variables
        if op:
            body["operationName"] = op
        s, h, b = self.c.request("POST", "/graphql", body, {"Accept": accept} if accept else None)
        return s, h, json.loads(b)

    def get(self, query, variables=None, accept=None, method="GET"):
        qs = {"query": query}
        if variables is not None:
            qs["variables"] = json.dumps(variables)
        s, h, b = self.c.request(method, "/graphql?" + urllib.parse.urlencode(qs),
                                 headers={"Accept": accept} if accept else None)
        return s, h, (json.loads(b) if b else None)

    def close(self):
        self.c.close()


class GraphqlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up = harness.start_fake_qdrant()
        setup_docs(cls.up.port)
        cls.gw = harness.start_gateway(cls.up.port)
        harness.wait_caching(cls.gw.port, coll="docs")
        cls.g = Gql(cls.gw.port)
        cls.rest = harness.CacheClient(cls.gw.port)

    @classmethod
    def tearDownClass(cls):
        cls.g.close()
        cls.rest.close()
        cls.gw.cleanup()
        cls.up.cleanup()

    def rest_result(self, method, path, body=None):
        s, _, doc, _ = self.rest.req(method, path, body)
        self.assertEqual(s, 200, doc)
        return doc["result"]

    def ok(self, query, variables=None):
        s, h, doc = self.g.post(query, variables)
        self.assertEqual(s, 200, doc)
        self.assertTrue(h["content-type"].startswith("application/json"), h)
        self.assertNotIn("errors", doc, doc)
        return doc["data"], h

    # ---- results equal the REST answers ------------------------------------------------------

    def test_search_equals_rest(self):
        v = [1, 0.5, 0, 1]
        f = {"must": [{"key": "g", "match": {"value": 2}}]}
        data, _ = self.ok(SEARCH, {"v": v, "n": 5, "f": f})
        rest = self.rest_result("POST", "/collections/docs/points/search",
                                {"vector": v, "limit": 5, "filter": f, "with_payload": True})
        self.assertEqual(data["hits"], [{"id": p["id"], "score": p["score"],
                                         "payload": p["payload"]} for p in rest])
        self.assertEqual(len(data["hits"]), 5)

    def test_reads_equal_rest(self):
        data, _ = self.ok(READS)
        info = self.rest_result("GET", "/collections/docs")
        self.assertEqual(data["one"], {"name": "docs", "status": info["status"],
                                       "pointsCount": info["points_count"],
                                       "config": info["config"]})
        self.assertIsNone(data["missing"])
        names = [c["name"] for c in self.rest_result("GET", "/collections")["collections"]]
        self.assertEqual([c["name"] for c in data["collections"]], names)
        self.assertIn({"name": "docs", "pointsCount": info["points_count"]}, data["collections"])
        pts = self.rest_result("POST", "/collections/docs/points",
                               {"ids": [3, 1], "with_payload": True, "with_vector": True})
        self.assertEqual(data["points"], [{"id": p["id"], "payload": p["payload"],
                                           "vector": p["vector"]} for p in pts])
        page = self.rest_result("POST", "/collections/docs/points/scroll",
                                {"limit": 4, "offset": 2, "with_payload": True})
        self.assertEqual(data["page"], {"points": [{"id": p["id"], "payload": p["payload"]}
                                                   for p in page["points"]],
                                        "nextPageOffset": page["next_page_offset"]})
        cnt = self.rest_result("POST", "/collections/docs/points/count",
                               {"filter": {"must": [{"key": "g", "match": {"value": 1}}]},
                                "exact": True})
        self.assertEqual(data["count"], cnt["count"])
        self.assertEqual(data["approx"], 30)
        reco = self.rest_result("POST", "/collections/docs/points/recommend",
                                {"positive": [1, 2], "negative": [7], "limit": 3})
        self.assertEqual(data["reco"], [{"id": p["id"], "score": p["score"]} for p in reco])
        q = self.rest_result("POST", "/collections/docs/points/query",
                             {"query": [0.5, 1, 0, 0.25], "limit": 2})
        self.assertEqual(data["q"], [{"id": p["id"], "score": p["score"]} for p in q["points"]])

    def test_shaping_fragments_directives(self):
        data, _ = self.ok(FRAGMENTS, {"p": True})
        self.assertEqual(data["__typename"], "Query")
        self.assertEqual(list(data["search"][0]), ["id", "payload", "kind"])
        self.assertEqual(data["search"][0]["kind"], "ScoredPoint")
        data, _ = self.ok(FRAGMENTS, {"p": False})
        self.assertEqual(list(data["search"][0]), ["id", "score", "kind"])

    # ---- the cache ---------------------------------------------------------------------------

    def test_mutation_invalidates_cached_search(self):
        v = {"v": [0, 0, 1, 1], "n": 2}
        self.ok(SEARCH, v)
        first, h = self.ok(SEARCH, v)
        self.assertEqual(h.get("x-cache"), "HIT")
        # a write through GraphQL, that the search must see
        up = VALID[4]
        s, h, doc = self.g.post(up, {"pts": [{"id": 500, "vector": [0, 0, 1, 1],
                                              "payload": {"n": 500}}]})
        self.assertEqual(s, 200, doc)
        self.assertEqual(doc["data"]["upsertPoints"]["status"], "completed")
        after, h = self.ok(SEARCH, v)
        self.assertEqual(h.get("x-cache"), "MISS")
        self.assertEqual(after["hits"][0]["id"], 500)
        self.assertNotEqual(after, first)
        s, _, doc = self.g.post("mutation { deletePoints(collection: \"docs\", ids: [500]) "
                                "{ status } }")
        self.assertEqual(doc, {"data": {"deletePoints": {"status": "completed"}}})
        again, h = self.ok(SEARCH, v)
        self.assertEqual(h.get("x-cache"), "MISS")
        self.assertEqual(again, first)

    # ---- transport ---------------------------------------------------------------------------

    def test_get_equals_post(self):
        v = {"v": [1, 1, 0, 0]}
        s1, h1, post = self.g.post(SEARCH, v)
        s2, h2, get = self.g.get(SEARCH, v)
        self.assertEqual((s1, s2), (200, 200))
        self.assertEqual(post, get)
        self.assertTrue(h2["content-type"].startswith("application/json"))

    def test_mutation_over_get_refused(self):
        for accept in (None, GRJ):
            s, h, doc = self.g.get(VALID[4], {"pts": []}, accept=accept)
            self.assertEqual(s, 405, doc)
            self.assertEqual(h["allow"], "POST")
            self.assertIn("POST", doc["errors"][0]["message"])
        s, _, doc = self.g.post("{ count(collection: \"docs\") }")
        self.assertEqual(doc["data"]["count"], 30)  # nothing was written

    def test_bare_get_and_head_answer_sdl(self):
        s, h, b = self.g.c.request("GET", "/graphql")
        self.assertEqual(s, 200)
        self.assertTrue(h["content-type"].startswith("text/plain"))
        sdl = b.decode()
        self.assertIn("type Query {", sdl)
        self.assertIn("scalar PointId", sdl)
        s, h, b = self.g.c.request("HEAD", "/graphql")
        self.assertEqual((s, b), (200, b""))
        self.assertEqual(int(h["content-length"]), len(sdl.encode()))

    def test_media_types_and_statuses(self):
        # parse error: 200 as application/json, 400 as graphql-response+json
        s, h, doc = self.g.post("{ count(collection: ", accept="application/json")
        self.assertEqual(s, 200)
        self.assertNotIn("data", doc)
        s, h, doc = self.g.post("{ count(collection: ", accept=GRJ + ", application/json")
        self.assertEqual(s, 400)
        self.assertTrue(h["content-type"].startswith(GRJ))
        self.assertEqual(doc, {"errors": [{"message": "Syntax Error: Unexpected <EOF>.",
                                           "locations": [{"line": 1, "column": 21}]}]})
        # validation error: likewise
        s, h, doc = self.g.post("{ nope }", accept=GRJ)
        self.assertEqual(s, 400)
        s, h, doc = self.g.post("{ nope }")
        self.assertEqual(s, 200)
        # executed, with a field error: 200 for both
        s, h, doc = self.g.post("{ collection(name: \"docs\") { name } }", accept=GRJ)
        self.assertEqual((s, doc), (200, {"data": {"collection": {"name": "docs"}}}))
        # bad requests before GraphQL: 400 / 415 / 405 whatever the Accept
        s, h, b = self.g.c.request("POST", "/graphql", b"{not json",
                                   {"Content-Type": "application/json"})
        self.assertEqual(s, 400, b)
        s, h, b = self.g.c.request("POST", "/graphql", b"{}", {"Content-Type": "text/plain"})
        self.assertEqual(s, 415, b)
        s, h, b = self.g.c.request("PUT", "/graphql", {"query": "{ __typename }"})
        self.assertEqual(s, 405, b)
        self.assertEqual(h["allow"], "GET, POST, HEAD")

    # ---- errors ------------------------------------------------------------------------------

    def test_validation_errors_with_locations(self):
        s, _, doc = self.g.post("query {\n  collections {\n    name\n    nope\n  }\n}")
        self.assertEqual(doc, {"errors": [{"message": "Cannot query field \"nope\" on type "
                                           "\"Collection\".",
                                           "locations": [{"line": 4, "column": 5}]}]})

    def test_qdrant_errors(self):
        s, _, doc = self.g.post("{ ok: count(collection: \"docs\")\n"
                                "  c: collection(name: \"docs\") { name }\n"
                                "  bad: search(collection: \"nowhere\", vector: [1]) { id } }")
        self.assertEqual(s, 200)
        self.assertIsNone(doc["data"])  # search is non-null: its error nulls data
        err = doc["errors"][0]
        self.assertEqual(err["path"], ["bad"])
        self.assertEqual(err["locations"], [{"line": 3, "column": 3}])
        self.assertEqual(err["extensions"]["status"], 404)
        s, _, _, rest = self.rest.req("POST", "/collections/nowhere/points/search",
                                      {"vector": [1], "limit": 1})
        self.assertIn("nowhere", err["message"])
        # a bad vector: Qdrant's own 400 message
        s, _, doc = self.g.post("{ search(collection: \"docs\", vector: [1, 2]) { id } }")
        self.assertEqual(doc["errors"][0]["extensions"]["status"], 400)

    def test_variables_every_type(self):
        q = """query ($c: String!, $ids: [PointId!]!, $lim: Int, $th: Float, $wp: Boolean,
                      $f: JSON, $v: [Float!]!) {
          points(collection: $c, ids: $ids, withPayload: $wp) { id payload }
          search(collection: $c, vector: $v, limit: $lim, scoreThreshold: $th, filter: $f) { id }
        }"""
        data, _ = self.ok(q, {"c": "docs", "ids": 4, "lim": 2, "th": -1.0, "wp": False,
                              "f": None, "v": [1, 2, 3, 4]})
        self.assertEqual(data["points"], [{"id": 4, "payload": None}])
        self.assertEqual(len(data["search"]), 2)
        s, _, doc = self.g.post(q, {"c": "docs", "ids": [-1], "v": [1]})
        self.assertNotIn("data", doc)
        self.assertEqual(doc["errors"][0]["locations"], [{"line": 1, "column": 21}])
        self.assertTrue(doc["errors"][0]["message"].startswith("Variable \"$ids\" got invalid "
                                                               "value [-1] at \"ids[0]\"; "))
        s, _, doc = self.g.post(q, {"ids": [1], "v": [1]})
        self.assertEqual(doc["errors"][0]["message"],
                         "Variable \"$c\" of required type \"String!\" was not provided.")

    def test_metrics_per_operation_type(self):
        from test_metrics import scrape, value
        name = "qdrant_gateway_graphql_operations_total"
        before = scrape(self.gw.port)
        self.ok("{ __typename }")
        self.g.post("mutation { setPayload(collection: \"docs\", payload: {t: 1}, ids: [1]) "
                    "{ status } }")
        self.g.post("{ nope }")
        after = scrape(self.gw.port)
        for labels in ({"type": "query", "outcome": "executed"},
                       {"type": "mutation", "outcome": "executed"},
                       {"type": "invalid", "outcome": "refused"}):
            self.assertEqual((value(after, name, labels) or 0) - (value(before, name, labels) or 0),
                             1, labels)

    # ---- graphql-js --------------------------------------------------------------------------

    def node(self, *args, stdin=None):
        r = subprocess.run(["node", "check.js"] + list(args), cwd=NODE_DIR, input=stdin,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        return r.stdout.decode()

    def test_graphql_js_client_schema(self):
        if not shutil.which("node"):
            self.skipTest("node is not installed (scripts/install-deps test)")
        if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "graphql")):
            self.skipTest("graphql-js is not installed: scripts/install-deps test")
        s, _, doc = self.g.post(self.node("introspection-query"))
        self.assertEqual(s, 200)
        self.assertNotIn("errors", doc)
        queries = VALID + INVALID
        out = json.loads(self.node("validate", stdin=json.dumps(
            {"introspection": doc["data"], "queries": queries}).encode()))
        sdl = out.pop()["sdl"]
        self.assertIn("type Query {", sdl)
        for q, js in zip(queries, out):
            if q in VALID:  # run elsewhere here, with their variables
                self.assertEqual(js, [], q)
                continue
            s, _, ours = self.g.post(q)
            self.assertNotIn("data", ours, q)
            self.assertEqual([{"message": e["message"], "locations": e.get("locations", [])}
                              for e in ours["errors"]], js, q)
        # the schema graphql-js rebuilt prints like the gateway's own SDL (GET /graphql)
        _, _, b = self.g.c.request("GET", "/graphql")
        self.assertEqual(sdl.strip(), b.decode().strip())


if __name__ == "__main__":
    harness.main()

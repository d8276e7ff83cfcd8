# fake_qdrant's own API tests: every implemented Qdrant operation is called on a real fake_qdrant
# process and its body validated against Qdrant 1.19's openapi.json (legacy routes by shape);
# exact error texts, hand-computed scores for each distance, filters, paging and aliases.
import json
import math
import unittest

import harness

SPEC = harness.QdrantSpec()
C = "/collections/{collection_name}"

POINTS = [
    {"id": 1, "vector": [0.05, 0.61, 0.76, 0.74],
     "payload": {"city": "Berlin", "count": 1, "price": 11.5, "tags": ["a", "b"]}},
    {"id": 2, "vector": [0.19, 0.81, 0.75, 0.11],
     "payload": {"city": ["Berlin", "London"], "count": 2, "nested": {"x": 1}}},
    {"id": 3, "vector": [0.36, 0.55, 0.47, 0.94],
     "payload": {"city": ["Berlin", "Moscow"], "count": 3, "price": 5}},
    {"id": 4, "vector": [0.18, 0.01, 0.85, 0.80],
     "payload": {"city": ["London", "Moscow"], "count": 4, "items": [{"k": "x", "v": 1},
                                                                    {"k": "y", "v": 2}]}},
    {"id": 5, "vector": [0.24, 0.18, 0.22, 0.44], "payload": {"count": [0], "empty": []}},
    {"id": 6, "vector": [0.35, 0.08, 0.11, 0.44], "payload": {"city": None}},
    {"id": "550e8400-e29b-41d4-a716-446655440000", "vector": [0.1, 0.2, 0.3, 0.4],
     "payload": {"city": "Tokyo", "count": 7}},
]
QUERY = [0.2, 0.1, 0.9, 0.7]


def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


class Base(unittest.TestCase):
    server_args = ()

    @classmethod
    def setUpClass(cls):
        cls.srv = harness.start_fake_qdrant(*cls.server_args)
        cls.http = harness.HttpClient(cls.srv.port)

    @classmethod
    def tearDownClass(cls):
        cls.http.close()
        code = cls.srv.stop()
        cls.srv.cleanup()
        assert code == 0, "fake_qdrant exited with %s" % code

    def call(self, method, path, body=None, template=None, status=200, headers=None):
        """Sends a request, checks status, envelope and (when template is given) the spec.
        Returns the result on success, the error text otherwise."""
        s, doc, h = self.http.json(method, path, body, headers)
        self.assertEqual(s, status, doc)
        self.assertEqual(h.get("content-type"), "application/json")
        if template:
            SPEC.validate(method, template, s, doc)
        if 200 <= s < 300 and s != 202:
            self.assertEqual(set(doc), {"result", "status", "time"}, doc)
            self.assertEqual(doc["status"], "ok")
        else:
            self.assertEqual(set(doc), {"status", "time"}, doc)
        self.assertIsInstance(doc["time"], (int, float))
        return doc.get("result") if s == 200 else doc["status"].get("error") if s != 202 else doc

    def scored(self, points):
        for p in points:
            SPEC.validate_schema("ScoredPoint", p)
        return points

    def make(self, name, vectors, points=None):
        self.call("DELETE", "/collections/" + name)
        self.assertTrue(self.call("PUT", "/collections/" + name, {"vectors": vectors}, C))
        if points:
            self.call("PUT", "/collections/%s/points?wait=true" % name, {"points": points},
                      C + "/points")


class ServiceTest(Base):
    def test_root_health_and_telemetry(self):
        s, h, b = self.http.request("GET", "/")
        self.assertEqual(s, 200)
        doc = json.loads(b)
        SPEC.validate("GET", "/", 200, doc)
        self.assertEqual(set(doc), {"title", "version", "commit"})
        self.assertEqual(doc["title"], "qdrant - vector search engine")
        self.assertEqual(doc["version"], "1.19.0")
        self.assertRegex(doc["commit"], r"^[0-9a-f]{40}$")
        for path, text in (("/healthz", b"healthz check passed"),
                           ("/livez", b"healthz check passed"),
                           ("/readyz", b"all shards are ready")):
            s, h, b = self.http.request("GET", path)
            self.assertEqual((s, b), (200, text))
            self.assertEqual(h["content-type"], "text/plain; charset=utf-8")
        self.call("GET", "/telemetry", None, "/telemetry")
        self.call("GET", "/cluster", None, "/cluster")
        self.call("GET", "/issues", None, "/issues")

    def test_routing_failures_and_normalisation(self):
        for method, path in (("GET", "/nope"), ("POST", "/collections"), ("GET", "/collections/x/y"),
                             ("HEAD", "/collections"), ("DELETE", "/collections/c/points")):
            s, h, b = self.http.request(method, path)
            self.assertEqual((s, b), (404, b""), (method, path))
            self.assertEqual(h["content-length"], "0")
        self.assertIn("collections", self.call("GET", "/collections/", None, "/collections"))
        self.assertIn("collections", self.call("GET", "//collections//", None, "/collections"))

    def test_body_errors(self):
        self.make("errs", {"size": 4, "distance": "Dot"})
        q = "/collections/errs/points/query"
        cases = [
            (b"", "Format error in JSON body: EOF while parsing a value at line 1 column 0"),
            (b"x", "Format error in JSON body: expected value at line 1 column 1"),
            (b'{"limit":1,}', "Format error in JSON body: trailing comma at line 1 column 12"),
            (b'{"limit":1', "Format error in JSON body: EOF while parsing an object at line 1 "
                            "column 10"),
            (b'{"limit":1} x', "Format error in JSON body: trailing characters at line 1 column 13"),
            (b'{"limit":"a"}', "Format error in JSON body: invalid type: string \"a\", expected "
                               "usize at line 1 column 12"),
            (b'{\n"query": "abc"}', "Format error in JSON body: Expected some form of vector, id, "
                                    "or a type of query at line 2 column 14"),
        ]
        for body, text in cases:
            err = self.call("POST", q, body, C + "/points/query", 400,
                            {"Content-Type": "application/json"})
            self.assertEqual(err, text)
        err = self.call("POST", q, {"query": [1, 2, 3, 4], "limit": 0}, C + "/points/query", 422)
        self.assertEqual(err, "Validation error in JSON body: [internal.limit: value 0 invalid, "
                              "must be 1 or larger]")
        err = self.call("POST", q, b"{}", C + "/points/query", 400, {"Content-Type": "text/plain"})
        self.assertEqual(err, "Content type error")
        self.call("POST", q, b"{}", C + "/points/query", 200, {"Content-Type": "application/json"})
        err = self.call("POST", q, {"query": [1, 2, 3]}, C + "/points/query", 400)
        self.assertEqual(err, "Wrong input: Vector dimension error: expected dim: 4, got 3")
        err = self.call("PUT", "/collections/errs/points?wait=true",
                        {"points": [{"id": 1, "vector": [1, 2, 3]}]}, C + "/points", 400)
        self.assertEqual(err, "Wrong input: Vector dimension error: expected dim: 4, got 3")
        body = {"points": [{"id": "abc", "vector": [1, 2, 3, 4]}]}
        err = self.call("PUT", "/collections/errs/points", body, C + "/points", 400)
        # reported at the end of the body: Qdrant buffers it as a serde_json::Value first
        self.assertEqual(err, "Format error in JSON body: value abc is not a valid point ID, valid "
                              "values are either an unsigned integer or a UUID at line 1 column %d"
                         % len(json.dumps(body)))
        err = self.call("POST", "/collections/errs/points", {"with_payload": True}, C + "/points", 400)
        self.assertEqual(err, "Format error in JSON body: missing field `ids` at line 1 column 22")
        err = self.call("GET", "/collections/errs/points/abc", None, C + "/points/{id}", 400)
        self.assertEqual(err, 'Wrong input: Can not recognize "abc" as point id')
        err = self.call("GET", "/collections/errs/points/7", None, C + "/points/{id}", 404)
        self.assertEqual(err, "Not found: No point with id 7 found")
        err = self.call("POST", "/collections/missing/points/query", {}, C + "/points/query", 404)
        self.assertEqual(err, "Not found: Collection `missing` doesn't exist!")
        err = self.call("PUT", "/collections/errs/points?wait=maybe", {"points": []}, C + "/points",
                        400)
        self.assertEqual(err, "Deserialize error in query parameters: provided string was not "
                              "`true` or `false`")
        err = self.call("POST", "/collections/errs/points/scroll?timeout=0", {}, C + "/points/scroll",
                        422)
        self.assertEqual(err, "Validation error in query parameters: [timeout: value 0 invalid, "
                              "must be 1 or larger]")


class CollectionsTest(Base):
    def test_lifecycle(self):
        self.call("DELETE", "/collections/life")
        self.assertEqual(self.call("GET", "/collections/life/exists", None, C + "/exists"),
                         {"exists": False})
        self.assertIs(self.call("PUT", "/collections/life?timeout=5",
                                {"vectors": {"size": 4, "distance": "Cosine"},
                                 "hnsw_config": {"m": 32}, "metadata": {"owner": "t"}}, C), True)
        err = self.call("PUT", "/collections/life", {"vectors": {"size": 4, "distance": "Dot"}}, C,
                        409)
        self.assertEqual(err, "Wrong input: Collection `life` already exists!")
        info = self.call("GET", "/collections/life", None, C)
        self.assertEqual(info["config"]["params"]["vectors"], {"size": 4, "distance": "Cosine"})
        self.assertEqual(info["config"]["hnsw_config"]["m"], 32)
        self.assertEqual(info["points_count"], 0)
        self.assertEqual(info["status"], "green")
        self.assertIn({"name": "life"}, self.call("GET", "/collections", None, "/collections")
                      ["collections"])
        self.assertIs(self.call("PATCH", "/collections/life",
                                {"metadata": {"x": 1}, "optimizers_config": {"indexing_threshold": 5}},
                                C), True)
        info = self.call("GET", "/collections/life", None, C)
        self.assertEqual(info["config"]["metadata"], {"owner": "t", "x": 1})
        self.assertEqual(info["config"]["optimizer_config"]["indexing_threshold"], 5)
        self.assertEqual(self.call("GET", "/collections/life/exists", None, C + "/exists"),
                         {"exists": True})
        self.assertIs(self.call("DELETE", "/collections/life", None, C), True)
        self.assertIs(self.call("DELETE", "/collections/life", None, C), False)
        err = self.call("GET", "/collections/life", None, C, 404)
        self.assertEqual(err, "Not found: Collection `life` doesn't exist!")
        err = self.call("PATCH", "/collections/life", {}, C, 404)
        self.assertEqual(err, "Not found: Collection `life` doesn't exist!")

    def test_create_validation(self):
        err = self.call("PUT", "/collections/v", {"vectors": {"size": 65537, "distance": "Dot"}}, C,
                        422)
        self.assertEqual(err, "Validation error in JSON body: [vectors.size: value 65537 invalid, "
                              "must be from 1 to 65536]")
        err = self.call("PUT", "/collections/v", {"vectors": {"size": 4, "distance": "Hamming"}},
                        C, 400)
        self.assertEqual(err, "Format error in JSON body: data did not match any variant of "
                              "untagged enum VectorsConfig at line 1 column 46")
        self.assertFalse(self.call("GET", "/collections/v/exists")["exists"])

    def test_named_vectors_info(self):
        self.make("named", {"image": {"size": 2, "distance": "Dot"},
                            "text": {"size": 3, "distance": "Euclid", "on_disk": True}})
        info = self.call("GET", "/collections/named", None, C)
        self.assertEqual(info["config"]["params"]["vectors"],
                         {"image": {"size": 2, "distance": "Dot"},
                          "text": {"size": 3, "distance": "Euclid", "on_disk": True}})

    def test_aliases(self):
        self.make("target", {"size": 2, "distance": "Dot"},
                  [{"id": 1, "vector": [1, 0]}, {"id": 2, "vector": [0, 1]}])
        self.make("other", {"size": 2, "distance": "Dot"})
        ops = {"actions": [{"create_alias": {"collection_name": "target", "alias_name": "al"}}]}
        self.assertIs(self.call("POST", "/collections/aliases", ops, "/collections/aliases"), True)
        res = self.call("POST", "/collections/al/points/query", {"query": [1, 0]}, C + "/points/query")
        self.assertEqual([p["id"] for p in res["points"]], [1, 2])
        self.assertEqual(self.call("GET", "/collections/al", None, C)["points_count"], 2)
        aliases = self.call("GET", "/aliases", None, "/aliases")["aliases"]
        self.assertIn({"alias_name": "al", "collection_name": "target"}, aliases)
        self.assertEqual(self.call("GET", "/collections/target/aliases", None, C + "/aliases"),
                         {"aliases": [{"alias_name": "al", "collection_name": "target"}]})
        err = self.call("PUT", "/collections/al", {"vectors": {"size": 2, "distance": "Dot"}}, C, 400)
        self.assertEqual(err, "Wrong input: Can't create collection with name al. Alias with the "
                              "same name already exists")
        clash = {"actions": [{"create_alias": {"collection_name": "target", "alias_name": "other"}}]}
        self.call("POST", "/collections/aliases", clash, "/collections/aliases", 409)
        missing = {"actions": [{"create_alias": {"collection_name": "nope", "alias_name": "x"}}]}
        err = self.call("POST", "/collections/aliases", missing, "/collections/aliases", 404)
        self.assertEqual(err, "Not found: Collection `nope` doesn't exist!")
        ren = {"actions": [{"rename_alias": {"old_alias_name": "al", "new_alias_name": "al2"}}]}
        self.assertIs(self.call("POST", "/collections/aliases", ren, "/collections/aliases"), True)
        self.call("GET", "/collections/al", None, C, 404)
        err = self.call("POST", "/collections/aliases", ren, "/collections/aliases", 404)
        self.assertEqual(err, "Not found: Alias al does not exists!")
        self.call("DELETE", "/collections/target")
        self.assertNotIn("al2", [a["alias_name"] for a in self.call("GET", "/aliases")["aliases"]])
        dele = {"actions": [{"delete_alias": {"alias_name": "al2"}}]}
        self.assertIs(self.call("POST", "/collections/aliases", dele, "/collections/aliases"), True)


class PointsTest(Base):
    def setUp(self):
        self.make("pts", {"size": 4, "distance": "Dot"}, POINTS)

    def test_upsert_forms_and_operation_ids(self):
        self.make("ops", {"size": 2, "distance": "Dot"})
        r1 = self.call("PUT", "/collections/ops/points", {"points": [{"id": 1, "vector": [1, 2]}]},
                       C + "/points")
        self.assertEqual(r1, {"operation_id": 0, "status": "acknowledged"})
        r2 = self.call("PUT", "/collections/ops/points?wait=true",
                       {"batch": {"ids": [2, 3], "vectors": [[3, 4], [5, 6]],
                                  "payloads": [{"a": 1}, None]}}, C + "/points")
        self.assertEqual(r2, {"operation_id": 1, "status": "completed"})
        recs = self.call("POST", "/collections/ops/points", {"ids": [3, 2, 9], "with_vector": True},
                         C + "/points")
        self.assertEqual(recs, [{"id": 3, "payload": {}, "vector": [5.0, 6.0]},
                                {"id": 2, "payload": {"a": 1}, "vector": [3.0, 4.0]}])
        pt = self.call("GET", "/collections/ops/points/2", None, C + "/points/{id}")
        self.assertEqual(pt, {"id": 2, "payload": {"a": 1}, "vector": [3.0, 4.0]})
        res = self.call("POST", "/collections/ops/points/query", {"query": [1, 0]},
                        C + "/points/query")
        self.assertEqual([(p["id"], p["version"]) for p in res["points"]], [(3, 1), (2, 1), (1, 0)])

    def test_retrieve_uuid_and_selectors(self):
        uid = "550e8400-e29b-41d4-a716-446655440000"
        recs = self.call("POST", "/collections/pts/points",
                         {"ids": [uid.replace("-", "").upper(), 1],
                          "with_payload": {"include": ["city"]}}, C + "/points")
        self.assertEqual(recs, [{"id": uid, "payload": {"city": "Tokyo"}},
                                {"id": 1, "payload": {"city": "Berlin"}}])
        recs = self.call("POST", "/collections/pts/points",
                         {"ids": [1], "with_payload": {"exclude": ["city", "tags"]}}, C + "/points")
        self.assertEqual(recs[0]["payload"], {"count": 1, "price": 11.5})
        recs = self.call("POST", "/collections/pts/points", {"ids": [1], "with_payload": ["count"],
                                                             "with_vector": False}, C + "/points")
        self.assertEqual(recs, [{"id": 1, "payload": {"count": 1}}])
        recs = self.call("POST", "/collections/pts/points", {"ids": [1], "with_payload": False},
                         C + "/points")
        self.assertEqual(recs, [{"id": 1}])

    def test_delete_and_payload_operations(self):
        self.call("POST", "/collections/pts/points/payload?wait=true",
                  {"payload": {"new": 1}, "points": [1, 2]}, C + "/points/payload")
        self.call("PUT", "/collections/pts/points/payload?wait=true",
                  {"payload": {"only": True}, "points": [3]}, C + "/points/payload")
        self.call("POST", "/collections/pts/points/payload/delete?wait=true",
                  {"keys": ["count", "tags"], "filter": {"must": [{"has_id": [1]}]}},
                  C + "/points/payload/delete")
        self.call("POST", "/collections/pts/points/payload/clear?wait=true", {"points": [4]},
                  C + "/points/payload/clear")
        got = {r["id"]: r["payload"] for r in self.call(
            "POST", "/collections/pts/points", {"ids": [1, 2, 3, 4]}, C + "/points")}
        self.assertEqual(got[1], {"city": "Berlin", "price": 11.5, "new": 1})
        self.assertEqual(got[2]["new"], 1)
        self.assertEqual(got[3], {"only": True})
        self.assertEqual(got[4], {})
        err = self.call("POST", "/collections/pts/points/payload", {"payload": {}, "points": [77]},
                        C + "/points/payload", 404)
        self.assertEqual(err, "Not found: No point with id 77 found")
        self.call("POST", "/collections/pts/points/delete?wait=true", {"points": [1, 2, 99]},
                  C + "/points/delete")
        self.call("POST", "/collections/pts/points/delete?wait=true",
                  {"filter": {"must": [{"key": "count", "match": {"value": 7}}]}},
                  C + "/points/delete")
        self.assertEqual(self.call("POST", "/collections/pts/points/count", {}, C + "/points/count"),
                         {"count": 4})
        err = self.call("POST", "/collections/pts/points/delete", {"nothing": 1}, C + "/points/delete",
                        400)
        self.assertEqual(err, "Format error in JSON body: data did not match any variant of untagged "
                              "enum PointsSelector at line 1 column 14")

    def test_vectors_update_delete_and_batch(self):
        self.make("nv", {"a": {"size": 2, "distance": "Dot"}, "b": {"size": 2, "distance": "Cosine"}},
                  [{"id": 1, "vector": {"a": [1, 0], "b": [3, 4]}}])
        pt = self.call("GET", "/collections/nv/points/1", None, C + "/points/{id}")
        self.assertEqual(pt["vector"], {"a": [1.0, 0.0], "b": [0.6, 0.8]})
        self.call("PUT", "/collections/nv/points/vectors?wait=true",
                  {"points": [{"id": 1, "vector": {"a": [2, 2]}}]}, C + "/points/vectors")
        self.call("POST", "/collections/nv/points/vectors/delete?wait=true",
                  {"points": [1], "vector": ["b"]}, C + "/points/vectors/delete")
        pt = self.call("GET", "/collections/nv/points/1", None, C + "/points/{id}")
        self.assertEqual(pt["vector"], {"a": [2.0, 2.0]})
        err = self.call("PUT", "/collections/nv/points/vectors",
                        {"points": [{"id": 5, "vector": {"a": [2, 2]}}]}, C + "/points/vectors", 404)
        self.assertEqual(err, "Not found: No point with id 5 found")
        err = self.call("PUT", "/collections/nv/points",
                        {"points": [{"id": 2, "vector": {"c": [2, 2]}}]}, C + "/points", 400)
        self.assertEqual(err, "Wrong input: Not existing vector name error: c")
        ops = {"operations": [
            {"upsert": {"points": [{"id": 7, "vector": {"a": [1, 1]}, "payload": {"k": 1}}]}},
            {"set_payload": {"payload": {"k": 2}, "points": [7]}},
            {"delete": {"points": [1]}},
        ]}
        res = self.call("POST", "/collections/nv/points/batch?wait=true", ops, C + "/points/batch")
        self.assertEqual([r["operation_id"] for r in res], [3, 4, 5])
        recs = self.call("POST", "/collections/nv/points", {"ids": [1, 7]}, C + "/points")
        self.assertEqual(recs, [{"id": 7, "payload": {"k": 2}}])

    def test_scroll_paging_count_and_facet(self):
        seen, offset, pages = [], None, 0
        while True:
            body = {"limit": 3, "with_payload": False}
            if offset is not None:
                body["offset"] = offset
            res = self.call("POST", "/collections/pts/points/scroll", body, C + "/points/scroll")
            seen += [p["id"] for p in res["points"]]
            offset, pages = res["next_page_offset"], pages + 1
            if offset is None:
                break
        self.assertEqual(seen, [1, 2, 3, 4, 5, 6, "550e8400-e29b-41d4-a716-446655440000"])
        self.assertEqual(pages, 3)
        res = self.call("POST", "/collections/pts/points/scroll",
                        {"limit": 1, "with_vector": True, "filter": {"must": {"has_id": [2]}}},
                        C + "/points/scroll")
        self.assertEqual(res, {"points": [{"id": 2, "payload": POINTS[1]["payload"],
                                           "vector": [0.19, 0.81, 0.75, 0.11]}],
                               "next_page_offset": None})
        res = self.call("POST", "/collections/pts/points/scroll",
                        {"order_by": {"key": "count", "direction": "desc"}, "limit": 2,
                         "with_payload": False}, C + "/points/scroll")
        self.assertEqual([(p["id"], p["order_value"]) for p in res["points"]],
                         [("550e8400-e29b-41d4-a716-446655440000", 7), (4, 4)])
        count = self.call("POST", "/collections/pts/points/count",
                          {"filter": {"must": [{"key": "city", "match": {"value": "Berlin"}}]}},
                          C + "/points/count")
        self.assertEqual(count, {"count": 3})
        facet = self.call("POST", "/collections/pts/facet", {"key": "city"}, C + "/facet")
        self.assertEqual(facet["hits"], [{"value": "Berlin", "count": 3},
                                         {"value": "London", "count": 2},
                                         {"value": "Moscow", "count": 2},
                                         {"value": "Tokyo", "count": 1}])
        facet = self.call("POST", "/collections/pts/facet", {"key": "count", "limit": 2}, C + "/facet")
        self.assertEqual(facet["hits"], [{"value": 0, "count": 1}, {"value": 1, "count": 1}])
        err = self.call("POST", "/collections/pts/points/scroll", {"limit": 0}, C + "/points/scroll",
                        422)
        self.assertEqual(err, "Validation error in JSON body: [scroll_request.limit: value 0 "
                              "invalid, must be 1 or larger]")

    def test_payload_index(self):
        res = self.call("PUT", "/collections/pts/index?wait=true",
                        {"field_name": "city", "field_schema": "keyword"}, C + "/index")
        self.assertEqual(res["status"], "completed")
        info = self.call("GET", "/collections/pts", None, C)
        self.assertEqual(info["payload_schema"]["city"], {"data_type": "keyword", "points": 5})
        self.call("DELETE", "/collections/pts/index/city", None, C + "/index/{field_name}")
        self.assertEqual(self.call("GET", "/collections/pts")["payload_schema"], {})


class FilterTest(Base):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.http.json("PUT", "/collections/f", {"vectors": {"size": 4, "distance": "Dot"}})
        cls.http.json("PUT", "/collections/f/points?wait=true", {"points": POINTS})

    def ids(self, flt):
        res = self.call("POST", "/collections/f/points/scroll",
                        {"filter": flt, "with_payload": False, "limit": 100}, C + "/points/scroll")
        return [p["id"] for p in res["points"]]

    def test_conditions(self):
        uid = "550e8400-e29b-41d4-a716-446655440000"
        cases = [
            ({"must": [{"key": "city", "match": {"value": "London"}}]}, [2, 4]),
            ({"must": [{"key": "city", "match": {"any": ["Moscow", "Tokyo"]}}]}, [3, 4, uid]),
            # null is "not excluded", as in Qdrant's MatchExcept; a missing key never matches
            ({"must": [{"key": "city", "match": {"except": ["Berlin"]}}]}, [2, 3, 4, 6, uid]),
            ({"must": [{"key": "count", "range": {"gt": 1, "lte": 4}}]}, [2, 3, 4]),
            ({"must": [{"key": "price", "range": {"gte": 5.0, "lt": 11.5}}]}, [3]),
            ({"must": [{"has_id": [1, 3, 99]}]}, [1, 3]),
            ({"must": [{"is_empty": {"key": "city"}}]}, [5, 6]),
            ({"must": [{"is_empty": {"key": "empty"}}], "must_not": [{"has_id": [6]}]},
             [1, 2, 3, 4, 5, uid]),
            ({"must": [{"is_null": {"key": "city"}}]}, [6]),
            ({"should": [{"key": "count", "match": {"value": 1}},
                         {"key": "count", "match": {"value": 0}}]}, [1, 5]),
            ({"must_not": [{"key": "city", "match": {"value": "Berlin"}}],
              "must": [{"should": [{"has_id": [1, 2, 4]}, {"key": "count", "range": {"gte": 7}}]}]},
             [4, uid]),
            ({"must": [{"key": "nested.x", "match": {"value": 1}}]}, [2]),
            ({"must": [{"key": "tags", "match": {"value": "b"}}]}, [1]),
            ({"must": [{"nested": {"key": "items", "filter": {"must": [
                {"key": "k", "match": {"value": "y"}}, {"key": "v", "range": {"gte": 2}}]}}}]}, [4]),
            ({"must": [{"key": "items[].k", "match": {"value": "x"}}]}, [4]),
            ({"min_should": {"conditions": [{"has_id": [1, 2]}, {"key": "city", "match":
                                                                 {"value": "Berlin"}},
                                            {"key": "count", "range": {"lt": 3}}],
                             "min_count": 3}}, [1, 2]),
            ({"must": [{"key": "count", "values_count": {"gte": 1}}],
              "must_not": {"key": "count", "range": {"gte": 2}}}, [1, 5]),
        ]
        for flt, want in cases:
            with self.subTest(filter=flt):
                self.assertEqual(self.ids(flt), want)

    def test_filter_errors(self):
        err = self.call("POST", "/collections/f/points/scroll", {"filter": {"must": [{"key": "city"}]}},
                        C + "/points/scroll", 422)
        self.assertTrue(err.startswith("Validation error in JSON body: ["), err)
        self.assertIn("At least one field condition must be specified", err)
        err = self.call("POST", "/collections/f/points/scroll",
                        {"filter": {"must": [{"key": "city", "match": {"nope": 1}}]}},
                        C + "/points/scroll", 400)
        self.assertEqual(err, "Format error in JSON body: data did not match any variant of untagged "
                              "enum Condition at line 1 column 58")


class ScoringTest(Base):
    def query(self, coll, body, template=C + "/points/query"):
        return self.call("POST", "/collections/%s/points/query" % coll, body, template)["points"]

    def check(self, points, expected):
        self.assertEqual([p["id"] for p in points], [e[0] for e in expected])
        for p, (_, score) in zip(points, expected):
            self.assertAlmostEqual(p["score"], score, places=6)

    def test_dot(self):
        self.make("dot", {"size": 4, "distance": "Dot"}, POINTS)
        want = sorted(((p["id"], dot(p["vector"], QUERY)) for p in POINTS if isinstance(p["id"], int)),
                      key=lambda t: -t[1])
        got = self.query("dot", {"query": QUERY, "limit": 6, "filter": {"must": {"key": "count",
                                                                                "range": {"lt": 7}}}})
        self.check(got, want[:len(got)])
        self.check(self.query("dot", {"query": QUERY, "limit": 2, "offset": 1}), want[1:3])

    def test_cosine_normalises_on_insert(self):
        self.make("cos", {"size": 2, "distance": "Cosine"},
                  [{"id": 1, "vector": [2, 0]}, {"id": 2, "vector": [1, 1]},
                   {"id": 3, "vector": [0, 5]}, {"id": 4, "vector": [-3, 0]}])
        self.check(self.query("cos", {"query": [10, 0]}),
                   [(1, 1.0), (2, math.sqrt(0.5)), (3, 0.0), (4, -1.0)])
        pt = self.call("GET", "/collections/cos/points/2", None, C + "/points/{id}")
        self.assertAlmostEqual(pt["vector"][0], math.sqrt(0.5), places=6)
        self.check(self.query("cos", {"query": [1, 0], "score_threshold": 0.5}),
                   [(1, 1.0), (2, math.sqrt(0.5))])

    def test_euclid_is_a_distance(self):
        self.make("euc", {"size": 2, "distance": "Euclid"},
                  [{"id": 1, "vector": [3, 4]}, {"id": 2, "vector": [1, 0]},
                   {"id": 3, "vector": [0, 2]}])
        self.check(self.query("euc", {"query": [0, 0]}), [(2, 1.0), (3, 2.0), (1, 5.0)])
        self.check(self.query("euc", {"query": [0, 0], "score_threshold": 2.5}),
                   [(2, 1.0), (3, 2.0)])

    def test_manhattan(self):
        self.make("man", {"size": 2, "distance": "Manhattan"},
                  [{"id": 1, "vector": [3, 4]}, {"id": 2, "vector": [1, 0]},
                   {"id": 3, "vector": [-2, 2]}])
        self.check(self.query("man", {"query": [0, 0]}), [(2, 1.0), (3, 4.0), (1, 7.0)])

    def test_ties_by_id(self):
        self.make("tie", {"size": 2, "distance": "Dot"},
                  [{"id": 9, "vector": [1, 0]}, {"id": 3, "vector": [1, 0]}, {"id": 5, "vector": [0, 1]}])
        self.check(self.query("tie", {"query": [1, 0]}), [(3, 1.0), (9, 1.0), (5, 0.0)])


class QueryApiTest(Base):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.http.json("PUT", "/collections/q", {"vectors": {"size": 4, "distance": "Dot"}})
        cls.http.json("PUT", "/collections/q/points?wait=true", {"points": POINTS})
        cls.http.json("PUT", "/collections/mv", {"vectors": {"a": {"size": 2, "distance": "Dot"},
                                                             "b": {"size": 2, "distance": "Dot"}}})
        cls.http.json("PUT", "/collections/mv/points?wait=true", {"points": [
            {"id": 1, "vector": {"a": [1, 0], "b": [0, 1]}, "payload": {"g": "x"}},
            {"id": 2, "vector": {"a": [0, 1], "b": [1, 0]}, "payload": {"g": "y"}},
            {"id": 3, "vector": {"a": [1, 1]}, "payload": {"g": "x"}}]})

    def q(self, body, coll="q"):
        return self.call("POST", "/collections/%s/points/query" % coll, body,
                         C + "/points/query")["points"]

    def test_forms(self):
        raw = self.q({"query": QUERY, "limit": 3, "with_payload": True, "with_vector": True})
        self.assertEqual([p["id"] for p in raw], [4, 1, 3])
        self.assertEqual(raw[0]["payload"], POINTS[3]["payload"])
        self.assertEqual(raw[0]["vector"], POINTS[3]["vector"])
        self.assertNotIn("payload", self.q({"query": QUERY})[0])
        self.assertEqual(self.q({"query": {"nearest": QUERY}, "limit": 3}), self.q({"query": QUERY,
                                                                                    "limit": 3}))
        by_id = self.q({"query": 1, "limit": 2})
        self.assertEqual([p["id"] for p in by_id], [3, 4])  # the point itself is excluded
        self.assertEqual([p["id"] for p in self.q({"limit": 3})], [1, 2, 3])
        # point 3 has no vector "b": it cannot be scored on it
        self.assertEqual([p["id"] for p in self.q({"query": [0, 1], "using": "b"}, "mv")], [1, 2])
        err = self.call("POST", "/collections/mv/points/query", {"query": [1, 0], "using": "c"},
                        C + "/points/query", 400)
        self.assertEqual(err, "Wrong input: Not existing vector name error: c")
        lk = self.q({"query": 2, "using": "a", "lookup_from": {"collection": "mv", "vector": "b"}},
                    "mv")
        self.assertEqual([p["id"] for p in lk], [1, 3, 2])  # other collection: nothing excluded
        err = self.call("POST", "/collections/mv/points/query",
                        {"query": 2, "lookup_from": {"collection": "nope"}, "using": "a"},
                        C + "/points/query", 404)
        self.assertEqual(err, "Not found: Collection nope not found")
        ob = self.q({"query": {"order_by": "count"}, "limit": 2})
        self.assertEqual([(p["id"], p["order_value"]) for p in ob], [(5, 0), (1, 1)])

    def test_recommend_discover_prefetch(self):
        rec = self.q({"query": {"recommend": {"positive": [1], "negative": [6]}}, "limit": 3})
        avg = [2 * a - b for a, b in zip(POINTS[0]["vector"], POINTS[5]["vector"])]
        want = sorted(((p["id"], dot(p["vector"], avg)) for p in POINTS[1:5]), key=lambda t: -t[1])
        self.assertEqual([p["id"] for p in rec], [w[0] for w in want[:3]])
        for p, w in zip(rec, want):
            self.assertAlmostEqual(p["score"], w[1], places=5)
        best = self.q({"query": {"recommend": {"positive": [1, 2], "strategy": "best_score"}},
                       "limit": 2})
        self.assertEqual(len(best), 2)
        disc = self.q({"query": {"discover": {"target": 1, "context": [{"positive": 2,
                                                                         "negative": 6}]}},
                       "limit": 2})
        self.assertEqual(len(disc), 2)
        fused = self.q({"prefetch": [{"query": QUERY, "limit": 3}, {"query": [1, 0, 0, 0],
                                                                    "limit": 3}],
                        "query": {"fusion": "rrf"}, "limit": 2})
        self.assertEqual(len(fused), 2)
        re = self.q({"prefetch": {"query": [1, 0, 0, 0], "limit": 3}, "query": QUERY})
        self.assertEqual(len(re), 3)

    def test_batch_and_groups(self):
        res = self.call("POST", "/collections/q/points/query/batch",
                        {"searches": [{"query": QUERY, "limit": 1}, {"query": 4, "limit": 2}]},
                        C + "/points/query/batch")
        self.assertEqual([[p["id"] for p in r["points"]] for r in res], [[4], [1, 3]])
        res = self.call("POST", "/collections/q/points/query/groups",
                        {"query": QUERY, "group_by": "city", "group_size": 2, "limit": 2,
                         "with_lookup": "mv"}, C + "/points/query/groups")
        self.assertEqual([(g["id"], [h["id"] for h in g["hits"]]) for g in res["groups"]],
                         [("London", [4, 2]), ("Moscow", [4, 3])])
        err = self.call("POST", "/collections/q/points/query/groups", {"query": QUERY},
                        C + "/points/query/groups", 400)
        self.assertEqual(err, "Format error in JSON body: missing field `group_by` at line 1 "
                              "column %d" % len(json.dumps({"query": QUERY})))


class LegacyAndMatrixTest(Base):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.http.json("PUT", "/collections/l", {"vectors": {"size": 4, "distance": "Dot"}})
        cls.http.json("PUT", "/collections/l/points?wait=true", {"points": POINTS})

    def post(self, path, body, status=200):
        s, doc, _ = self.http.json("POST", "/collections/l/points/" + path, body)
        self.assertEqual(s, status, doc)
        if s == 200:
            self.assertEqual(set(doc), {"result", "status", "time"})
            return doc["result"]
        SPEC.validate_schema("ErrorResponse", doc)
        return doc["status"]["error"]

    def test_search(self):
        res = self.scored(self.post("search", {"vector": QUERY, "limit": 3, "with_payload": ["city"]}))
        self.assertEqual([p["id"] for p in res], [4, 1, 3])
        self.assertEqual(res[0]["payload"], {"city": ["London", "Moscow"]})
        self.assertAlmostEqual(res[0]["score"], 1.362, places=6)  # 0.036+0.001+0.765+0.56
        res = self.scored(self.post("search", {"vector": QUERY, "top": 2, "offset": 1}))
        self.assertEqual([p["id"] for p in res], [1, 3])
        self.assertEqual(self.post("search", {"vector": QUERY}, 400),
                         "Format error in JSON body: missing field `limit` at line 1 column %d"
                         % len(json.dumps({"vector": QUERY})))
        batch = self.post("search/batch", {"searches": [{"vector": QUERY, "limit": 1},
                                                        {"vector": QUERY, "limit": 2}]})
        self.assertEqual([[p["id"] for p in r] for r in batch], [[4], [4, 1]])
        groups = self.post("search/groups", {"vector": QUERY, "group_by": "city", "group_size": 1,
                                             "limit": 3})
        SPEC.validate_schema("GroupsResult", groups)
        self.assertEqual([g["id"] for g in groups["groups"]], ["London", "Moscow", "Berlin"])

    def test_recommend_and_discover(self):
        res = self.scored(self.post("recommend", {"positive": [1], "negative": [6], "limit": 2}))
        self.assertEqual(len(res), 2)
        self.assertNotIn(1, [p["id"] for p in res])
        batch = self.post("recommend/batch", {"searches": [{"positive": [2], "limit": 1}]})
        self.scored(batch[0])
        groups = self.post("recommend/groups", {"positive": [2], "group_by": "count",
                                                "group_size": 1, "limit": 2})
        SPEC.validate_schema("GroupsResult", groups)
        res = self.scored(self.post("discover", {"target": 1, "context": [{"positive": 2,
                                                                           "negative": 6}],
                                                 "limit": 3}))
        self.assertEqual(len(res), 3)
        self.scored(self.post("discover/batch", {"searches": [{"context": [{"positive": 2,
                                                                            "negative": 6}],
                                                               "limit": 2}]})[0])
        self.assertEqual(self.post("recommend", {"positive": [42], "limit": 1}, 404),
                         "Not found: No point with id 42 found")

    def test_matrix(self):
        pairs = self.call("POST", "/collections/l/points/search/matrix/pairs",
                          {"sample": 4, "limit": 1}, C + "/points/search/matrix/pairs")
        self.assertEqual(len(pairs["pairs"]), 4)
        self.assertEqual(pairs["pairs"][0]["a"], 1)
        offs = self.call("POST", "/collections/l/points/search/matrix/offsets",
                         {"sample": 3, "limit": 2}, C + "/points/search/matrix/offsets")
        self.assertEqual(offs["ids"], [1, 2, 3])
        self.assertEqual(len(offs["scores"]), 6)


if __name__ == "__main__":
    harness.main()

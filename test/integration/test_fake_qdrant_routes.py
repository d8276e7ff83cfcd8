# fake_qdrant's coverage of Qdrant 1.19's spec and the cluster-level routes: every operationId of
# openapi.json must reach its own route on a real fake_qdrant (counted under that id in
# /__fake/stats, never "unmatched"); then storage and shard snapshots, shard keys, named vectors,
# quotas, optimizations and the standalone cluster answers, validated against the spec.
import hashlib
import json
import re
import unittest

import harness

SPEC = harness.QdrantSpec()
C = "/collections/{collection_name}"
SHARD = C + "/shards/{shard_id}"


class Base(unittest.TestCase):
    server_args = ("--snapshot-mb", "1")

    @classmethod
    def setUpClass(cls):
        cls.srv = harness.start_fake_qdrant(*cls.server_args)
        cls.http = harness.HttpClient(cls.srv.port)

    @classmethod
    def tearDownClass(cls):
        cls.http.close()
        code = cls.srv.stop()
        log = cls.srv.log()
        cls.srv.cleanup()
        assert code == 0 and log == "", "fake_qdrant exited with %s: %r" % (code, log)

    def call(self, method, path, body=None, template=None, status=200):
        """Sends a request, checks the status and (template given) the spec; returns the
        result, the error text, or the 202 document."""
        s, doc, h = self.http.json(method, path, body)
        self.assertEqual(s, status, doc)
        self.assertEqual(h.get("content-type"), "application/json")
        if template:
            SPEC.validate(method, template, s, doc)
        if s == 200:
            self.assertEqual(set(doc), {"result", "status", "time"}, doc)
            return doc["result"]
        if s == 202:
            self.assertEqual(doc["status"], "accepted")
            return doc
        self.assertEqual(set(doc), {"status", "time"}, doc)
        return doc["status"]["error"]

    def make(self, name, body=None):
        self.call("DELETE", "/collections/" + name)
        self.call("PUT", "/collections/" + name,
                  body or {"vectors": {"a": {"size": 2, "distance": "Dot"}}})


class CoverageTest(Base):
    def test_every_spec_operation_is_routed(self):
        """Each operation of the spec, sent with plausible path values, lands on the route of
        its own operationId: the fake lacks none of the 69."""
        ops = [(m.upper(), p, o["operationId"]) for p, v in SPEC.doc["paths"].items()
               for m, o in v.items()]
        self.assertEqual(len(ops), 69)
        values = {"collection_name": "cov", "shard_id": "0", "snapshot_name": "x.snapshot",
                  "vector_name": "v", "field_name": "f", "peer_id": "7", "id": "1"}
        self.make("cov")
        self.http.request("POST", "/__fake/stats/reset")
        for method, template, _ in ops:
            path = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)
            self.http.request(method, path, b"{}", {"Content-Type": "application/json"})
        stats = harness.fake_stats(self.srv.port)
        missing = [(m, p, o) for m, p, o in ops if stats["requests"].get(o, 0) < 1]
        self.assertEqual(missing, [], "operations fake_qdrant does not route")
        self.assertEqual(stats["requests"].get("unmatched", 0), 0)

    def test_router_rows_name_spec_operations(self):
        """Every operationId in fq_router.c's table is the spec's or a documented extra."""
        with open(harness.SOURCE_DIR + "/test/fake_qdrant/fq_router.c") as f:
            table = f.read().split("routes[] = {", 1)[1].split("\n};", 1)[0]
        ops = set(re.findall(r'"(\w+)"\}', table))  # each row ends with its operationId
        spec_ops = {o["operationId"] for v in SPEC.doc["paths"].values() for o in v.values()}
        legacy = {"search_points", "search_batch_points", "search_point_groups",
                  "recommend_points", "recommend_batch_points", "recommend_point_groups",
                  "discover_points", "discover_batch_points"}
        self.assertEqual(spec_ops - ops, set())
        extra = {o for o in ops - spec_ops if not o.startswith("fake_")}
        self.assertEqual(extra, legacy)


class SnapshotScopesTest(Base):
    def download(self, path, snap):
        s, hd, body = self.http.request("GET", path)
        self.assertEqual(s, 200)
        self.assertEqual(hd["content-type"], "application/octet-stream")
        self.assertEqual(int(hd["content-length"]), snap["size"])
        self.assertIn(snap["name"], hd["content-disposition"])
        self.assertEqual(hashlib.sha256(body).hexdigest(), snap["checksum"])

    def test_full_snapshots(self):
        snap = self.call("POST", "/snapshots", None, "/snapshots")
        self.assertRegex(snap["name"], r"^full-snapshot-\d+-[\d-]+\.snapshot$")
        self.assertEqual(snap["size"], 1 << 20)
        self.assertIn(snap, self.call("GET", "/snapshots", None, "/snapshots"))
        self.download("/snapshots/" + snap["name"], snap)
        self.call("POST", "/snapshots?wait=false", None, "/snapshots", status=202)
        self.assertTrue(self.call("DELETE", "/snapshots/" + snap["name"], None,
                                  "/snapshots/{snapshot_name}"))
        self.assertNotIn(snap, self.call("GET", "/snapshots"))
        err = self.call("GET", "/snapshots/" + snap["name"], None, "/snapshots/{snapshot_name}",
                        status=404)
        self.assertEqual(err, "Not found: Snapshot %s not found" % snap["name"])
        self.call("DELETE", "/snapshots/" + snap["name"], status=404)

    def test_shard_snapshots(self):
        self.make("s")
        base = "/collections/s/shards/0"
        snap = self.call("POST", base + "/snapshots", None, SHARD + "/snapshots")
        self.assertRegex(snap["name"], r"^s-shard-0-\d+-[\d-]+\.snapshot$")
        self.assertEqual(self.call("GET", base + "/snapshots", None, SHARD + "/snapshots"),
                         [snap])
        self.assertEqual(self.call("GET", "/collections/s/snapshots"), [])
        self.download(base + "/snapshots/" + snap["name"], snap)
        s, hd, body = self.http.request("GET", base + "/snapshot")
        self.assertEqual((s, len(body)), (200, 1 << 20))
        self.assertRegex(hd["content-disposition"], r'filename="s-shard-0-\d+-')
        self.assertEqual(self.call("GET", base + "/snapshots"), [snap], "streaming lists none")
        self.assertTrue(self.call("DELETE", base + "/snapshots/" + snap["name"], None,
                                  SHARD + "/snapshots/{snapshot_name}"))
        self.assertEqual(self.call("GET", base + "/snapshots"), [])
        self.assertEqual(self.call("GET", "/collections/s/shards/3/snapshots", status=404),
                         "Not found: Shard 3 not found")
        self.assertEqual(self.call("POST", "/collections/nope/shards/0/snapshots", status=404),
                         "Not found: Collection `nope` doesn't exist!")
        s, _, _ = self.http.request("GET", "/collections/s/shards/x/snapshots")
        self.assertEqual(s, 404)

    def test_recover(self):
        self.make("r")
        snap = self.call("POST", "/collections/r/snapshots")
        loc = "file:///qdrant/snapshots/r/" + snap["name"]
        self.assertTrue(self.call("PUT", "/collections/r/snapshots/recover",
                                  {"location": loc, "checksum": snap["checksum"],
                                   "priority": "snapshot"}, C + "/snapshots/recover"))
        self.call("PUT", "/collections/r/snapshots/recover?wait=false", {"location": loc},
                  C + "/snapshots/recover", status=202)
        err = self.call("PUT", "/collections/r/snapshots/recover",
                        {"location": loc, "checksum": "00" * 32}, status=400)
        self.assertEqual(err, "Checksum mismatch: expected %s, actual %s"
                         % ("00" * 32, snap["checksum"]))
        err = self.call("PUT", "/collections/r/snapshots/recover", {}, status=400)
        self.assertTrue(err.startswith("Format error in JSON body: missing field `location`"), err)
        err = self.call("PUT", "/collections/r/snapshots/recover",
                        {"location": loc, "priority": "first"}, status=400)
        self.assertIn("unknown variant `first`", err)
        self.call("PUT", "/collections/r/snapshots/recover", {"location": "http://x/y.snapshot"},
                  status=400)
        shard = self.call("POST", "/collections/r/shards/0/snapshots")
        self.assertTrue(self.call("PUT", "/collections/r/shards/0/snapshots/recover",
                                  {"location": "http://127.0.0.1:1/" + shard["name"]},
                                  SHARD + "/snapshots/recover"))
        s, hd, body = self.http.request("POST", "/collections/r/shards/0/snapshots/upload",
                                        b"abc", {"Content-Type": "application/octet-stream"})
        self.assertEqual(s, 200, body)
        self.assertEqual(hd["x-fake-received-sha256"], hashlib.sha256(b"abc").hexdigest())
        s, _, body = self.http.request("POST", "/collections/r/shards/2/snapshots/upload", b"abc")
        self.assertEqual(s, 404, body)


class VectorNamesTest(Base):
    def test_create_and_delete(self):
        self.make("v")
        tmpl = C + "/vectors/{vector_name}"
        up = self.call("PUT", "/collections/v/vectors/b?wait=true",
                       {"dense": {"size": 3, "distance": "Cosine"}}, tmpl)
        self.assertEqual(up["status"], "completed")
        self.call("PUT", "/collections/v/vectors/sp", {"sparse": {"modifier": "idf"}}, tmpl)
        params = self.call("GET", "/collections/v")["config"]["params"]
        self.assertEqual(params["vectors"], {"a": {"size": 2, "distance": "Dot"},
                                             "b": {"size": 3, "distance": "Cosine"}})
        self.assertEqual(params["sparse_vectors"], {"sp": {"modifier": "idf"}})
        self.call("PUT", "/collections/v/points?wait=true",
                  {"points": [{"id": 1, "vector": {"a": [1, 2], "b": [3, 0, 0]}}]})
        got = self.call("POST", "/collections/v/points", {"ids": [1], "with_vector": True})
        self.assertEqual(got[0]["vector"], {"a": [1, 2], "b": [1, 0, 0]})
        self.assertEqual(self.call("PUT", "/collections/v/vectors/b",
                                   {"dense": {"size": 3, "distance": "Dot"}}, status=400),
                         "Wrong input: Vector name b already exists")
        self.call("PUT", "/collections/v/vectors/c", {"dense": {"size": 0, "distance": "Dot"}},
                  status=422)
        self.call("PUT", "/collections/v/vectors/c", {"other": {}}, status=400)
        acked = self.call("DELETE", "/collections/v/vectors/a", None, tmpl)
        self.assertEqual(acked["status"], "acknowledged")
        self.call("DELETE", "/collections/v/vectors/sp", None, tmpl)
        params = self.call("GET", "/collections/v")["config"]["params"]
        self.assertEqual(params["vectors"], {"b": {"size": 3, "distance": "Cosine"}})
        self.assertEqual(params["sparse_vectors"], {})
        got = self.call("POST", "/collections/v/points", {"ids": [1], "with_vector": True})
        self.assertEqual(got[0]["vector"], {"b": [1, 0, 0]})
        self.assertEqual(self.call("DELETE", "/collections/v/vectors/a", status=400),
                         "Wrong input: Not existing vector name error: a")
        self.assertEqual(self.call("DELETE", "/collections/nope/vectors/a", status=404),
                         "Not found: Collection `nope` doesn't exist!")
        hits = self.call("POST", "/collections/v/points/query",
                         {"query": [1, 0, 0], "using": "b"})["points"]
        self.assertEqual([h["id"] for h in hits], [1])


class ClusterTest(Base):
    def test_standalone_answers(self):
        self.make("k", {"vectors": {"size": 2, "distance": "Dot"}, "sharding_method": "custom"})
        for path, body in (("/collections/k/shards", {"shard_key": "eu"}),):
            self.assertEqual(self.call("PUT", path, body, C + "/shards", status=400),
                             "Bad request: Distributed mode disabled")
        self.assertEqual(self.call("POST", "/collections/k/shards/delete", {"shard_key": "eu"},
                                   status=400), "Bad request: Distributed mode disabled")
        self.assertEqual(self.call("GET", "/collections/k/shards", None, C + "/shards"),
                         {"shard_keys": []})
        self.make("auto")
        self.assertEqual(self.call("GET", "/collections/auto/shards"), {"shard_keys": None})
        self.assertEqual(self.call("POST", "/collections/k/cluster",
                                   {"drop_replica": {"shard_id": 0, "peer_id": 1}},
                                   C + "/cluster", status=400),
                         "Bad request: Distributed mode disabled")
        self.call("POST", "/collections/k/cluster", {"nonsense": {}}, status=400)
        self.assertEqual(self.call("DELETE", "/cluster/peer/7", None, "/cluster/peer/{peer_id}",
                                   status=400), "Bad request: Distributed mode disabled.")
        self.assertEqual(self.call("POST", "/cluster/recover", status=405),
                         "Qdrant is running in standalone mode")
        self.assertTrue(self.call("DELETE", "/issues", None, "/issues"))
        tele = self.call("GET", "/cluster/telemetry?details_level=2", None, "/cluster/telemetry")
        self.assertEqual(tele["collections"]["k"]["id"], "k")
        self.call("GET", "/cluster/telemetry?timeout=0", status=422)

    def test_quotas(self):
        got = self.call("GET", "/quotas", None, "/quotas")
        self.assertEqual(got["config"], {"enabled": False})
        SPEC.validate_schema("QuotaUsage", got["usage"])
        self.assertTrue(self.call("PUT", "/quotas", {"enabled": True,
                                                     "max_disk_usage_percent": 90}, "/quotas"))
        self.assertEqual(self.call("GET", "/quotas")["config"],
                         {"enabled": True, "max_disk_usage_percent": 90})
        err = self.call("PUT", "/quotas", {"max_resident_memory_percent": 0}, status=422)
        self.assertEqual(err, "Validation error in JSON body: [max_resident_memory_percent: "
                              "value 0 invalid, must be from 1 to 100]")
        self.call("PUT", "/quotas", {"enabled": "yes"}, status=400)
        self.assertEqual(self.call("GET", "/quotas")["config"]["max_disk_usage_percent"], 90)

    def test_optimizations(self):
        self.make("o")
        tmpl = C + "/optimizations"
        got = self.call("GET", "/collections/o/optimizations", None, tmpl)
        self.assertEqual(got["running"], [])
        self.assertNotIn("queued", got)
        got = self.call("GET", "/collections/o/optimizations?with=queued,completed,idle_segments"
                        "&completed_limit=3", None, tmpl)
        self.assertEqual((got["queued"], got["completed"]), ([], []))
        self.assertEqual(len(got["idle_segments"]), 1)
        self.call("GET", "/collections/o/optimizations?with=everything", status=400)
        self.call("GET", "/collections/nope/optimizations", status=404)


class DistributedTest(Base):
    server_args = ("--distributed", "1")

    def test_shard_keys(self):
        self.make("k", {"vectors": {"size": 2, "distance": "Dot"}, "sharding_method": "custom"})
        self.assertTrue(self.call("PUT", "/collections/k/shards", {"shard_key": "eu"},
                                  C + "/shards"))
        self.assertTrue(self.call("PUT", "/collections/k/shards",
                                  {"shard_key": 7, "shards_number": 2}))
        self.assertTrue(self.call("POST", "/collections/k/cluster",
                                  {"create_sharding_key": {"shard_key": "us"}}, C + "/cluster"))
        keys = self.call("GET", "/collections/k/shards", None, C + "/shards")
        self.assertEqual(keys, {"shard_keys": [{"key": "eu"}, {"key": 7}, {"key": "us"}]})
        self.assertEqual(self.call("PUT", "/collections/k/shards", {"shard_key": "eu"},
                                   status=400), "Bad request: Shard key eu already exists")
        self.call("PUT", "/collections/k/shards", {"shard_key": "x", "shards_number": 0},
                  status=422)
        self.call("PUT", "/collections/k/shards", {"shard_key": [1]}, status=400)
        self.call("PUT", "/collections/k/shards", {}, status=400)
        self.assertTrue(self.call("POST", "/collections/k/shards/delete", {"shard_key": 7},
                                  C + "/shards/delete"))
        self.assertTrue(self.call("POST", "/collections/k/cluster",
                                  {"drop_sharding_key": {"shard_key": "us"}}))
        self.assertEqual(self.call("GET", "/collections/k/shards"),
                         {"shard_keys": [{"key": "eu"}]})
        self.call("POST", "/collections/k/shards/delete", {"shard_key": 7}, status=404)
        self.make("auto")
        self.call("PUT", "/collections/auto/shards", {"shard_key": "eu"}, status=400)
        self.call("PUT", "/collections/nope/shards", {"shard_key": "eu"}, status=404)
        self.assertTrue(self.call("POST", "/cluster/recover", None, "/cluster/recover"))


class SampleTest(Base):
    def test_random_sample_differs_between_calls(self):
        """`{"sample":"random"}` draws a fresh order each call (Qdrant's is random too)."""
        self.make("rs", {"vectors": {"size": 1, "distance": "Dot"}})
        self.call("PUT", "/collections/rs/points?wait=true",
                  {"points": [{"id": i, "vector": [i]} for i in range(1, 41)]})
        orders = set()
        for _ in range(8):
            pts = self.call("POST", "/collections/rs/points/query",
                            {"query": {"sample": "random"}, "limit": 10})["points"]
            self.assertEqual(len({p["id"] for p in pts}), 10)
            orders.add(tuple(p["id"] for p in pts))
        # 8 draws of 10 out of 40 all equal by chance: probability far below 1e-80.
        self.assertGreater(len(orders), 1)


if __name__ == "__main__":
    harness.main()

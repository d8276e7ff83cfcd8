# The cache after the writes fake_qdrant did not route before issue 19: named vectors created and
# dropped, shard keys dropped (their points vanish), snapshots recovered or uploaded (data
# replaced). Each, sent through the gateway, must end the HIT of a read of that collection.
import unittest

import harness

READ = {"query": [1, 1], "using": "a", "limit": 3, "with_payload": True}


class CacheClusterWritesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up = harness.start_fake_qdrant("--distributed", "1", "--snapshot-mb", "1")
        cls.gw = harness.start_gateway(cls.up.port, workers=1)
        c = harness.HttpClient(cls.up.port)
        s, _, b = c.request("PUT", "/collections/c", {
            "vectors": {"a": {"size": 2, "distance": "Dot"}}, "sharding_method": "custom"})
        assert s == 200, b
        s, _, b = c.request("PUT", "/collections/c/shards", {"shard_key": "eu"})
        assert s == 200, b
        pts = [{"id": i, "vector": {"a": [1, i]}, "payload": {"n": i}} for i in range(1, 9)]
        s, _, b = c.request("PUT", "/collections/c/points?wait=true", {"points": pts})
        assert s == 200, b
        s, _, b = c.request("POST", "/collections/c/snapshots")
        assert s == 200, b
        import json
        cls.snap = json.loads(b)["result"]
        c.close()
        harness.wait_caching(cls.gw.port)
        cls.cl = harness.CacheClient(cls.gw.port)

    @classmethod
    def tearDownClass(cls):
        cls.cl.close()
        cls.gw.cleanup()
        cls.up.cleanup()

    def read(self):
        s, x, doc, _ = self.cl.req("POST", "/collections/c/points/query", READ)
        self.assertEqual(s, 200, doc)
        return x

    def hit(self):
        for _ in range(80):
            if self.read() == "HIT":
                return
        self.fail("the read never became a HIT")

    def check_invalidates(self, method, path, body=None, headers=None, status=200):
        self.hit()
        s, _, doc, _ = self.cl.req(method, path, body, headers)
        self.assertEqual(s, status, doc)
        self.assertNotEqual(self.read(), "HIT", "%s %s left the cached read in place" %
                            (method, path))

    def test_schema_and_data_replacing_writes_invalidate(self):
        cases = [
            ("PUT", "/collections/c/vectors/b?wait=true", {"dense": {"size": 2, "distance": "Dot"}}),
            ("DELETE", "/collections/c/vectors/b?wait=true", None),
            ("PUT", "/collections/c/shards", {"shard_key": "us"}),
            ("POST", "/collections/c/shards/delete", {"shard_key": "us"}),
            ("POST", "/collections/c/cluster", {"drop_sharding_key": {"shard_key": "eu"}}),
            ("PUT", "/collections/c/snapshots/recover",
             {"location": "file:///snapshots/c/" + self.snap["name"]}),
        ]
        for method, path, body in cases:
            with self.subTest(method=method, path=path):
                self.check_invalidates(method, path, body)
        with self.subTest("upload"):
            self.check_invalidates("POST", "/collections/c/snapshots/upload?wait=true", b"xyz",
                                   {"Content-Type": "application/octet-stream"})
        with self.subTest("shard upload"):
            self.check_invalidates("POST", "/collections/c/shards/0/snapshots/upload", b"xyz",
                                   {"Content-Type": "application/octet-stream"})


if __name__ == "__main__":
    harness.main()

# Compressed answers through the gateway: fake_qdrant gzips like Qdrant's actix Compress
# middleware (chunked), so a client asking gzip gets gzip bytes that decode to the identity JSON;
# cached entries never hand one client's coding to another (Accept-Encoding is part of the key);
# and a large gzip answer, relayed and stored, reaches HTTP/1.1 and HTTP/2 clients byte for byte
# (curl raw and with --compressed).
import gzip
import http.client
import json
import os
import subprocess
import tempfile
import unittest
import zlib

import harness

BIG_POINTS = 1500
BIG_BLOB = 2000  # random hex characters per point: ~3 MB identity, ~1.6 MB gzip


def decode(hdrs, body):
    enc = hdrs.get("content-encoding")
    if enc == "gzip":
        return gzip.decompress(body)
    if enc == "deflate":
        return zlib.decompress(body)
    assert enc is None, enc
    return body


class Raw:
    """One keep-alive HTTP/1.1 connection that returns bodies exactly as sent (no decoding)."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection(harness.LOOPBACK, port, timeout=60)

    def post(self, path, body, accept=None):
        hdrs = {"Content-Type": "application/json", "Accept-Encoding": accept or "identity"}
        self.conn.request("POST", path, json.dumps(body), hdrs)
        r = self.conn.getresponse()
        data = r.read()
        hdrs = {}
        for k, v in r.getheaders():  # repeats joined, as RFC 9110 5.3 allows
            hdrs[k.lower()] = hdrs[k.lower()] + ", " + v if k.lower() in hdrs else v
        return r.status, hdrs, data

    def close(self):
        self.conn.close()


class CompressionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up = harness.start_fake_qdrant()
        cls.gw = harness.start_gateway(cls.up.port, "cache.max_entry_bytes=8MiB",
                                       "upstream.timeout=20s", workers=1)
        c = harness.HttpClient(cls.up.port)
        s, _, b = c.request("PUT", "/collections/c", {"vectors": {"size": 2, "distance": "Dot"}})
        assert s == 200, b
        pts = [{"id": i, "vector": [1, i + 1], "payload": {"n": i, "g": i % 3}} for i in range(50)]
        s, _, b = c.request("PUT", "/collections/c/points?wait=true", {"points": pts})
        assert s == 200, b
        s, _, b = c.request("PUT", "/collections/big",
                            {"vectors": {"size": 2, "distance": "Dot"}})
        assert s == 200, b
        pts = [{"id": i, "vector": [1, i + 1], "payload": {"blob": os.urandom(BIG_BLOB // 2).hex()}}
               for i in range(BIG_POINTS)]
        s, _, b = c.request("PUT", "/collections/big/points?wait=true", {"points": pts})
        assert s == 200, b
        c.close()
        harness.wait_caching(cls.gw.port)
        harness.wait_caching(cls.gw.port, "big")

    @classmethod
    def tearDownClass(cls):
        code = cls.gw.stop()
        log = cls.gw.log()
        cls.gw.cleanup()
        cls.up.cleanup()
        assert code == 0, log
        for m in harness.SANITIZER_MARKERS:
            assert m not in log, log

    def setUp(self):
        self.raw = Raw(self.gw.port)

    def tearDown(self):
        self.raw.close()

    def query(self, body, accept=None):
        s, h, data = self.raw.post("/collections/c/points/query", body, accept)
        self.assertEqual(s, 200, data)
        return h, data

    def test_gzip_decodes_to_the_identity_json(self):
        body = {"query": [1, 1], "limit": 5, "with_payload": True, "offset": 1}
        h, plain = self.query(body)
        self.assertNotIn("content-encoding", h)
        h, zipped = self.query(body, "gzip")
        self.assertEqual(h["content-encoding"], "gzip")
        self.assertIn("accept-encoding", h.get("vary", "").lower())
        self.assertEqual(harness.without_time(gzip.decompress(zipped)),
                         harness.without_time(plain))
        h, defl = self.query(body, "deflate")
        self.assertEqual(h["content-encoding"], "deflate")
        self.assertEqual(harness.without_time(zlib.decompress(defl)), harness.without_time(plain))

    def check_variants(self, body, order):
        """Sends body under each Accept-Encoding of order, twice; every answer's bytes must be
        in the coding its Content-Encoding names, and a repeat must be a HIT of the same bytes."""
        first = {}
        for accept in order + order:
            h, data = self.query(body, accept)
            doc = harness.without_time(decode(h, data))  # raises if mislabelled
            want = {"gzip": "gzip", "gzip, deflate": "gzip", "deflate": "deflate"}.get(accept)
            self.assertEqual(h.get("content-encoding"), want, (accept, h.get("x-cache")))
            if accept in first:
                self.assertEqual(h["x-cache"], "HIT", accept)
                self.assertEqual(data, first[accept][0], "a HIT replays the stored bytes")
            else:
                self.assertIn(h["x-cache"], ("MISS", "HIT"))
                first[accept] = (data, doc)
        docs = [d for _, d in first.values()]
        self.assertTrue(all(d == docs[0] for d in docs), "every coding carries the same answer")

    def test_cache_keeps_codings_apart_identity_first(self):
        self.check_variants({"query": [1, 2], "limit": 4, "with_payload": True},
                            ["identity", "gzip", "gzip, deflate", "deflate"])

    def test_cache_keeps_codings_apart_gzip_first(self):
        self.check_variants({"query": [2, 1], "limit": 4, "with_payload": True},
                            ["gzip", "identity", "deflate", "gzip, deflate"])

    def test_encoded_request_body_passes_through(self):
        body = json.dumps({"filter": {"must": [{"key": "g", "match": {"value": 1}}]}}).encode()
        conn = http.client.HTTPConnection(harness.LOOPBACK, self.gw.port, timeout=30)
        conn.request("POST", "/collections/c/points/count", gzip.compress(body),
                     {"Content-Type": "application/json", "Content-Encoding": "gzip"})
        r = conn.getresponse()
        data = r.read()
        conn.close()
        self.assertEqual((r.status, json.loads(data)["result"]), (200, {"count": 17}))

    def curl(self, http2, compressed, path, body):
        with tempfile.NamedTemporaryFile() as out, tempfile.NamedTemporaryFile() as hdr:
            argv = ["curl", "-sS", "--max-time", "60", "-X", "POST", "-D", hdr.name,
                    "-o", out.name, "-H", "Content-Type: application/json",
                    "--data-binary", json.dumps(body),
                    "http://%s:%d%s" % (harness.LOOPBACK, self.gw.port, path)]
            argv += ["--http2-prior-knowledge"] if http2 else ["--http1.1"]
            argv += ["--compressed"] if compressed else ["-H", "Accept-Encoding: gzip"]
            subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=90)
            with open(hdr.name, "rb") as f:
                head = f.read().decode("latin-1")
            hdrs = {}
            for line in head.split("\r\n")[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    hdrs[k.strip().lower()] = v.strip()
            with open(out.name, "rb") as f:
                return head.split("\r\n")[0], hdrs, f.read()

    def test_large_gzip_answer_streams_intact_h1_and_h2(self):
        path = "/collections/big/points/scroll"
        body = {"limit": BIG_POINTS, "with_payload": True}
        c = harness.HttpClient(self.up.port)
        s, _, direct = c.request("POST", path, body, {"Accept-Encoding": "identity"})
        c.close()
        self.assertEqual(s, 200)
        ref = harness.without_time(direct)
        self.assertEqual(len(ref["result"]["points"]), BIG_POINTS)
        raws = {}
        for http2 in (False, True):
            status, h, raw = self.curl(http2, False, path, body)
            self.assertIn("200", status)
            self.assertTrue(status.startswith("HTTP/2" if http2 else "HTTP/1.1"), status)
            self.assertEqual(h["content-encoding"], "gzip")
            self.assertGreater(len(raw), 1 << 20)
            self.assertEqual(harness.without_time(gzip.decompress(raw)), ref)  # CRC and size too
            raws.setdefault(h["x-cache"], []).append(raw)
            status, h, plain = self.curl(http2, True, path, body)
            self.assertEqual(harness.without_time(plain), ref, "curl --compressed")
        self.assertEqual(sorted(raws), ["HIT", "MISS"], raws.keys())
        # The stored entry is the relayed bytes exactly, and HTTP/2 gets the same bytes.
        self.assertEqual(raws["HIT"][0], raws["MISS"][0])
        # An identity client of the same read gets identity bytes, never the stored gzip.
        s, h, data = self.raw.post(path, body)
        self.assertNotIn("content-encoding", h)
        self.assertEqual(harness.without_time(data), ref)


if __name__ == "__main__":
    harness.main()

# fake_qdrant's own server tests: api-key rules, fault switches (errors, resets, latency, slow
# bodies, keep-alive timeout), deferred writes (--async-apply-ms), snapshots streamed both ways,
# /metrics, test hooks, HTTP details, gzip / deflate answers and request bodies.
import gzip
import hashlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
import unittest
import zlib

import harness
from harness import recv_all

SPEC = harness.QdrantSpec()
C = "/collections/{collection_name}"
ERR_INJECTED = "Service internal error: injected fault"


class Server:
    """A fake_qdrant process for one test, stopped with SIGTERM (exit code must be 0)."""

    def __init__(self, *args):
        self.proc = harness.start_fake_qdrant(*args)
        self.port = self.proc.port
        self.http = harness.HttpClient(self.port)

    def stop(self):
        self.http.close()
        code = self.proc.stop()
        log = self.proc.log()
        self.proc.cleanup()
        assert code == 0, "exit %s: %s" % (code, log)
        assert log == "", "fake_qdrant printed: %r" % log

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def create(http, name="c", size=2, points=None):
    http.json("PUT", "/collections/" + name, {"vectors": {"size": size, "distance": "Dot"}})
    if points:
        http.json("PUT", "/collections/%s/points?wait=true" % name, {"points": points})


class AuthTest(unittest.TestCase):
    def test_keys_whitelist_and_read_only(self):
        with Server("--api-key", "rw-key", "--read-only-api-key", "ro-key") as srv:
            h = srv.http
            s, hd, b = h.request("GET", "/collections")
            self.assertEqual((s, b), (401, b"Must provide an API key or an Authorization bearer token"))
            self.assertNotIn("content-type", hd)
            s, _, b = h.request("GET", "/collections", headers={"api-key": "nope"})
            self.assertEqual((s, b), (401, b"Invalid API key or JWT"))
            s, _, b = h.request("GET", "/collections", headers={"Authorization": "bearer rw-key"})
            self.assertEqual(s, 401)  # the "Bearer " prefix is case-sensitive
            s, _, b = h.request("GET", "/collections", headers={"api-key": "nope",
                                                               "Authorization": "Bearer rw-key"})
            self.assertEqual(s, 401)  # api-key wins over Authorization
            for hdrs in ({"api-key": "rw-key"}, {"Authorization": "Bearer rw-key"},
                         {"api-key": "ro-key"}):
                self.assertEqual(h.request("GET", "/collections", headers=hdrs)[0], 200, hdrs)
            for path in ("/", "/healthz", "/livez", "/readyz", "/__fake/stats"):
                self.assertEqual(h.request("GET", path)[0], 200, path)
            for path in ("/metrics", "/telemetry", "/nope"):
                self.assertEqual(h.request("GET", path)[0], 401, path)
            self.assertEqual(h.request("GET", "/metrics", headers={"api-key": "ro-key"})[0], 200)
            self.assertEqual(h.request("GET", "/nope", headers={"api-key": "ro-key"})[0], 404)
            ro = {"api-key": "ro-key"}
            s, doc, _ = h.json("PUT", "/collections/c", {"vectors": {"size": 2, "distance": "Dot"}},
                               headers=ro)
            self.assertEqual(s, 403)
            SPEC.validate("PUT", C, s, doc)
            self.assertEqual(doc["status"]["error"], "Forbidden: Global manage access is required")
            rw = {"api-key": "rw-key"}
            s, _, _ = h.json("PUT", "/collections/c", {"vectors": {"size": 2, "distance": "Dot"}},
                             headers=rw)
            self.assertEqual(s, 200)
            for method, path, body in (("PUT", "/collections/c/points", {"points": []}),
                                       ("DELETE", "/collections/c", None),
                                       ("POST", "/collections/c/snapshots", None)):
                self.assertEqual(h.json(method, path, body, headers=ro)[0], 403, path)
            for method, path, body in (("POST", "/collections/c/points/query", {}),
                                       ("POST", "/collections/c/points", {"ids": [1]}),
                                       ("GET", "/collections/c", None)):
                self.assertEqual(h.json(method, path, body, headers=ro)[0], 200, path)


class FaultsTest(unittest.TestCase):
    def test_error_rate(self):
        with Server("--error-rate", "1") as srv:
            s, hd, b = srv.http.request("GET", "/collections")
            self.assertEqual(s, 500)
            doc = json.loads(b)
            SPEC.validate("GET", "/collections", 500, doc)
            self.assertEqual(doc["status"], {"error": ERR_INJECTED})
            self.assertEqual(set(doc), {"status", "time"})
            stats = srv.http.json("GET", "/__fake/stats")[1]
            self.assertEqual(stats["faults"]["errors"], 1)
        with Server("--error-rate", "0.5", "--seed", "7") as srv:
            codes = [srv.http.request("GET", "/healthz")[0] for _ in range(200)]
            self.assertTrue(60 < codes.count(500) < 140, codes.count(500))
            self.assertEqual(set(codes), {200, 500})

    def test_reset_rate(self):
        with Server("--reset-rate", "1") as srv:
            for _ in range(3):  # closed with a TCP reset, nothing answered
                try:
                    out = harness.raw_exchange(srv.port,
                                               b"GET /collections HTTP/1.1\r\nHost: x\r\n\r\n")
                except ConnectionResetError:
                    out = b""
                self.assertEqual(out, b"")
            stats = srv.http.json("GET", "/__fake/stats")[1]
            self.assertEqual(stats["faults"]["resets"], 3)
            self.assertEqual(stats["requests"]["get_collections"], 3)

    def test_latency_only_on_search_reads(self):
        with Server("--latency-ms", "300") as srv:
            create(srv.http, points=[{"id": 1, "vector": [1, 0]}])
            for method, path, body, slow in (
                    ("POST", "/collections/c/points/query", {"query": [1, 0]}, True),
                    ("POST", "/collections/c/points/scroll", {}, True),
                    ("POST", "/collections/c/points/count", {}, True),
                    ("POST", "/collections/c/points/search", {"vector": [1, 0], "limit": 1}, True),
                    ("POST", "/collections/c/points", {"ids": [1]}, False),
                    ("GET", "/collections", None, False)):
                t = time.monotonic()
                s, _, _ = srv.http.json(method, path, body)
                took = time.monotonic() - t
                self.assertEqual(s, 200)
                if slow:
                    self.assertGreaterEqual(took, 0.29, path)
                else:
                    self.assertLess(took, 0.25, path)

    def test_latency_does_not_block_the_loop(self):
        with Server("--latency-ms", "500") as srv:
            create(srv.http)
            done = []
            t = threading.Thread(target=lambda: done.append(harness.HttpClient(srv.port).json(
                "POST", "/collections/c/points/query", {})[0]))
            start = time.monotonic()
            t.start()
            time.sleep(0.1)
            self.assertEqual(srv.http.request("GET", "/healthz")[0], 200)
            self.assertLess(time.monotonic() - start, 0.45)
            t.join()
            self.assertEqual(done, [200])

    def test_slow_body(self):
        with Server("--slow-body-ms", "40") as srv:
            create(srv.http)
            s, _, ref = srv.http.request("GET", "/collections/c")
            with socket.create_connection((harness.LOOPBACK, srv.port)) as sock:
                start = time.monotonic()
                sock.sendall(b"GET /collections/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                raw = recv_all(sock)
                took = time.monotonic() - start
            head, body = raw.split(b"\r\n\r\n", 1)
            self.assertIn(b"content-length: %d" % len(body), head)
            self.assertEqual(json.loads(body)["result"], json.loads(ref)["result"])
            pieces = -(-len(body) // max(64, len(body) // 20 + 1))
            self.assertGreaterEqual(took, 0.04 * (pieces - 1) * 0.9)

    def test_keepalive_timeout(self):
        with Server("--keepalive-timeout", "1") as srv:
            with socket.create_connection((harness.LOOPBACK, srv.port)) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                sock.settimeout(3)
                first = sock.recv(65536)
                self.assertIn(b"healthz check passed", first)
                start = time.monotonic()
                self.assertEqual(sock.recv(65536), b"")  # closed by the server when idle
                self.assertTrue(0.7 < time.monotonic() - start < 2.5)


class AsyncApplyTest(unittest.TestCase):
    """--async-apply-ms: writes without wait=true are acknowledged at once, applied later."""

    def write(self, http, method, path, body, template, op=None):
        s, doc, _ = http.json(method, path, body)
        self.assertEqual(s, 200, doc)
        SPEC.validate(method, template, s, doc)
        result = doc["result"]
        for r in result if isinstance(result, list) else [result]:
            self.assertEqual(r["status"], "completed" if "wait=true" in path else "acknowledged")
        if op is not None:
            self.assertEqual(result["operation_id"], op)
        return result

    def point(self, http, pid):
        """The point as retrieved (payload and version), or None when not (yet) there."""
        s, doc, _ = http.json("POST", "/collections/c/points/query",
                              {"filter": {"must": [{"has_id": [pid]}]}, "with_payload": True})
        self.assertEqual(s, 200, doc)
        pts = doc["result"]["points"]
        return (pts[0]["payload"], pts[0]["version"]) if pts else None

    def queue(self, http):
        return http.json("GET", "/collections/c")[1]["result"]["update_queue"]["length"]

    def test_wait_false_applied_later(self):
        with Server("--async-apply-ms", "300") as srv:
            h = srv.http
            create(h)
            t = time.monotonic()
            self.write(h, "PUT", "/collections/c/points",
                       {"points": [{"id": 1, "vector": [1, 0], "payload": {"a": 1}}]},
                       C + "/points", op=0)
            self.assertIsNone(self.point(h, 1))  # not applied yet: old data
            s, doc, _ = h.json("GET", "/collections/c/points/1")
            self.assertEqual(s, 404, doc)
            self.assertEqual(h.json("POST", "/collections/c/points/count", {})[1]["result"],
                             {"count": 0})
            self.assertEqual(self.queue(h), 1)
            # errors are still answered at once, queue nothing and use no operation id
            s, doc, _ = h.json("PUT", "/collections/c/points",
                               {"points": [{"id": 2, "vector": [1, 0, 0]}]})
            self.assertEqual(s, 400, doc)
            self.assertLess(time.monotonic() - t, 0.25)
            time.sleep(1)
            self.assertEqual(self.point(h, 1), ({"a": 1}, 0))
            self.assertEqual(self.queue(h), 0)
            # payload index and batch writes are deferred as well, in order
            self.write(h, "PUT", "/collections/c/index", {"field_name": "a",
                                                         "field_schema": "integer"},
                       C + "/index", op=1)
            res = self.write(h, "POST", "/collections/c/points/batch", {"operations": [
                {"upsert": {"points": [{"id": 3, "vector": [0, 1]}]}},
                {"set_payload": {"payload": {"b": 2}, "points": [3]}}]},
                C + "/points/batch")
            self.assertEqual([r["operation_id"] for r in res], [2, 3])
            info = h.json("GET", "/collections/c")[1]["result"]
            self.assertEqual(info["payload_schema"], {})
            self.assertEqual(info["update_queue"], {"length": 3})
            self.assertIsNone(self.point(h, 3))
            time.sleep(1)
            info = h.json("GET", "/collections/c")[1]["result"]
            self.assertEqual(info["payload_schema"]["a"]["data_type"], "integer")
            self.assertEqual(self.point(h, 3), ({"b": 2}, 3))

    def test_wait_true_applies_pending_first(self):
        with Server("--async-apply-ms", "300") as srv:
            h = srv.http
            create(h)
            self.write(h, "PUT", "/collections/c/points",
                       {"points": [{"id": 1, "vector": [1, 0], "payload": {"a": 1}}]},
                       C + "/points", op=0)
            self.write(h, "PUT", "/collections/c/points/payload",
                       {"payload": {"a": 2}, "points": [1]}, C + "/points/payload", op=1)
            self.assertIsNone(self.point(h, 1))
            # wait=true: both pending writes are applied first, in order, then this one
            self.write(h, "POST", "/collections/c/points/payload?wait=true",
                       {"payload": {"b": 3}, "points": [1]}, C + "/points/payload", op=2)
            self.assertEqual(self.point(h, 1), ({"a": 2, "b": 3}, 2))
            self.assertEqual(self.queue(h), 0)
            time.sleep(0.6)  # the timer finds nothing left: the data never goes backwards
            self.assertEqual(self.point(h, 1), ({"a": 2, "b": 3}, 2))

    def test_delete_collection_drops_pending(self):
        with Server("--async-apply-ms", "300") as srv:
            h = srv.http
            create(h)
            self.write(h, "PUT", "/collections/c/points",
                       {"points": [{"id": 1, "vector": [1, 0]}]}, C + "/points", op=0)
            self.assertEqual(h.json("DELETE", "/collections/c")[1]["result"], True)
            create(h)
            time.sleep(0.6)
            self.assertIsNone(self.point(h, 1))
            self.assertEqual(self.queue(h), 0)
            # pending at shutdown: freed, exit 0 and silent (checked by Server.stop)
            self.write(h, "PUT", "/collections/c/points",
                       {"points": [{"id": 1, "vector": [1, 0]}]}, C + "/points", op=0)


def rss_limit_kb(proc, kb):
    """kb, or much more for sanitizer builds (ASan's quarantine holds freed chunks)."""
    with open("/proc/%d/maps" % proc.pid) as f:
        return kb * 8 if "libasan" in f.read() else kb


class SnapshotTest(unittest.TestCase):
    def test_create_list_download_delete(self):
        with Server("--snapshot-mb", "2") as srv:
            h = srv.http
            create(h, points=[{"id": 1, "vector": [1, 0]}])
            s, doc, _ = h.json("POST", "/collections/c/snapshots")
            self.assertEqual(s, 200)
            SPEC.validate("POST", C + "/snapshots", 200, doc)
            snap = doc["result"]
            self.assertEqual(snap["size"], 2 << 20)
            self.assertRegex(snap["name"], r"^c-\d+-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.snapshot$")
            s, doc, _ = h.json("GET", "/collections/c/snapshots")
            SPEC.validate("GET", C + "/snapshots", 200, doc)
            self.assertEqual(doc["result"], [snap])
            s, hd, body = h.request("GET", "/collections/c/snapshots/" + snap["name"])
            self.assertEqual(s, 200)
            self.assertEqual(hd["content-type"], "application/octet-stream")
            self.assertEqual(hd["content-length"], str(2 << 20))
            self.assertEqual(len(body), 2 << 20)
            self.assertEqual(hashlib.sha256(body).hexdigest(), snap["checksum"])
            s, doc, _ = h.json("POST", "/collections/c/snapshots?wait=false")
            self.assertEqual(s, 202)
            SPEC.validate("POST", C + "/snapshots", 202, doc)
            self.assertEqual(set(doc), {"status", "time"})
            self.assertEqual(doc["status"], "accepted")
            s, doc, _ = h.json("DELETE", "/collections/c/snapshots/" + snap["name"])
            self.assertEqual((s, doc["result"]), (200, True))
            SPEC.validate("DELETE", C + "/snapshots/{snapshot_name}", 200, doc)
            s, doc, _ = h.json("GET", "/collections/c/snapshots/" + snap["name"])
            self.assertEqual(s, 404)
            SPEC.validate("GET", C + "/snapshots/{snapshot_name}", 404, doc)

    def test_streams_keep_memory_small(self):
        with Server("--snapshot-mb", "48") as srv:
            create(srv.http)
            snap = srv.http.json("POST", "/collections/c/snapshots")[1]["result"]
            base = srv.proc.rss_kb()
            limit = rss_limit_kb(srv.proc, 16 * 1024)
            with socket.create_connection((harness.LOOPBACK, srv.port)) as sock:
                sock.sendall(b"GET /collections/c/snapshots/%s HTTP/1.1\r\nHost: x\r\n"
                             b"Connection: close\r\n\r\n" % snap["name"].encode())
                time.sleep(0.5)  # a stalled reader: only socket buffers may fill up
                self.assertLess(srv.proc.rss_kb() - base, limit)
                raw = recv_all(sock)
            head, body = raw.split(b"\r\n\r\n", 1)
            self.assertIn(b"content-length: %d\r\n" % (48 << 20), head)
            self.assertEqual(hashlib.sha256(body).hexdigest(), snap["checksum"])
            self.assertLess(srv.proc.rss_kb() - base, limit)
            data = os.urandom(1 << 20) * 40
            digest = hashlib.sha256(data).hexdigest()
            for chunked in (False, True):  # an iterator body makes http.client send chunks
                body = iter([data[i:i + 65536] for i in range(0, len(data), 65536)]) \
                    if chunked else data
                s, hd, b = srv.http.request("POST", "/collections/c/snapshots/upload", body,
                                            headers={"Content-Type": "application/octet-stream"})
                self.assertEqual(s, 200, b)
                doc = json.loads(b)
                SPEC.validate("POST", C + "/snapshots/upload", 200, doc)
                self.assertIs(doc["result"], True)
                self.assertEqual(hd["x-fake-received-bytes"], str(len(data)))
                self.assertEqual(hd["x-fake-received-sha256"], digest)
            self.assertLess(srv.proc.rss_kb() - base, limit)

    def test_upload_multipart_and_checksum(self):
        with Server() as srv:
            path = "/tmp/fq-upload-%d.snapshot" % os.getpid()
            with open(path, "wb") as f:
                f.write(b"snapshot-bytes" * 1000)
            try:
                s, hd, b = harness.curl(srv.port, "POST", "/collections/new/snapshots/upload",
                                        extra=["-F", "snapshot=@" + path])
            finally:
                os.unlink(path)
            self.assertEqual(s, 200, b)
            self.assertGreater(int(hd["x-fake-received-bytes"]), 14000)
            self.assertRegex(hd["x-fake-received-sha256"], r"^[0-9a-f]{64}$")
            body = b"raw-snapshot"
            want = hashlib.sha256(body).hexdigest()
            s, hd, b = srv.http.request("POST", "/collections/c/snapshots/upload?checksum=" + want,
                                        body)
            self.assertEqual(s, 200)
            s, hd, b = srv.http.request("POST", "/collections/c/snapshots/upload?checksum=00", body)
            self.assertEqual(s, 400)
            self.assertEqual(json.loads(b)["status"]["error"],
                             "Checksum mismatch: expected 00, actual " + want)


class HooksAndMetricsTest(unittest.TestCase):
    def test_stats_and_echo(self):
        with Server() as srv:
            h = srv.http
            for _ in range(3):
                h.request("GET", "/collections")
            h.request("GET", "/nope")
            # the harness's readiness probe was a connection too: count from here
            accepted = h.json("GET", "/__fake/stats")[1]["connections_accepted"]
            harness.raw_exchange(srv.port, b"GET /collections HTTP/1.1\r\nConnection: close\r\n\r\n")
            stats = h.json("GET", "/__fake/stats")[1]
            self.assertEqual(stats["requests"], {"get_collections": 4, "unmatched": 1})
            self.assertEqual(stats["requests_by_route"]["GET /collections"], 4)
            self.assertEqual(stats["requests_total"], 5)
            self.assertEqual(stats["connections_accepted"], accepted + 1)
            self.assertEqual(stats["connections_with_requests"], 2)
            self.assertEqual(stats["responses_by_status"], {"200": 4, "404": 1})
            self.assertEqual(stats["recent"][-1]["target"], "/collections")
            s, doc, _ = h.json("GET", "/__fake/echo?x=1", headers={"X-Request-Id": "r1",
                                                                   "X-Forwarded-For": "127.0.0.9"})
            self.assertEqual(doc["method"], "GET")
            self.assertEqual(doc["target"], "/__fake/echo?x=1")
            self.assertEqual(doc["version"], "HTTP/1.1")
            self.assertEqual(doc["headers"]["X-Request-Id"], "r1")
            self.assertIn(["X-Forwarded-For", "127.0.0.9"], doc["header_list"])
            s, doc, _ = h.json("POST", "/__fake/echo", b"hello", headers={"Content-Type": "x/y"})
            self.assertEqual(doc["body_length"], 5)
            self.assertEqual(doc["body_sha256"], hashlib.sha256(b"hello").hexdigest())
            raw = harness.raw_exchange(srv.port, b"GET /__fake/echo HTTP/1.0\r\nA: 1\r\nA: 2\r\n\r\n")
            doc = json.loads(raw.split(b"\r\n\r\n", 1)[1])
            self.assertEqual((doc["version"], doc["headers"]["A"]), ("HTTP/1.0", "1, 2"))
            self.assertEqual(h.json("GET", "/__fake/stats")[1]["requests_total"], 5)
            h.request("POST", "/__fake/stats/reset")
            self.assertEqual(h.json("GET", "/__fake/stats")[1]["requests_total"], 0)
            create(h, "gone")
            h.request("POST", "/__fake/reset")
            self.assertEqual(h.json("GET", "/collections")[1]["result"], {"collections": []})

    def test_metrics(self):
        with Server() as srv:
            h = srv.http
            create(h, "m", points=[{"id": 1, "vector": [1, 0]}, {"id": 2, "vector": [0, 1]}])
            for _ in range(3):
                h.json("POST", "/collections/m/points/query", {"query": [1, 0]})
            h.json("POST", "/collections/zz/points/query", {"query": [1, 0]})
            s, hd, b = h.request("GET", "/metrics")
            self.assertEqual(s, 200)
            self.assertEqual(hd["content-type"], "text/plain; charset=utf-8")
            text = b.decode()
            for piece in ("# HELP app_info information about qdrant server\n",
                          "# TYPE app_info gauge\n", 'app_info{name="qdrant",version="1.19.0"} 1\n',
                          "collections_total 1\n", 'collection_points{id="m"} 2\n',
                          '# TYPE rest_responses_total counter\n',
                          'rest_responses_total{endpoint="/collections/{collection_name}/points/query"'
                          ',method="POST",status="200"} 3\n',
                          'rest_responses_total{endpoint="/collections/{collection_name}/points/query"'
                          ',method="POST",status="404"} 1\n',
                          'rest_responses_avg_duration_seconds{endpoint="/collections/'
                          '{collection_name}/points/query",method="POST",status="200"} '):
                self.assertIn(piece, text)


class HttpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server()
        create(cls.srv.http, points=[{"id": 1, "vector": [1, 0]}])

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def exchange(self, data, timeout=2.0):
        return harness.raw_exchange(self.srv.port, data, read_timeout=timeout)

    def test_pipelining_and_keepalive(self):
        req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        out = self.exchange(req * 2 + b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(out.count(b"HTTP/1.1 200 OK"), 3)
        self.assertTrue(out.endswith(b"all shards are ready"))
        self.assertIn(b"connection: close", out)

    def test_chunked_expect_and_http10(self):
        body = b'{"query":[1,0]}'
        req = (b"POST /collections/c/points/query HTTP/1.1\r\nHost: x\r\nContent-Type: "
               b"application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               b"5\r\n" + body[:5] + b"\r\n" + b"%x\r\n" % (len(body) - 5) + body[5:] +
               b"\r\n0\r\n\r\n")
        out = self.exchange(req)
        self.assertIn(b'"points":[{"id":1,"version":0,"score":1.0}]', out)
        with socket.create_connection((harness.LOOPBACK, self.srv.port), timeout=3) as s:
            s.sendall(b"POST /collections/c/points/count HTTP/1.1\r\nHost: x\r\nContent-Length: 2"
                      b"\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
            self.assertEqual(s.recv(64), b"HTTP/1.1 100 Continue\r\n\r\n")
            s.sendall(b"{}")
            out = recv_all(s)
        self.assertIn(b'{"result":{"count":1}', out)
        out = self.exchange(b"GET /collections HTTP/1.0\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 200 OK\r\n"), out)
        self.assertIn(b"connection: close", out)

    def test_bad_requests(self):
        self.assertTrue(self.exchange(b"NOT A REQUEST\r\n\r\n").startswith(b"HTTP/1.1 400 "))
        out = self.exchange(b"POST /collections/c/points/query HTTP/1.1\r\nContent-Length: 41943040"
                            b"\r\n\r\n")
        self.assertIn(b"400 Bad Request", out)
        self.assertIn(b'"JSON payload (41943040 bytes) is larger than allowed (limit: 33554432 '
                      b'bytes)."', out)
        out = self.exchange(b"POST /collections/c/points/query HTTP/1.1\r\nContent-Length: 1\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 400 "))


def dechunk(data, counts=None):
    """The payload of an HTTP/1.1 chunked body (raises on bad framing); appends the number of
    chunks to counts when given."""
    out, rest = b"", data
    while True:
        size, rest = rest.split(b"\r\n", 1)
        n = int(size, 16)
        if n == 0:
            assert rest == b"\r\n", rest
            if counts is not None:
                counts.append(len(counts))
            return out
        out, rest = out + rest[:n], rest[n:]
        if counts is not None:
            counts.append(n)
        assert rest[:2] == b"\r\n"
        rest = rest[2:]


class CompressionTest(unittest.TestCase):
    """actix's Compress middleware and the Json extractor's decoding, as Qdrant runs them."""

    @classmethod
    def setUpClass(cls):
        cls.srv = Server()
        create(cls.srv.http, points=[{"id": i, "vector": [i, 1], "payload": {
            "t": "x" * 200, "r": os.urandom(150).hex()}} for i in range(1, 400)])

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def get(self, path, accept, version=b"1.1"):
        out = harness.raw_exchange(self.srv.port, b"GET %s HTTP/%s\r\nHost: x\r\nAccept-Encoding: "
                                   b"%s\r\nConnection: close\r\n\r\n" % (path, version, accept))
        head, body = out.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        hdrs = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            hdrs.setdefault(k.lower(), []).append(v.strip())
        return lines[0], hdrs, body

    def test_gzip_and_deflate_answers(self):
        _, plain_h, plain = self.get(b"/collections/c", b"identity")
        self.assertNotIn("content-encoding", plain_h)
        doc = json.loads(plain)
        status, h, body = self.get(b"/collections/c", b"gzip, deflate, br")
        self.assertEqual(status, "HTTP/1.1 200 OK")
        self.assertEqual(h["content-encoding"], ["gzip"])
        self.assertEqual(h["transfer-encoding"], ["chunked"])
        self.assertNotIn("content-length", h)
        self.assertIn("accept-encoding", h["vary"])
        got = json.loads(gzip.decompress(dechunk(body)))
        self.assertEqual(harness.without_time(got), harness.without_time(doc))
        _, h, body = self.get(b"/collections/c", b"deflate")
        self.assertEqual(h["content-encoding"], ["deflate"])
        self.assertEqual(harness.without_time(json.loads(zlib.decompress(dechunk(body)))),
                         harness.without_time(doc))
        _, h, body = self.get(b"/collections/c", b"gzip;q=0.2, deflate;q=0.5")
        self.assertEqual(h["content-encoding"], ["deflate"])
        for refused in (b"gzip;q=0", b"br", b"zstd, identity"):
            _, h, body = self.get(b"/collections/c", refused)
            self.assertNotIn("content-encoding", h, refused)
            json.loads(body)
        _, h, body = self.get(b"/collections/c", b"gzip", version=b"1.0")
        self.assertEqual(h["content-encoding"], ["gzip"])
        self.assertEqual(int(h["content-length"][0]), len(body))
        json.loads(gzip.decompress(body))
        _, h, body = self.get(b"/healthz", b"gzip")
        self.assertEqual(gzip.decompress(dechunk(body)), b"healthz check passed")
        _, h, body = self.get(b"/collections/nope/points/1", b"gzip")
        self.assertIn("doesn't exist", json.loads(gzip.decompress(dechunk(body)))["status"]["error"])

    def test_large_answer_in_many_chunks(self):
        body = json.dumps({"limit": 1000, "with_payload": True}).encode()
        out = harness.raw_exchange(self.srv.port, b"POST /collections/c/points/scroll HTTP/1.1\r\n"
                                   b"Host: x\r\nAccept-Encoding: gzip\r\nContent-Length: %d\r\n"
                                   b"Connection: close\r\n\r\n%s" % (len(body), body))
        raw = out.split(b"\r\n\r\n", 1)[1]
        chunks = []
        doc = json.loads(gzip.decompress(dechunk(raw, chunks)))
        self.assertGreater(len(chunks), 3)
        self.assertEqual(len(doc["result"]["points"]), 399)

    def test_encoded_request_bodies(self):
        h = self.srv.http
        body = json.dumps({"filter": {"must": [{"key": "t", "match": {"value": "x" * 200}}]}})
        for enc, data in (("gzip", gzip.compress(body.encode())),
                          ("x-gzip", gzip.compress(body.encode())),
                          ("deflate", zlib.compress(body.encode()))):
            s, doc, _ = h.json("POST", "/collections/c/points/count", data,
                               {"Content-Type": "application/json", "Content-Encoding": enc})
            self.assertEqual((s, doc["result"]), (200, {"count": 399}), enc)
        s, doc, _ = h.json("POST", "/collections/c/points/count", b"not gzip",
                           {"Content-Type": "application/json", "Content-Encoding": "gzip"})
        self.assertEqual((s, doc["status"]["error"]), (400, "Error that occur during reading "
                                                           "payload: Can not decode content-encoding."))
        trunc = gzip.compress(body.encode())[:-6]
        s, _, _ = h.json("POST", "/collections/c/points/count", trunc,
                         {"Content-Type": "application/json", "Content-Encoding": "gzip"})
        self.assertEqual(s, 400)
        bomb = gzip.compress(b" " * (40 << 20))  # 40 MiB of spaces in ~40 KiB
        s, doc, _ = h.json("POST", "/collections/c/points/count", bomb,
                           {"Content-Type": "application/json", "Content-Encoding": "gzip"})
        self.assertEqual((s, doc["status"]["error"]),
                         (400, "JSON payload has exceeded limit (33554432 bytes)."))
        s, doc, _ = h.json("POST", "/collections/c/points/count", b"{}",
                           {"Content-Type": "application/json", "Content-Encoding": "br"})
        self.assertEqual(s, 400)
        self.assertLess(self.srv.proc.rss_kb(), 200 * 1024)


class CommandLineTest(unittest.TestCase):
    def run_fq(self, *args):
        return subprocess.run([harness.FAKE_QDRANT_BIN] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=10)

    def test_help_errors_and_signals(self):
        r = self.run_fq("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"--snapshot-mb", r.stdout)
        self.assertIn(b"--async-apply-ms", r.stdout)
        self.assertEqual(self.run_fq("--listen", "127.0.0.1:1", "--bogus", "1").returncode, 2)
        self.assertEqual(self.run_fq().returncode, 2)
        with Server() as srv:
            r = self.run_fq("--listen", "127.0.0.1:%d" % srv.port)
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"cannot listen", r.stderr)
        proc = harness.start_fake_qdrant()
        try:
            self.assertEqual(proc.stop(signal.SIGINT), 0)
        finally:
            proc.cleanup()


if __name__ == "__main__":
    harness.main()

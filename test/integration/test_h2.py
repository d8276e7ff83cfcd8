# HTTP/2 on the front door (h2c by prior knowledge, same port as HTTP/1.1), driven by curl,
# nghttp, h2load and a raw python3-h2 client: searches and errors, many streams on one
# connection, per-stream limits, request bodies under flow control, reset floods, garbage
# prefaces, aborts reaching the upstream, timeouts, and graceful shutdown with a stream in flight.
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import harness
from h2client import H2Client, goaway_codes

LIMITS = ["limits.max_header_bytes=4KiB", "limits.max_body_bytes=64KiB",
          "http2.max_concurrent_streams=64"]
NPOINTS = 60


def curl_h2(port, method, path, body=None, extra=(), timeout=30):
    """curl --http2-prior-knowledge; returns (http_version, status, body bytes)."""
    argv = ["curl", "-sS", "--http2-prior-knowledge", "--max-time", str(timeout), "-X", method,
            "-o", "-", "-w", "\n%{http_version} %{http_code}", "http://127.0.0.1:%d%s" % (port, path)]
    if method == "HEAD":
        argv[argv.index("-X"):argv.index("-X") + 2] = ["-I"]
    if body is not None:
        argv += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
    argv += list(extra)
    inp = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    r = subprocess.run(argv, input=inp, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError("curl failed (%d): %s" % (r.returncode, r.stderr.decode()))
    out, _, tail = r.stdout.rpartition(b"\n")
    version, status = tail.decode().split()
    return version, int(status), out


def upstream_conns(pid, port):
    """Established TCP connections process pid holds to 127.0.0.1:port (from /proc)."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    n = 0
    with open("/proc/%d/net/tcp" % pid) as f:
        for line in f.readlines()[1:]:
            cols = line.split()
            if cols[3] == "01" and int(cols[2].split(":")[1], 16) == port and cols[9] in inodes:
                n += 1
    return n


class H2Test(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up = harness.start_fake_qdrant()
        cls.gw = harness.start_gateway(cls.up.port, *LIMITS)
        harness.curl(cls.up.port, "PUT", "/collections/c", {"vectors": {"size": 2, "distance": "Dot"}})
        pts = [{"id": i, "vector": [i, 1], "payload": {"n": i}} for i in range(1, NPOINTS + 1)]
        harness.curl(cls.up.port, "PUT", "/collections/c/points?wait=true", {"points": pts})

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.up.cleanup()

    def tearDown(self):
        # Whatever a test did, the gateway still serves everyone else, on both protocols.
        self.assertTrue(self.gw.alive(), self.gw.log())
        self.assertEqual(curl_h2(self.gw.port, "GET", "/collections")[:2], ("2", 200))
        self.assertEqual(harness.curl(self.gw.port, "GET", "/collections")[0], 200)

    def test_search_and_errors_with_curl(self):
        q = {"query": [1, 1], "limit": 3, "with_payload": True}
        v, s, b = curl_h2(self.gw.port, "POST", "/collections/c/points/query", q)
        self.assertEqual((v, s), ("2", 200))
        _, direct = harness.HttpClient(self.up.port).json("POST", "/collections/c/points/query", q)[:2]
        self.assertEqual(harness.without_time(b), harness.without_time(direct))
        # Qdrant's own errors pass through; the gateway's own are Qdrant-shaped.
        v, s, b = curl_h2(self.gw.port, "GET", "/collections/nope")
        self.assertEqual(s, 404)
        self.assertIn("doesn't exist", json.loads(b)["status"]["error"])
        v, s, b = curl_h2(self.gw.port, "GET", "/api/v1/nope")
        self.assertEqual(s, 404)
        self.assertIn("Not found", json.loads(b)["status"]["error"])
        v, s, b = curl_h2(self.gw.port, "DELETE", "/api/v1/health")
        self.assertEqual(s, 405)
        v, s, b = curl_h2(self.gw.port, "HEAD", "/api/v1/health")
        self.assertEqual(s, 200)
        self.assertNotIn(b"{", b)  # headers only
        v, s, b = curl_h2(self.gw.port, "POST", "/collections/c/points/count", b"x" * 70000)
        self.assertEqual(s, 413)
        self.assertIn("larger than allowed", json.loads(b)["status"]["error"])

    def test_response_headers_are_h2_clean(self):
        c = H2Client(self.gw.port)
        try:
            st = c.request("GET", "/collections/c", headers=[("x-request-id", "abc-123")])
            self.assertTrue(c.wait([st]))
            self.assertEqual(st.status, 200)
            for name in st.headers:
                self.assertEqual(name, name.lower())
                self.assertNotIn(name, ("connection", "keep-alive", "transfer-encoding", "upgrade",
                                        "proxy-connection"))
            self.assertEqual(st.headers["x-request-id"], "abc-123")
            self.assertEqual(int(st.headers["content-length"]), len(st.body))
            # :authority reached the upstream request as its Host (then replaced by the
            # upstream's own host); forwarded headers are there.
            st = c.request("POST", "/__fake/echo", body=b"{}",
                           headers=[("content-type", "application/json")])
            self.assertTrue(c.wait([st]))
            echo = json.loads(st.body)
            hdrs = {k.lower(): v for k, v in echo["headers"].items()}
            self.assertEqual(hdrs.get("x-forwarded-for"), "127.0.0.1")
            self.assertEqual(echo["body_length"], 2)
        finally:
            c.close()

    def test_many_streams_right_bodies(self):
        c = H2Client(self.gw.port)
        try:
            streams = {i: c.request("GET", "/collections/c/points/%d" % i)
                       for i in range(1, NPOINTS + 1)}
            self.assertTrue(c.wait(streams.values()), "streams did not finish")
            for i, st in streams.items():
                self.assertEqual(st.status, 200, st.body)
                self.assertEqual(json.loads(st.body)["result"]["payload"], {"n": i})
            self.assertIsNone(c.goaway)
            self.assertEqual(c.server_settings.get(3), 64)  # MAX_CONCURRENT_STREAMS
            self.assertEqual(c.server_settings.get(6), 4096)  # MAX_HEADER_LIST_SIZE
            self.assertEqual(c.server_settings.get(4), 1 << 20)  # INITIAL_WINDOW_SIZE
        finally:
            c.close()

    def test_nghttp_and_h2load_one_connection(self):
        uris = ["http://127.0.0.1:%d/collections/c/points/%d" % (self.gw.port, i) for i in range(1, 21)]
        r = subprocess.run(["nghttp", "-n", "-s", "-t", "30"] + uris, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        out = r.stdout.decode()
        self.assertEqual(r.returncode, 0, out)
        codes = re.findall(r"^\s*\d+\s+\+\S+\s+\+\S+\s+\S+\s+(\d{3})\s", out, re.M)
        self.assertEqual(codes, ["200"] * 20, out)
        with tempfile.NamedTemporaryFile(suffix=".json") as body:
            body.write(json.dumps({"query": [1, 1], "limit": 5}).encode())
            body.flush()
            r = subprocess.run(["h2load", "-n", "400", "-c", "1", "-m", "50", "-d", body.name,
                                "-H", "content-type: application/json",
                                "http://127.0.0.1:%d/collections/c/points/query" % self.gw.port],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        out = r.stdout.decode()
        self.assertIn("400 succeeded, 0 failed", out)
        self.assertIn("status codes: 400 2xx", out)

    def test_body_over_limit_on_one_stream_only(self):
        c = H2Client(self.gw.port)
        try:
            # No content-length: the limit is found while the body streams.
            big = c.request("POST", "/collections/c/points/count", body=b" " * 200000,
                            headers=[("content-type", "application/json")])
            ok = c.request("POST", "/collections/c/points/count", body=b'{"exact":true}',
                           headers=[("content-type", "application/json")])
            self.assertTrue(c.wait([big, ok]))
            self.assertEqual(big.status, 413, big.body)
            self.assertIn("larger than allowed", json.loads(big.body)["status"]["error"])
            self.assertEqual(ok.status, 200)
            self.assertEqual(json.loads(ok.body)["result"], {"count": NPOINTS})
            # The connection is still good for more.
            again = c.request("GET", "/collections/c/exists")
            self.assertTrue(c.wait([again]))
            self.assertEqual(again.status, 200)
            self.assertIsNone(c.goaway)
        finally:
            c.close()

    def test_large_body_streams_under_flow_control(self):
        # Snapshot uploads are exempt from max_body_bytes: 8 MiB through 1 MiB stream windows.
        data = os.urandom(8 << 20)
        with tempfile.NamedTemporaryFile() as f:
            f.write(data)
            f.flush()
            v, s, b = curl_h2(self.gw.port, "POST", "/collections/c/snapshots/upload",
                              extra=["-H", "Content-Type: application/octet-stream",
                                     "--data-binary", "@" + f.name, "-D", "/dev/stderr"])
        self.assertEqual((v, s), ("2", 200), b)
        c = H2Client(self.gw.port)
        try:
            st = c.request("POST", "/collections/c/snapshots/upload", body=data,
                           headers=[("content-type", "application/octet-stream")])
            self.assertTrue(c.wait([st], timeout=60))
            self.assertEqual(st.status, 200, st.body)
            self.assertEqual(st.headers["x-fake-received-bytes"], str(len(data)))
            self.assertEqual(st.headers["x-fake-received-sha256"], hashlib.sha256(data).hexdigest())
        finally:
            c.close()

    def test_rapid_reset_flood_gets_goaway_others_unharmed(self):
        answers = []
        stop = threading.Event()

        def good_client():
            while not stop.is_set():
                try:
                    answers.append(curl_h2(self.gw.port, "GET", "/collections/c/exists", timeout=10)[1])
                except RuntimeError:
                    answers.append(-1)

        t = threading.Thread(target=good_client)
        t.start()
        c = H2Client(self.gw.port)
        try:
            for batch in range(20):
                if c.closed or c.goaway:
                    break
                for _ in range(100):
                    sid = c.conn.get_next_available_stream_id()
                    c.conn.send_headers(sid, [(":method", "GET"), (":path", "/collections/c"),
                                              (":scheme", "http"), (":authority", "x")],
                                        end_stream=True)
                    c.conn.reset_stream(sid, 8)
                try:
                    c.flush()
                except (BrokenPipeError, ConnectionResetError):
                    break
                c.pump(lambda: c.goaway is not None, timeout=0.05)
            c.pump(lambda: c.goaway is not None, timeout=10)
            self.assertIsNotNone(c.goaway, "no GOAWAY after a reset flood")
            self.assertIn(c.goaway[0], (11, 2))  # ENHANCE_YOUR_CALM (ours) or nghttp2's limit
        finally:
            c.close()
            time.sleep(0.5)
            stop.set()
            t.join()
        self.assertTrue(answers and set(answers) == {200}, answers)
        self.assertIn("ENHANCE_YOUR_CALM", self.gw.log())

    def test_reset_aborts_upstream_work(self):
        # Without the abort, the slow transfer would hold its upstream connection for 5 s, and
        # then keep it pooled: it closing quickly shows the transfer was cancelled.
        up = harness.start_fake_qdrant("--latency-ms", "5000")
        # No cache: its alias-list fetch at startup would hold a pooled upstream connection.
        gw = harness.start_gateway(up.port, "cache.enabled=false", workers=1)
        try:
            harness.curl(up.port, "PUT", "/collections/s", {"vectors": {"size": 2, "distance": "Dot"}})
            self.assertEqual(upstream_conns(gw.pid, up.port), 0)
            c = H2Client(gw.port)
            st = c.request("POST", "/collections/s/points/query", body=b'{"query":[1,1]}',
                           headers=[("content-type", "application/json")])
            deadline = time.monotonic() + 10
            while upstream_conns(gw.pid, up.port) == 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            self.assertEqual(upstream_conns(gw.pid, up.port), 1)
            c.reset(st)
            deadline = time.monotonic() + 3
            while upstream_conns(gw.pid, up.port) > 0 and time.monotonic() < deadline:
                time.sleep(0.02)
            self.assertEqual(upstream_conns(gw.pid, up.port), 0)
            # The connection itself goes on.
            ok = c.request("GET", "/collections")
            self.assertTrue(c.wait([ok]))
            self.assertEqual(ok.status, 200)
            c.close()
        finally:
            gw.cleanup()
            up.cleanup()

    def test_garbage_prefaces(self):
        out = harness.raw_exchange(self.gw.port, b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n")
        self.assertTrue(goaway_codes(out) and goaway_codes(out)[0] != 0, out)
        out = harness.raw_exchange(self.gw.port, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + os.urandom(300))
        self.assertTrue(not out or (goaway_codes(out) and goaway_codes(out)[-1] != 0), out)
        for _ in range(20):  # random bytes that happen to start like the preface, then anything
            harness.raw_exchange(self.gw.port, b"PRI * HTTP/2.0" + os.urandom(64), read_timeout=2)

    def test_preface_byte_by_byte(self):
        c = H2Client(self.gw.port, byte_by_byte=True)
        try:
            st = c.request("GET", "/collections/c/exists")
            self.assertTrue(c.wait([st], timeout=10))
            self.assertEqual(st.status, 200)
            self.assertEqual(json.loads(st.body)["result"], {"exists": True})
        finally:
            c.close()

    def test_http1_same_port(self):
        # The shortest request (18 bytes, shorter than the preface) and one sent byte by byte.
        out = harness.raw_exchange(self.gw.port, b"GET / HTTP/1.0\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 200 "), out)
        self.assertIn(b'"version"', out)
        with socket.create_connection(("127.0.0.1", self.gw.port), timeout=10) as s:
            for b in b"GET /collections/c/exists HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n":
                s.sendall(bytes([b]))
                time.sleep(0.002)
            out = harness.recv_all(s)
        self.assertTrue(out.startswith(b"HTTP/1.1 200 "), out)
        # Upgrade: h2c is answered in HTTP/1.1.
        out = harness.raw_exchange(self.gw.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
                                   b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                                   b"HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 200 "), out)
        self.assertIn(b"healthz check passed", out)


class H2LifecycleTest(unittest.TestCase):
    def test_settings_timeout_and_idle_close(self):
        up = harness.start_fake_qdrant()
        gw = harness.start_gateway(up.port, "limits.header_timeout=1s",
                                   "server.keepalive_timeout=2s")
        try:
            with socket.create_connection(("127.0.0.1", gw.port), timeout=10) as s:
                s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")  # and never SETTINGS
                out = harness.recv_all(s, timeout=8)
            self.assertIn(4, goaway_codes(out))  # SETTINGS_TIMEOUT
            c = H2Client(gw.port)
            st = c.request("GET", "/collections")
            self.assertTrue(c.wait([st]))
            start = time.monotonic()
            c.pump(lambda: c.closed, timeout=10)
            self.assertTrue(c.closed)
            self.assertEqual(c.goaway[0], 0)  # idle: a clean GOAWAY, then close
            self.assertLess(time.monotonic() - start, 9)
            c.close()
        finally:
            gw.cleanup()
            up.cleanup()

    def test_over_max_connections_gets_503(self):
        up = harness.start_fake_qdrant()
        gw = harness.start_gateway(up.port, "server.max_connections=2")
        held = []
        try:
            time.sleep(0.3)  # the harness's readiness probe has closed
            for _ in range(2):  # one at a time: the workers accept in parallel
                held.append(H2Client(gw.port))
                st = held[-1].request("GET", "/collections")
                self.assertTrue(held[-1].wait([st]))
                self.assertEqual(st.status, 200)
            v, s, b = curl_h2(gw.port, "GET", "/collections")
            self.assertEqual(s, 503)
            self.assertIn("max_connections", json.loads(b)["status"]["error"])
            st = held[0].request("GET", "/collections")  # the open ones are unharmed
            self.assertTrue(held[0].wait([st]), (held[0].closed, held[0].error, held[0].goaway))
            self.assertEqual(st.status, 200)
        finally:
            for c in held:
                c.close()
            gw.cleanup()
            up.cleanup()

    def test_sigterm_finishes_stream_in_flight(self):
        # nghttp, since python3-h2 treats any GOAWAY (even the shutdown notice) as the end.
        up = harness.start_fake_qdrant("--latency-ms", "1500")
        gw = harness.start_gateway(up.port, "server.shutdown_timeout=10s")
        try:
            harness.curl(up.port, "PUT", "/collections/c", {"vectors": {"size": 2, "distance": "Dot"}})
            with tempfile.NamedTemporaryFile(suffix=".json") as body:
                body.write(b'{"query":[1,1]}')
                body.flush()
                p = subprocess.Popen(["nghttp", "-v", "-t", "30", "-d", body.name, "-H",
                                      "content-type: application/json",
                                      "http://127.0.0.1:%d/collections/c/points/query" % gw.port],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                time.sleep(0.5)
                gw.p.send_signal(signal.SIGTERM)
                out = p.communicate(timeout=60)[0].decode(errors="replace")
            self.assertEqual(p.returncode, 0, out)
            self.assertIn(":status: 200", out)
            self.assertIn('"status":"ok"', out)
            sid = int(re.search(r"send HEADERS frame <length=\d+, flags=0x\w+, stream_id=(\d+)>",
                                out).group(1))
            goaways = [(int(a), b) for a, b in
                       re.findall(r"recv GOAWAY frame[^\n]*\n\s*\(last_stream_id=(\d+), "
                                  r"error_code=(\w+)", out)]
            # The shutdown notice, then the final GOAWAY naming the stream in flight.
            self.assertGreaterEqual(len(goaways), 2, out)
            self.assertEqual(goaways[0], (2 ** 31 - 1, "NO_ERROR"))
            self.assertEqual(goaways[-1][1], "NO_ERROR")
            self.assertGreaterEqual(goaways[-1][0], sid)
            self.assertEqual(gw.p.wait(10), 0)
        finally:
            gw.cleanup()
            up.cleanup()

if __name__ == "__main__":
    harness.main()

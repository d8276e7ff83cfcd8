# The gateway's own HTTP/1.1 client to Qdrant (gateway/upstream/h1_engine.c) against upstream behaviour
# fake_qdrant does not produce: answers delimited by the end of the connection, chunked answers,
# 1xx before the answer, garbage, oversized header sections, and connections closed while a
# request is on its way (a read is sent again once on a new connection, a write is not).
# The odd upstream is a real TCP server on loopback written here; the pool limits and queueing
# run against fake_qdrant itself.
import hashlib
import json
import socket
import socketserver
import threading
import time
import unittest

import harness

ANSWER = b'{"result":{"points":[]},"status":"ok","time":0.0001}'


class OddUpstream(socketserver.ThreadingTCPServer):
    """Reads HTTP/1.1 requests (Content-Length or chunked bodies) and answers by `mode`."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mode):
        self.mode = mode
        self.requests = []  # (connection number, request number on it, method, path, body)
        self.conns = 0
        self.lock = threading.Lock()
        super().__init__((harness.LOOPBACK, 0), OddHandler)
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def handle_error(self, request, client_address):
        import sys
        if not isinstance(sys.exc_info()[1], (ConnectionError, BrokenPipeError)):
            super().handle_error(request, client_address)  # the gateway hanging up is expected


class OddHandler(socketserver.StreamRequestHandler):
    def read_request(self):
        line = self.rfile.readline()
        if not line:
            return None
        method, path, _ = line.decode("latin-1").split(" ", 2)
        headers = {}
        while True:
            h = self.rfile.readline()
            if h in (b"\r\n", b"\n", b""):
                break
            k, v = h.decode("latin-1").split(":", 1)
            headers[k.strip().lower()] = v.strip()
        body = b""
        if self.server.mode == "slow_reader":
            time.sleep(1.5)  # the gateway's buffers fill while nobody reads
        if "content-length" in headers:
            body = self.rfile.read(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            body = b"".join(parts)
        return method, path, headers, body

    def handle(self):
        srv = self.server
        with srv.lock:
            srv.conns += 1
            conn_no = srv.conns
        n = 0
        while True:
            req = self.read_request()
            if req is None:
                return
            n += 1
            method, path, headers, body = req
            with srv.lock:
                srv.requests.append((conn_no, n, method, path, headers, body))
            w = self.wfile.write
            mode = srv.mode
            if mode == "drop_second" and n == 2:
                return  # Qdrant closed the keep-alive connection: no answer
            if mode == "eof":
                w(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
                w(ANSWER)
                return
            if mode == "chunked":
                w(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
                for i in range(0, len(ANSWER), 7):
                    piece = ANSWER[i:i + 7]
                    w(b"%x\r\n%s\r\n" % (len(piece), piece))
                w(b"0\r\n\r\n")
                continue
            if mode == "continue":
                w(b"HTTP/1.1 100 Continue\r\n\r\n")
            if mode == "garbage":
                w(b"HTTP/1.1 2x0 Oops\r\n\r\n")
                return
            if mode == "huge_head":
                w(b"HTTP/1.1 200 OK\r\n")
                for i in range(3000):
                    w(b"X-Filler-%d: %s\r\n" % (i, b"y" * 100))
                w(b"Content-Length: 0\r\n\r\n")
                return
            if mode == "slow_reader":
                doc = json.dumps({"result": {"received": len(body),
                                             "sha256": hashlib.sha256(body).hexdigest()},
                                  "status": "ok", "time": 0}).encode()
                w(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(doc), doc))
                continue
            if mode == "echo":
                doc = json.dumps({"result": {"method": method, "path": path, "headers": headers,
                                             "body": body.decode("latin-1")},
                                  "status": "ok", "time": 0}).encode()
                w(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n%s" % (len(doc), doc))
                continue
            w(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n%s" % (len(ANSWER), ANSWER))


class OddUpstreamTest(unittest.TestCase):
    def run_gateway(self, mode, *sets):
        up = OddUpstream(mode)
        gw = harness.start_gateway(up.port, "cache.enabled=false", *sets, workers=1)
        self.addCleanup(up.server_close)
        self.addCleanup(up.shutdown)
        self.addCleanup(gw.cleanup)
        return up, gw

    def test_answer_delimited_by_close(self):
        _, gw = self.run_gateway("eof")
        for _ in range(3):
            s, h, b = harness.curl(gw.port, "POST", "/collections/c/points/query", {"limit": 1})
            self.assertEqual((s, b), (200, ANSWER))
            self.assertNotIn("connection", {k for k, v in h.items() if v == "close"})

    def test_chunked_answer_relayed(self):
        up, gw = self.run_gateway("chunked")
        for _ in range(3):
            s, _, b = harness.curl(gw.port, "POST", "/collections/c/points/query", {"limit": 1})
            self.assertEqual((s, b), (200, ANSWER))
        self.assertEqual(up.conns, 1)  # the chunked answers left the connection reusable

    def test_interim_1xx_skipped(self):
        _, gw = self.run_gateway("continue")
        s, _, b = harness.curl(gw.port, "POST", "/collections/c/points/query", {"limit": 1})
        self.assertEqual((s, b), (200, ANSWER))

    def test_garbage_answer_is_502_and_gateway_goes_on(self):
        _, gw = self.run_gateway("garbage")
        s, _, b = harness.curl(gw.port, "GET", "/collections")
        self.assertEqual(s, 502, b)
        doc = json.loads(b)
        self.assertIn("invalid answer from", doc["status"]["error"])
        s, _, b = harness.curl(gw.port, "GET", "/api/v1/health")
        self.assertIn(s, (200, 503), b)

    def test_oversized_header_section_is_502(self):
        _, gw = self.run_gateway("huge_head")
        s, _, b = harness.curl(gw.port, "GET", "/collections")
        self.assertEqual(s, 502, b)
        self.assertIn("header section too large", json.loads(b)["status"]["error"])

    def test_read_sent_again_on_a_new_connection_write_not(self):
        up, gw = self.run_gateway("drop_second")
        client = harness.HttpClient(gw.port)
        self.addCleanup(client.close)
        s, _, _ = client.request("POST", "/collections/c/points/query", {"limit": 1})
        self.assertEqual(s, 200)
        # the pooled connection is reused and closed without an answer: a read goes again
        s, _, b = client.request("POST", "/collections/c/points/query", {"limit": 2})
        self.assertEqual(s, 200, b)
        with up.lock:
            seen = [(c, n, m, p) for c, n, m, p, _, _ in up.requests]
        self.assertEqual(seen[-2][1:], (2, "POST", "/collections/c/points/query"))
        self.assertEqual(seen[-1][1:], (1, "POST", "/collections/c/points/query"))
        self.assertNotEqual(seen[-2][0], seen[-1][0])
        # a write meeting the same fate is not repeated: Qdrant may have applied it
        before = len(up.requests)
        s, _, b = client.request("PUT", "/collections/c/points?wait=true",
                                 {"points": [{"id": 1, "vector": [1, 2]}]})
        self.assertEqual(s, 502, b)
        self.assertIn("closed the connection without answering", json.loads(b)["status"]["error"])
        with up.lock:
            writes = [r for r in up.requests[before:] if r[2] == "PUT"]
        self.assertEqual(len(writes), 1)

    def test_request_head_and_bodies_as_sent(self):
        up, gw = self.run_gateway("echo", "upstream.api_key=k1")
        s, _, b = harness.curl(gw.port, "POST", "/collections/c/points/query?timeout=3",
                               b'{"limit": 1}', headers=["Content-Type: application/json",
                                                          "X-Custom: v", "Accept:"])
        self.assertEqual(s, 200, b)
        seen = json.loads(b)["result"]
        self.assertEqual(seen["path"], "/collections/c/points/query?timeout=3")
        self.assertEqual(seen["body"], '{"limit": 1}')
        hdrs = seen["headers"]
        self.assertEqual(hdrs["host"], "127.0.0.1:%d" % up.port)
        self.assertEqual(hdrs["content-length"], "12")
        self.assertEqual(hdrs["x-custom"], "v")
        self.assertEqual(hdrs["api-key"], "k1")
        self.assertNotIn("accept", hdrs)  # nothing the client did not send
        # a body of unknown length still arriving goes upstream chunked, bytes unchanged
        body = b'{"points":[' + b",".join(b'{"id":%d,"vector":[1,2]}' % i for i in range(3000)) + b"]}"
        s, _, b = harness.curl(gw.port, "PUT", "/collections/c/points", body,
                               headers=["Content-Type: application/json",
                                        "Transfer-Encoding: chunked"])
        self.assertEqual(s, 200, b)
        seen = json.loads(b)["result"]
        self.assertEqual(seen["body"].encode("latin-1"), body)
        # HEAD: the answer's Content-Length is relayed without waiting for a body
        s, h, _ = harness.curl(gw.port, "HEAD", "/collections")
        self.assertEqual(s, 200)


    def test_chunked_upload_ends_when_the_upstream_reads_slowly(self):
        # The client's last bytes arrive while the gateway still holds much of the body for a
        # Qdrant that is not reading yet: the terminal chunk must still follow once it drains.
        up, gw = self.run_gateway("slow_reader", "upstream.timeout=5s")
        body = bytes(range(256)) * (48 * 4096)  # 48 MiB
        s, _, b = harness.curl(gw.port, "POST", "/collections/c/snapshots/upload", body,
                               headers=["Content-Type: application/octet-stream",
                                        "Transfer-Encoding: chunked"], timeout=60)
        self.assertEqual(s, 200, b[:300])
        seen = json.loads(b)["result"]
        self.assertEqual(seen["received"], len(body))
        self.assertEqual(seen["sha256"], hashlib.sha256(body).hexdigest())


class PoolLimitTest(unittest.TestCase):
    def test_transfers_queue_for_a_free_connection(self):
        up = harness.start_fake_qdrant("--latency-ms", "100")
        gw = harness.start_gateway(up.port, "cache.enabled=false", "upstream.max_connections=1",
                                   workers=1)
        self.addCleanup(up.cleanup)
        self.addCleanup(gw.cleanup)
        harness.curl(up.port, "PUT", "/collections/c", {"vectors": {"size": 2, "distance": "Dot"}})
        before = harness.fake_stats(up.port)["connections_accepted"]
        out = []

        def one(i):
            out.append(harness.curl(gw.port, "POST", "/collections/c/points/query",
                                    {"query": [1, i], "limit": 1})[0])

        t0 = time.monotonic()
        threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(out, [200] * 6)
        self.assertGreaterEqual(time.monotonic() - t0, 0.55)  # one at a time, 100 ms each
        # one upstream connection carried all six (plus the stats calls' own)
        self.assertLessEqual(harness.fake_stats(up.port)["connections_accepted"] - before, 2)

    def test_queued_transfer_times_out_with_504(self):
        up = harness.start_fake_qdrant("--latency-ms", "1500")
        gw = harness.start_gateway(up.port, "cache.enabled=false", "upstream.max_connections=1",
                                   "upstream.timeout=1s", "upstream.connect_timeout=500ms",
                                   workers=1)
        self.addCleanup(up.cleanup)
        self.addCleanup(gw.cleanup)
        harness.curl(up.port, "PUT", "/collections/c", {"vectors": {"size": 2, "distance": "Dot"}})
        out = []

        def one():
            s, _, b = harness.curl(gw.port, "POST", "/collections/c/points/query", {"query": [1, 1]})
            out.append((s, json.loads(b)["status"]["error"]))

        threads = [threading.Thread(target=one) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual([s for s, _ in out], [504, 504])
        self.assertTrue(all(e.startswith("Gateway timeout") for _, e in out), out)
        s, _, _ = harness.curl(gw.port, "GET", "/collections")  # the pool recovers
        self.assertEqual(s, 200)

    def test_black_holed_connect_is_504_within_connect_timeout(self):
        # A listening socket whose backlog is full and never accepted: SYNs are dropped.
        hole = socket.socket()
        hole.bind((harness.LOOPBACK, 0))
        hole.listen(0)
        fillers = []
        for _ in range(8):
            f = socket.socket()
            f.setblocking(False)
            try:
                f.connect((harness.LOOPBACK, hole.getsockname()[1]))
            except BlockingIOError:
                pass
            fillers.append(f)
        self.addCleanup(hole.close)
        for f in fillers:
            self.addCleanup(f.close)
        gw = harness.start_gateway(hole.getsockname()[1], "cache.enabled=false",
                                   "upstream.connect_timeout=300ms", workers=1)
        self.addCleanup(gw.cleanup)
        t0 = time.monotonic()
        s, _, b = harness.curl(gw.port, "GET", "/collections")
        self.assertEqual(s, 504, b)
        self.assertIn("timed out", json.loads(b)["status"]["error"])
        self.assertLess(time.monotonic() - t0, 2.5)


if __name__ == "__main__":
    unittest.main(verbosity=2)

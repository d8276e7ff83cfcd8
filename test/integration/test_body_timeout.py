# limits.body_timeout (issue 19, item 2): a client that sends a request head and part of its
# body, then goes silent, is answered 408 and let go, over HTTP/1.1 and HTTP/2, so such clients
# cannot fill server.max_connections. A body that keeps arriving, however slowly, is not cut,
# and a body the gateway itself holds back is not the client's fault. Real processes: the fake
# Qdrant, the gateway, raw sockets and Python h2.
import json
import socket
import time
import unittest

import harness
import h2client

MAX_CONNS = 8


def half_body(port, path="/collections/c/points/query"):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Content-Length: 100000\r\n\r\n{\"query\": [")
    return s


def read_all(s, timeout):
    s.settimeout(timeout)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            b = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            break
        if not b:
            break
        out += b
    return out


class BodyTimeoutTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up = harness.start_fake_qdrant()
        cls.gw = harness.start_gateway(cls.up.port, "limits.body_timeout=800ms",
                                       "server.max_connections=%d" % MAX_CONNS, workers=1)
        harness.curl(cls.up.port, "PUT", "/collections/c", {"vectors": {"size": 2, "distance": "Dot"}})

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.up.cleanup()

    def tearDown(self):
        self.assertTrue(self.gw.alive(), self.gw.log())

    def test_h1_silent_bodies_get_408_and_free_their_slots(self):
        socks = [half_body(self.gw.port) for _ in range(MAX_CONNS)]
        try:
            for s in socks:
                out = read_all(s, 15)  # answered, then closed
                self.assertTrue(out.startswith(b"HTTP/1.1 408 "), out[:200])
                body = out.split(b"\r\n\r\n", 1)[1]
                self.assertIn("body not received in time", json.loads(body)["status"]["error"])
                self.assertIn(b"Connection: close", out)
        finally:
            for s in socks:
                s.close()
        # Every slot is free again: a normal client is served, not refused with 503.
        s, _, _ = harness.curl(self.gw.port, "GET", "/collections")
        self.assertEqual(s, 200)

    def test_h1_slow_but_steady_body_is_served(self):
        body = json.dumps({"query": [0.5, 0.5], "limit": 1}).encode()
        s = socket.create_connection(("127.0.0.1", self.gw.port), timeout=10)
        try:
            s.sendall(b"POST /collections/c/points/query HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\nConnection: close\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body))
            for i in range(0, len(body), 4):  # ~8 pieces, 200 ms apart: 1.6 s in all
                s.sendall(body[i:i + 4])
                time.sleep(0.2)
            out = read_all(s, 10)
        finally:
            s.close()
        self.assertTrue(out.startswith(b"HTTP/1.1 200 "), out[:300])

    def test_h2_silent_stream_gets_408_others_go_on(self):
        c = h2client.H2Client(self.gw.port)
        try:
            late = c.request("POST", "/collections/c/points/query", body=b"{\"query\": [",
                             headers=[("content-type", "application/json"),
                                      ("content-length", "100000")], end=False)
            self.assertTrue(c.wait([late], timeout=15), "the silent stream was never answered")
            self.assertEqual(late.status, 408, late.body)
            self.assertIn("body not received in time", json.loads(late.body)["status"]["error"])
            ok = c.request("GET", "/collections")
            self.assertTrue(c.wait([ok], timeout=10))
            self.assertEqual(ok.status, 200)
        finally:
            c.close()


if __name__ == "__main__":
    harness.main()

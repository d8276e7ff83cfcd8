# Issue 19, item 1: one HTTP/1.1 connection that pipelines hundreds of requests for a large
# cached answer and never reads must not make the gateway hold an answer per request (it went
# from 17 MB to 306 MB). The next pipelined request waits while the connection's queued output
# is over its high-water mark. Memory is read from /proc/PID/status against a bound, not timed.
import json
import socket
import time
import unittest

import harness

POINTS = 20
PAYLOAD = "x" * 40000  # 20 points x 40 KB: an answer of about 800 KB
REQUESTS = 300


class PipelineMemoryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up = harness.start_fake_qdrant()
        cls.gw = harness.start_gateway(cls.up.port, "cache.enabled=true", "cache.max_entry_bytes=4MiB",
                                       workers=1)
        harness.load_big_answers(cls.up.port, "big", POINTS, PAYLOAD)
        harness.wait_caching(cls.gw.port, coll="big")

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.up.cleanup()

    def test_unread_pipelined_hits_stay_bounded(self):
        body = json.dumps({"query": [1, 1], "limit": POINTS, "with_payload": True}).encode()
        req = (b"POST /collections/big/points/query HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
        cl = harness.CacheClient(self.gw.port)
        for _ in range(2):  # stored, then a hit
            s, x, doc, _ = cl.req("POST", "/collections/big/points/query",
                                  {"query": [1, 1], "limit": POINTS, "with_payload": True})
            self.assertEqual(s, 200)
        self.assertEqual(x, "HIT")
        cl.close()
        before = self.gw.rss_kb()
        s = socket.create_connection(("127.0.0.1", self.gw.port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.setblocking(False)
        sent, blob = 0, req * REQUESTS
        deadline = time.monotonic() + 10
        while sent < len(blob) and time.monotonic() < deadline:
            try:
                sent += s.send(blob[sent:])
            except BlockingIOError:
                time.sleep(0.05)  # the gateway stopped reading: that is the point
        time.sleep(1.5)
        grown = self.gw.rss_kb() - before
        # Without the bound: ~300 answers of 800 KB queued (240 MB). With it: a few answers.
        self.assertLess(grown, 48 * 1024, "RSS grew by %d KB" % grown)
        # The connection still works: reading drains the answers in order.
        s.setblocking(True)
        s.settimeout(10)
        got = b""
        while got.count(b"HTTP/1.1 200 ") < 5:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            got += chunk
        s.close()
        self.assertGreaterEqual(got.count(b"HTTP/1.1 200 "), 5)
        self.assertTrue(self.gw.alive(), self.gw.log())


if __name__ == "__main__":
    harness.main()

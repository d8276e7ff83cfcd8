# Issue 19, item 1, HTTP/2: clients that open many streams for a large cached answer and never
# read must not make the gateway hold an answer per stream (4 connections of 128 streams of
# ~1 MB took it to 520 MB). A connection's streams share an output budget: past it no new
# stream is dispatched until the client reads. Memory is read from /proc/PID/status against a
# bound, not timed; then each connection still delivers every answer, in full, once read.
import json
import socket
import time
import unittest

import h2.config
import h2.connection
import h2.events
import h2.settings

import harness

POINTS = 20
PAYLOAD = "x" * 40000  # 20 points x 40 KB: an answer of about 800 KB
CONNS = 4
STREAMS = 100


class H2MemoryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up = harness.start_fake_qdrant()
        cls.gw = harness.start_gateway(cls.up.port, "cache.enabled=true",
                                       "cache.max_entry_bytes=4MiB", workers=1)
        harness.load_big_answers(cls.up.port, "big", POINTS, PAYLOAD)
        harness.wait_caching(cls.gw.port, coll="big")

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.up.cleanup()

    def open_conn(self, body):
        s = socket.create_connection(("127.0.0.1", self.gw.port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        conn.initiate_connection()
        # A big window, so flow control is not what holds the answers back: the budget must.
        conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 2 ** 31 - 1,
                              h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 1000})
        conn.increment_flow_control_window(2 ** 30)
        for i in range(STREAMS):
            sid = conn.get_next_available_stream_id()
            conn.send_headers(sid, [(":method", "POST"), (":scheme", "http"),
                                    (":authority", "x"),
                                    (":path", "/collections/big/points/query"),
                                    ("content-type", "application/json"),
                                    ("content-length", str(len(body)))])
            conn.send_data(sid, body, end_stream=True)
        s.sendall(conn.data_to_send())
        return s, conn

    def read_all(self, conns):
        for s, conn in conns:
            s.settimeout(20)
            done, sizes = 0, {}
            while done < STREAMS:
                data = s.recv(1 << 20)
                if not data:
                    break
                for ev in conn.receive_data(data):
                    if isinstance(ev, h2.events.DataReceived):
                        sizes[ev.stream_id] = sizes.get(ev.stream_id, 0) + len(ev.data)
                        conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    elif isinstance(ev, h2.events.StreamEnded):
                        done += 1
                s.sendall(conn.data_to_send())
            s.close()
            self.assertEqual(done, STREAMS)
            # One answer size (give or take the digits of Qdrant's "time" when relayed).
            self.assertLess(max(sizes.values()) - min(sizes.values()), 32, sorted(set(sizes.values())))
            self.assertGreater(min(sizes.values()), POINTS * 40000)

    def test_unread_proxied_streams_stay_bounded(self):
        # Without the cache every answer is relayed from Qdrant into the streams' buffers: the
        # budget parks new streams and tells the relaying ones the connection is full.
        gw = harness.start_gateway(self.up.port, "cache.enabled=false", workers=1)
        try:
            body = json.dumps({"query": [1, 1], "limit": POINTS, "with_payload": True}).encode()
            before = gw.rss_kb()
            saved, self.gw = self.gw, gw
            try:
                conns = [self.open_conn(body) for _ in range(2)]
            finally:
                self.gw = saved
            time.sleep(2)
            grown = gw.rss_kb() - before
            # Unbounded: 200 answers of 800 KB (160 MB). Bounded: the budget, one relay window
            # per dispatched stream, socket buffers.
            self.assertLess(grown, 64 * 1024, "RSS grew by %d KB" % grown)
            self.read_all(conns)
            self.assertTrue(gw.alive(), gw.log())
        finally:
            gw.cleanup()

    def test_unread_streams_stay_bounded(self):
        q = {"query": [1, 1], "limit": POINTS, "with_payload": True}
        cl = harness.CacheClient(self.gw.port)
        for _ in range(2):  # stored, then a hit
            s, x, doc, _ = cl.req("POST", "/collections/big/points/query", q)
            self.assertEqual(s, 200)
        self.assertEqual(x, "HIT")
        cl.close()
        body = json.dumps(q).encode()
        before = self.gw.rss_kb()
        conns = [self.open_conn(body) for _ in range(CONNS)]
        time.sleep(1.5)
        grown = self.gw.rss_kb() - before
        # Without the budget: 400 answers of 800 KB queued (over 300 MB). With it: about the
        # 4 MiB budget plus an answer and the socket buffers per connection.
        self.assertLess(grown, 64 * 1024, "RSS grew by %d KB" % grown)
        # Reading now gets every answer, complete.
        self.read_all(conns)
        self.assertTrue(self.gw.alive(), self.gw.log())


if __name__ == "__main__":
    harness.main()

# SIGHUP reloads the whole configuration: under steady traffic over new and kept-alive HTTP/1.1
# connections, a new body limit and a new search TTL take effect with zero failed requests; a
# connection opened before the reload finishes on the old settings; cached entries survive; a
# broken file is refused with its file:line and changes nothing; a new listen address takes over.
import http.client
import json
import os
import signal
import tempfile
import threading
import time
import unittest

import harness
from h2client import H2Client

VEC = [0.1, 0.2, 0.3, 0.4]
CONF = """\
server:
  listen: "127.0.0.1:{port}"
  workers: 2
  shutdown_timeout: {grace}
upstream:
  url: "http://127.0.0.1:{up}"
limits:
  max_body_bytes: {body}
cache:
  search:
    ttl: {ttl}
log:
  level: info
"""


def search_body(i, pad=0, limit=3):
    """Traffic cycles through 7 searches; limit sets a test's own apart."""
    body = {"query": VEC, "limit": limit, "offset": i % 7, "with_payload": True}
    if pad:
        body["filter"] = {"must_not": [{"key": "pad", "match": {"value": "x" * pad}}]}
    return json.dumps(body).encode()


class Traffic:
    """Threads sending searches until stopped, counting every answer and every failure: one
    keeps its connection alive (reopening only when an answer says Connection: close), one
    opens a connection per request."""

    def __init__(self, port):
        self.port, self.stop, self.lock = port, threading.Event(), threading.Lock()
        self.ok, self.failures = 0, []
        self.threads = [threading.Thread(target=self.run, args=(keep,)) for keep in (1, 1, 0)]

    def record(self, status, what):
        with self.lock:
            if status == 200:
                self.ok += 1
            else:
                self.failures.append(what)

    def run(self, keep):
        conn, i = None, 0
        while not self.stop.is_set():
            i += 1
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
                conn.request("POST", "/collections/c/points/query", body=search_body(i),
                             headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
                self.record(r.status, (r.status, data[:200]))
                if r.will_close or not keep:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                self.record(0, repr(e))
                if conn:
                    conn.close()
                conn = None
        if conn:
            conn.close()

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)


class ReloadTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.conf = os.path.join(self.dir.name, "gateway.yaml")
        self.up = harness.start_fake_qdrant()
        self.port = harness.free_port()
        self.write(body="64KiB", ttl="60s")
        self.gw = harness.Proc([harness.GW_BIN, "-c", self.conf], self.port, "gateway")
        c = harness.HttpClient(self.port)
        s, _, b = c.request("PUT", "/collections/c", {"vectors": {"size": 4, "distance": "Dot"}})
        self.assertEqual(s, 200, b)
        pts = [{"id": i, "vector": [i % 5 + 1, i % 3 + 1, 1, 1], "payload": {"n": i}}
               for i in range(20)]
        s, _, b = c.request("PUT", "/collections/c/points?wait=true", {"points": pts})
        self.assertEqual(s, 200, b)
        c.close()
        harness.wait_caching(self.port)

    def tearDown(self):
        self.gw.cleanup()
        self.up.cleanup()
        self.dir.cleanup()

    def write(self, body, ttl, port=None, grace="5s", text=None):
        with open(self.conf, "w") as f:
            f.write(text if text is not None else CONF.format(
                port=port or self.port, up=self.up.port, body=body, ttl=ttl, grace=grace))

    def health(self, port=None):
        s, _, b = harness.curl(port or self.port, "GET", "/api/v1/health")
        self.assertEqual(s, 200, b)
        return json.loads(b)["result"]

    def hup_and_wait(self, generation=None, failures=None, port=None):
        self.gw.p.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 15
        while True:
            try:
                cfg = self.health(port)["config"]
            except RuntimeError:  # a new listen address: not bound yet
                cfg = {"generation": 0, "reload_failures": -1}
            if generation is not None and cfg["generation"] == generation:
                return cfg
            if failures is not None and cfg["reload_failures"] == failures:
                return cfg
            self.assertLess(time.monotonic(), deadline, self.gw.log()[-3000:])
            time.sleep(0.05)

    def post(self, port, body, conn=None):
        c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        c.request("POST", "/collections/c/points/query", body=body,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        if not conn:
            c.close()
        return r.status, r.getheader("X-Cache"), data

    def test_limit_and_ttl_change_under_traffic(self):
        big = search_body(0, pad=32 * 1024)  # between the old limit (64 KiB) and the new (16 KiB)
        self.assertEqual(self.post(self.port, big)[0], 200)
        warm = search_body(0, limit=4)
        self.post(self.port, warm)
        self.assertEqual(self.post(self.port, warm)[1], "HIT")
        early = H2Client(self.port)  # opened before the reload: finishes on the old settings
        try:
            with Traffic(self.port) as t:
                time.sleep(0.5)
                self.write(body="16KiB", ttl="1s")
                cfg = self.hup_and_wait(generation=2)
                self.assertEqual(cfg["reloads"], 1)
                time.sleep(0.5)
                # New connections: the new limit.
                s, _, b = self.post(self.port, big)
                self.assertEqual(s, 413, b)
                # The connection from before: the old one still.
                st = early.request("POST", "/collections/c/points/query", big,
                                   headers=[("content-type", "application/json")])
                self.assertTrue(early.wait([st]))
                self.assertEqual(st.status, 200, st.body[:300])
                time.sleep(0.5)
            self.assertEqual(t.failures, [], "%d ok" % t.ok)
            self.assertGreater(t.ok, 20)
        finally:
            early.close()
        # The in-process tier survived (nothing that shapes its keys changed).
        self.assertEqual(self.post(self.port, warm)[1], "HIT")
        # The new TTL: a fresh search is stored for 1 s now, not 60.
        fresh = search_body(0, limit=5)
        self.assertEqual(self.post(self.port, fresh)[1], "MISS")
        self.assertEqual(self.post(self.port, fresh)[1], "HIT")
        time.sleep(1.3)
        self.assertEqual(self.post(self.port, fresh)[1], "MISS")
        # The previous configuration's workers finish and are freed.
        deadline = time.monotonic() + 20
        while "0 still finishing" not in self.gw.log():
            self.assertLess(time.monotonic(), deadline, self.gw.log()[-3000:])
            time.sleep(0.1)
        s, _, b = harness.curl(self.port, "GET", "/metrics")
        self.assertIn(b'qdrant_gateway_config_reloads_total{result="ok"} 1', b)
        self.assertIn(b"qdrant_gateway_config_generation 2", b)

    def test_a_bad_file_keeps_the_running_configuration(self):
        with Traffic(self.port) as t:
            time.sleep(0.3)
            self.write(body="1KiB", ttl="1s", text="server:\n  workers: 2\n  listen: [\n")
            cfg = self.hup_and_wait(failures=1)
            self.assertEqual(cfg["generation"], 1)
            self.write(body="1KiB", ttl="1s", text="server:\n  wrokers: 2\n")
            cfg = self.hup_and_wait(failures=2)
            self.assertEqual(cfg["generation"], 1)
            time.sleep(0.3)
        self.assertEqual(t.failures, [])
        log = self.gw.log()
        self.assertIn("reload failed", log)
        self.assertRegex(log, r"gateway\.yaml:\d+")
        self.assertIn("the running configuration stays", log)
        # The old body limit still applies.
        self.assertEqual(self.post(self.port, search_body(0, pad=8 * 1024))[0], 200)
        s, _, b = harness.curl(self.port, "GET", "/metrics")
        self.assertIn(b'qdrant_gateway_config_reloads_total{result="error"} 2', b)

    def test_a_new_listen_address(self):
        new_port = harness.free_port()
        self.write(body="64KiB", ttl="60s", port=new_port, grace="1s")
        self.hup_and_wait(generation=2, port=new_port)
        self.assertEqual(self.post(new_port, search_body(1))[0], 200)
        self.assertEqual(self.health(new_port)["config"]["generation"], 2)
        # The old address stops listening once its workers have finished.
        deadline = time.monotonic() + 15
        while True:
            try:
                self.post(self.port, search_body(1))
            except ConnectionRefusedError:
                break
            self.assertLess(time.monotonic(), deadline, "the old listener still accepts")
            time.sleep(0.1)
        # A second reload back to the first address works too (generation 3).
        self.write(body="64KiB", ttl="60s", grace="1s")
        self.hup_and_wait(generation=3)


if __name__ == "__main__":
    harness.main()

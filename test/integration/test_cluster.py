# A Qdrant cluster behind the gateway (issue 15): three fake_qdrant peers loaded with the same
# points, listed in upstream.urls. Reads spread over the peers; a peer SIGKILLed under read
# load costs no read (a read that fails before any answer byte goes once more to another peer),
# is ejected, and comes back once it restarts on its port and a probe passes; writes are never
# sent twice (the peers do not replicate, so a write sent to two of them would show on both);
# a peer frozen with SIGSTOP loses its traffic to its failing probes; every peer down is a fast
# 502 with Qdrant's error envelope. Config errors of the new keys are checked with -t.
import http.client
import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import unittest

import harness

COLL = "c"
DIM = 4
POINTS = [{"id": i, "vector": [float(i), 1.0, 0.5, float(i % 3)], "payload": {"n": i}}
          for i in range(1, 21)]
QUERY = {"query": [1.0, 1.0, 0.5, 0.0], "limit": 3}


def load_peer(port):
    s, _, b = harness.curl(port, "PUT", "/collections/" + COLL,
                           {"vectors": {"size": DIM, "distance": "Dot"}})
    assert s == 200, b
    s, _, b = harness.curl(port, "PUT", "/collections/%s/points?wait=true" % COLL,
                           {"points": POINTS})
    assert s == 200, b


def op_count(port, op):
    return harness.fake_stats(port)["requests"].get(op, 0)


def once(port, method, path, body=None, timeout=10):
    """One request on its own connection, never re-sent: (status, headers, body)."""
    c = http.client.HTTPConnection(harness.LOOPBACK, port, timeout=timeout)
    try:
        data = json.dumps(body) if body is not None else None
        hdrs = {"Content-Type": "application/json"} if body is not None else {}
        c.request(method, path, body=data, headers=hdrs)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


def metric(port, name, peer):
    _, _, b = harness.curl(port, "GET", "/metrics")
    m = re.search(r'^%s\{peer="%s"\} (\d+)' % (re.escape(name), re.escape(peer)), b.decode(),
                  re.M)
    return int(m.group(1)) if m else None


def wait_for(cond, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def start_cluster_gateway(ports, *sets, workers=2):
    """The gateway with upstream.urls as a YAML list (the sequence form) in a config file."""
    cfg = tempfile.NamedTemporaryFile("w", prefix="gw-cluster-", suffix=".yaml", delete=False)
    cfg.write("upstream:\n  urls:\n")
    for p in ports:
        cfg.write("    - http://%s:%d\n" % (harness.LOOPBACK, p))
    cfg.close()
    port = harness.free_port()
    argv = [harness.GW_BIN, "-c", cfg.name, "--set", "server.listen=%s:%d" % (harness.LOOPBACK, port),
            "--set", "server.workers=%d" % workers, "--set", "cache.enabled=false"]
    for s in sets:
        argv += ["--set", s]
    gw = harness.Proc(argv, port, "gateway")
    gw.config_path = cfg.name
    return gw


def url(port):
    return "http://%s:%d" % (harness.LOOPBACK, port)


class ClusterTest(unittest.TestCase):
    WORKERS = 2

    def setUp(self):
        self.peers = [harness.start_fake_qdrant() for _ in range(3)]
        for p in self.peers:
            load_peer(p.port)
        self.ports = [p.port for p in self.peers]
        self.gw = start_cluster_gateway(
            self.ports, "upstream.health_interval=200ms", "upstream.timeout=1500ms",
            "upstream.connect_timeout=300ms", "upstream.outlier.consecutive_failures=3",
            "upstream.outlier.base_ejection=1s", workers=self.WORKERS)

    def tearDown(self):
        self.gw.cleanup()
        os.unlink(self.gw.config_path)
        for p in self.peers:
            if p.alive():
                os.kill(p.pid, signal.SIGCONT)
            p.cleanup()

    def up_workers(self, i):
        return metric(self.gw.port, "qdrant_gateway_upstream_peer_up", url(self.ports[i]))

    def test_reads_spread_over_the_peers(self):
        before = [op_count(p, "query_points") for p in self.ports]
        for _ in range(90):
            s, _, b = once(self.gw.port, "POST", "/collections/%s/points/query" % COLL, QUERY)
            self.assertEqual(s, 200, b)
            self.assertEqual(len(json.loads(b)["result"]["points"]), 3)
        got = [op_count(p, "query_points") - b for p, b in zip(self.ports, before)]
        self.assertEqual(sum(got), 90, got)
        for g in got:
            self.assertGreaterEqual(g, 10, got)  # each peer gets a share
        # Health and metrics list every peer.
        s, _, b = harness.curl(self.gw.port, "GET", "/api/v1/health")
        self.assertEqual(s, 200, b)
        peers = json.loads(b)["result"]["upstream"]["peers"]
        self.assertEqual([p["url"] for p in peers], [url(p) for p in self.ports])
        self.assertEqual({p["state"] for p in peers}, {"up"})
        for i in range(3):
            self.assertEqual(self.up_workers(i), self.WORKERS)
            self.assertGreaterEqual(
                metric(self.gw.port, "qdrant_gateway_upstream_peer_requests_total",
                       url(self.ports[i])), 10)
            wait_for(lambda: metric(self.gw.port, "qdrant_gateway_upstream_peer_probes_passed_total",
                                    url(self.ports[i])) > 0, what="a passed probe")

    def test_peer_killed_under_load(self):
        reads, writes, stop = [], [], threading.Event()
        next_id = iter(range(1000, 100000))
        lock = threading.Lock()

        def read_load():
            while not stop.is_set():
                try:
                    s, _, b = once(self.gw.port, "POST", "/collections/%s/points/query" % COLL,
                                   QUERY)
                except OSError as e:
                    s, b = -1, str(e)
                reads.append((s, b))

        def write_load():
            while not stop.is_set():
                with lock:
                    pid = next(next_id)
                body = {"points": [{"id": pid, "vector": [1.0, 0.0, 0.0, 0.0]}]}
                try:
                    s, _, _ = once(self.gw.port, "PUT",
                                   "/collections/%s/points?wait=true" % COLL, body)
                except OSError:
                    s = -1
                writes.append((pid, s))

        threads = [threading.Thread(target=read_load) for _ in range(4)]
        threads.append(threading.Thread(target=write_load))
        for t in threads:
            t.start()
        victim = self.peers[2]
        try:
            time.sleep(1.0)
            victim.kill()
            # Ejected by the passive detector (or taken out by its failed probes) on every worker.
            wait_for(lambda: self.up_workers(2) == 0, what="the killed peer out")
            time.sleep(1.0)
        finally:
            stop.set()
            for t in threads:
                t.join()
        bad = [r for r in reads if r[0] != 200]
        self.assertEqual(bad, [], "failed reads: %d of %d" % (len(bad), len(reads)))
        self.assertGreater(len(reads), 50)
        ejections = metric(self.gw.port, "qdrant_gateway_upstream_peer_ejections_total",
                           url(self.ports[2]))
        self.assertGreaterEqual(ejections, 1)
        self.assertGreater(metric(self.gw.port, "qdrant_gateway_upstream_peer_retries_total",
                                  url(self.ports[2])), 0)
        # No write reached two peers, nor one peer twice.
        survivors = self.ports[:2]
        ids = [pid for pid, _ in writes]
        held = {}
        for p in survivors:
            s, _, b = harness.curl(p, "POST", "/collections/%s/points" % COLL, {"ids": ids})
            self.assertEqual(s, 200, b)
            for pt in json.loads(b)["result"]:
                held[pt["id"]] = held.get(pt["id"], 0) + 1
        self.assertTrue(all(n == 1 for n in held.values()), "written twice: %r" %
                        [i for i, n in held.items() if n > 1])
        upserts = sum(op_count(p, "upsert_points") for p in survivors) - 2  # setUp's loads
        self.assertEqual(upserts, len(held))
        ok = {pid for pid, s in writes if s == 200}
        self.assertTrue(ok, writes[:5])
        # Back: restarted on its port, loaded, a probe passes after the ejection time.
        restarted = harness.start_fake_qdrant(port=self.ports[2])
        self.peers[2] = restarted
        load_peer(self.ports[2])
        wait_for(lambda: self.up_workers(2) == self.WORKERS, what="the restarted peer back")
        before = op_count(self.ports[2], "query_points")
        for _ in range(60):
            s, _, b = once(self.gw.port, "POST", "/collections/%s/points/query" % COLL, QUERY)
            self.assertEqual(s, 200, b)
        self.assertGreater(op_count(self.ports[2], "query_points") - before, 0)

    def test_frozen_peer_loses_its_traffic(self):
        victim = self.peers[1]
        os.kill(victim.pid, signal.SIGSTOP)
        try:
            # Its probes time out: no worker sends it traffic any more.
            wait_for(lambda: self.up_workers(1) == 0, what="the frozen peer out")
            for _ in range(40):
                s, _, b = once(self.gw.port, "POST", "/collections/%s/points/query" % COLL, QUERY)
                self.assertEqual(s, 200, b)
        finally:
            os.kill(victim.pid, signal.SIGCONT)
        wait_for(lambda: self.up_workers(1) == self.WORKERS, what="the thawed peer back")

    def test_all_down_is_a_fast_502(self):
        for p in self.peers:
            p.kill()
        for _ in range(5):
            s, h, b = once(self.gw.port, "POST", "/collections/%s/points/query" % COLL, QUERY,
                           timeout=5)
            self.assertEqual(s, 502, b)
            doc = json.loads(b)
            self.assertIn("Bad gateway", doc["status"]["error"])
            self.assertIn("time", doc)
        s, _, _ = once(self.gw.port, "GET", "/api/v1/health", timeout=5)
        self.assertEqual(s, 503)


class InternalFetchTest(unittest.TestCase):
    def test_internal_fetches_skip_a_dead_peer(self):
        """Health's own fetch (GET / of any peer) moves on when its peer refuses the connection:
        with probes off (health_interval 0) and no proxied traffic nothing else marks it out."""
        peers = [harness.start_fake_qdrant() for _ in range(3)]
        gw = start_cluster_gateway([p.port for p in peers], "upstream.health_interval=0",
                                   workers=1)
        try:
            peers[0].kill()
            for _ in range(30):
                s, _, b = once(gw.port, "GET", "/api/v1/health")
                self.assertEqual(s, 200, b)
                self.assertTrue(json.loads(b)["result"]["upstream"]["reachable"])
        finally:
            gw.cleanup()
            os.unlink(gw.config_path)
            for p in peers:
                p.cleanup()


class DebugHeaderTest(unittest.TestCase):
    def test_peer_header_only_at_debug(self):
        peers = [harness.start_fake_qdrant() for _ in range(2)]
        ports = [p.port for p in peers]
        gws = []
        try:
            for level in ("debug", "info"):
                gw = start_cluster_gateway(ports, "log.level=" + level, workers=1)
                gws.append(gw)
                s, h, _ = once(gw.port, "GET", "/collections")
                self.assertEqual(s, 200)
                if level == "debug":
                    self.assertIn(h.get("x-qdrant-peer"), [url(p) for p in ports])
                else:
                    self.assertNotIn("x-qdrant-peer", h)
        finally:
            for gw in gws:
                gw.cleanup()
                os.unlink(gw.config_path)
            for p in peers:
                p.cleanup()


class ConfigCheckTest(unittest.TestCase):
    def check(self, *sets):
        argv = [harness.GW_BIN, "-t"]
        for s in sets:
            argv += ["--set", s]
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)

    def test_both_url_and_urls_refused(self):
        r = self.check("upstream.url=http://127.0.0.1:7000", "upstream.urls=http://127.0.0.1:7001")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"upstream.url (http://127.0.0.1:7000) and upstream.urls are both set",
                      r.stderr)

    def test_urls_accepted(self):
        r = self.check("upstream.urls=http://127.0.0.1:7001, http://127.0.0.1:7002")
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)

# The upstream side: pooling (clients that open a connection per request do not cost Qdrant a
# connection each), forwarded headers, Qdrant down / slow / resetting, recovery by itself,
# writes never retried, health endpoint, and graceful shutdown.
import json
import signal
import subprocess
import threading
import time
import unittest

import harness


fake_stats = harness.fake_stats


class PoolAndHeadersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up = harness.start_fake_qdrant()
        cls.gw = harness.start_gateway(cls.up.port, "upstream.max_connections=4", workers=2)

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.up.cleanup()

    def test_new_client_connection_per_request_reuses_upstream(self):
        before = fake_stats(self.up.port)["connections_accepted"]
        for _ in range(60):  # a curl process per request: a new client connection each time
            s, _, _ = harness.curl(self.gw.port, "GET", "/collections")
            self.assertEqual(s, 200)
        after = fake_stats(self.up.port)["connections_accepted"]
        # At most max_connections per worker are ever opened (plus the stats calls' own).
        self.assertLessEqual(after - before, 2 * 4 + 1)

    def test_forwarded_headers(self):
        s, _, b = harness.curl(self.gw.port, "GET", "/__fake/echo",
                               headers=["X-Request-Id: abc-123", "api-key: client-key",
                                        "Connection: keep-alive, X-Hop", "X-Hop: secret",
                                        "Keep-Alive: timeout=5", "Proxy-Authorization: x",
                                        "X-Forwarded-For: 10.9.8.7", "TE: trailers",
                                        "X-Custom: kept"])
        self.assertEqual(s, 200, b)
        echo = json.loads(b)
        hdrs = {k.lower(): v for k, v in echo["headers"].items()}
        self.assertEqual(hdrs["x-request-id"], "abc-123")
        self.assertEqual(hdrs["api-key"], "client-key")
        self.assertEqual(hdrs["x-custom"], "kept")
        self.assertEqual(hdrs["x-forwarded-for"], "10.9.8.7, 127.0.0.1")
        for hop in ("x-hop", "keep-alive", "proxy-authorization", "te", "upgrade", "expect"):
            self.assertNotIn(hop, hdrs)
        self.assertNotEqual(hdrs.get("connection", "").lower(), "keep-alive, x-hop")

    def test_request_id_generated_and_returned(self):
        s, h, b = harness.curl(self.gw.port, "GET", "/__fake/echo", headers=["Accept:"])
        echo = json.loads(b)
        hdrs = {k.lower(): v for k, v in echo["headers"].items()}
        self.assertRegex(hdrs["x-request-id"], r"^[0-9a-f]{32}$")
        self.assertEqual(h["x-request-id"], hdrs["x-request-id"])
        self.assertNotIn("accept", hdrs)  # nothing the client did not send
        self.assertNotIn("content-type", hdrs)


class ApiKeyInjectionTest(unittest.TestCase):
    def test_configured_key_injected_only_without_client_credentials(self):
        up = harness.start_fake_qdrant("--api-key", "secret")
        gw = harness.start_gateway(up.port, "upstream.api_key=secret")
        try:
            s, _, _ = harness.curl(up.port, "GET", "/collections")
            self.assertEqual(s, 401)
            s, _, _ = harness.curl(gw.port, "GET", "/collections")
            self.assertEqual(s, 200)
            s, _, b = harness.curl(gw.port, "GET", "/collections", headers=["api-key: wrong"])
            self.assertEqual(s, 401)  # the client's own credential passes untouched
            s, _, _ = harness.curl(gw.port, "GET", "/collections",
                                   headers=["Authorization: Bearer secret"])
            self.assertEqual(s, 200)
            s, _, b = harness.curl(gw.port, "GET", "/api/v1/health")
            self.assertEqual(s, 200, b)
        finally:
            gw.cleanup()
            up.cleanup()


class FailuresTest(unittest.TestCase):
    def test_upstream_down_502_then_recovers(self):
        port = harness.free_port()
        gw = harness.start_gateway(port, "upstream.connect_timeout=1s")
        try:
            start = time.monotonic()
            s, h, b = harness.curl(gw.port, "GET", "/collections")
            self.assertEqual(s, 502)
            self.assertLess(time.monotonic() - start, 5)
            doc = json.loads(b)
            self.assertIn("Bad gateway", doc["status"]["error"])
            self.assertIn("time", doc)
            s, _, b = harness.curl(gw.port, "GET", "/api/v1/health")
            self.assertEqual(s, 503)
            self.assertFalse(json.loads(b)["result"]["upstream"]["reachable"])
            up = harness.start_fake_qdrant(port=port)
            try:
                time.sleep(1.1)  # health results are reused for upstream.health_interval
                s, _, _ = harness.curl(gw.port, "GET", "/collections")
                self.assertEqual(s, 200)
                s, _, b = harness.curl(gw.port, "GET", "/api/v1/health")
                self.assertEqual(s, 200, b)
                res = json.loads(b)["result"]
                self.assertEqual(res["upstream"]["version"], "1.19.0")
                self.assertTrue(res["upstream"]["reachable"])
                self.assertEqual(res["workers"], 2)
            finally:
                up.cleanup()
        finally:
            gw.cleanup()

    def test_slow_upstream_504(self):
        up = harness.start_fake_qdrant("--latency-ms", "3000")
        gw = harness.start_gateway(up.port, "upstream.timeout=1s",
                                   "upstream.connect_timeout=500ms")
        try:
            harness.curl(up.port, "PUT", "/collections/c", {"vectors": {"size": 2, "distance": "Dot"}})
            start = time.monotonic()
            s, _, b = harness.curl(gw.port, "POST", "/collections/c/points/query", {"query": [1, 1]})
            self.assertEqual(s, 504, b)
            self.assertIn("Gateway timeout", json.loads(b)["status"]["error"])
            self.assertLess(time.monotonic() - start, 2.9)
            s, _, _ = harness.curl(gw.port, "GET", "/collections")  # not delayed
            self.assertEqual(s, 200)
        finally:
            gw.cleanup()
            up.cleanup()

    def test_reset_gives_502_and_writes_are_not_retried(self):
        up = harness.start_fake_qdrant("--reset-rate", "1.0")
        gw = harness.start_gateway(up.port)
        try:
            for _ in range(3):
                s, _, b = harness.curl(gw.port, "PUT", "/collections/c/points?wait=true",
                                       {"points": [{"id": 1, "vector": [1, 2]}]})
                self.assertEqual(s, 502, b)
        finally:
            gw.cleanup()
        # Read what the upstream saw (no faults on the stats route itself).
        stats = fake_stats(up.port) if up.alive() else None
        up.cleanup()
        if stats is not None:
            self.assertLessEqual(stats["requests"].get("upsert_points", 0), 3)

    def test_upstream_killed_and_restarted_under_traffic(self):
        up = harness.start_fake_qdrant()
        port = up.port
        gw = harness.start_gateway(port, "upstream.connect_timeout=1s")
        statuses = []
        stop = threading.Event()

        def load():
            while not stop.is_set():
                try:
                    s, _, _ = harness.curl(gw.port, "GET", "/collections", timeout=10)
                except RuntimeError:
                    s = -1
                statuses.append(s)

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            time.sleep(1)
            up.kill()
            time.sleep(1)
            up2 = harness.start_fake_qdrant(port=port)
            time.sleep(1.5)
            stop.set()
            for t in threads:
                t.join()
            self.assertTrue(gw.alive(), gw.log())
            self.assertTrue(set(statuses) <= {200, 502}, set(statuses))
            self.assertIn(502, statuses)
            self.assertEqual(statuses[-1], 200)
            s, _, _ = harness.curl(gw.port, "GET", "/collections")
            self.assertEqual(s, 200)
            up2.cleanup()
        finally:
            stop.set()
            gw.cleanup()
            up.cleanup()


class ShutdownTest(unittest.TestCase):
    def test_sigterm_finishes_in_flight_requests(self):
        up = harness.start_fake_qdrant("--latency-ms", "1500")
        gw = harness.start_gateway(up.port, "server.shutdown_timeout=10s")
        try:
            harness.curl(up.port, "PUT", "/collections/c", {"vectors": {"size": 2, "distance": "Dot"}})
            result = {}

            def slow():
                result["r"] = harness.curl(gw.port, "POST", "/collections/c/points/query",
                                           {"query": [1, 1]})

            t = threading.Thread(target=slow)
            t.start()
            time.sleep(0.5)
            gw.p.send_signal(signal.SIGTERM)
            t.join()
            self.assertEqual(result["r"][0], 200)
            self.assertEqual(gw.p.wait(10), 0)
            with self.assertRaises(RuntimeError):
                harness.curl(gw.port, "GET", "/collections", timeout=2)
        finally:
            gw.cleanup()
            up.cleanup()

    def test_sigterm_idle_exits_zero_quickly(self):
        up = harness.start_fake_qdrant()
        gw = harness.start_gateway(up.port)
        try:
            harness.curl(gw.port, "GET", "/collections")
            gw.p.send_signal(signal.SIGINT)
            self.assertEqual(gw.p.wait(5), 0)
        finally:
            gw.cleanup()
            up.cleanup()


class CommandLineTest(unittest.TestCase):
    def run_gw(self, *args):
        return subprocess.run([harness.GW_BIN] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=10)

    def test_help_and_version(self):
        r = self.run_gw("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"--check-config", r.stdout)
        r = self.run_gw("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, rb"^qdrant-gateway \d+\.\d+\.\d+")
        self.assertEqual(self.run_gw("--bogus").returncode, 2)

    def test_check_config(self):
        conf = harness.SOURCE_DIR + "/conf/gateway.yaml"
        r = self.run_gw("-t", "-c", conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.run_gw("-t", "--set", "server.workers=abc")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"server.workers", r.stderr)
        r = self.run_gw("-t", "--set", "no.such.key=1")
        self.assertEqual(r.returncode, 1)
        r = self.run_gw("-t", "-c", "/nonexistent/gateway.yaml")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"/nonexistent/gateway.yaml", r.stderr)

    def test_open_files_limit_raised_to_the_hard_limit(self):
        port = harness.free_port()
        argv = ["sh", "-c", 'ulimit -S -n 256 && exec "$0" "$@"', harness.GW_BIN,
                "--set", "server.listen=127.0.0.1:%d" % port, "--set", "server.workers=1",
                "--set", "upstream.url=http://127.0.0.1:%d" % harness.free_port()]
        gw = harness.Proc(argv, port, "gateway")
        try:
            with open("/proc/%d/limits" % gw.pid) as f:
                line = next(l for l in f if l.startswith("Max open files"))
            soft, hard = line.split()[3:5]
            self.assertEqual(soft, hard, line)
            self.assertIn("open files limit raised from 256 to %s" % hard, gw.log())
        finally:
            gw.cleanup()

    def test_port_in_use_fails_cleanly(self):
        up = harness.start_fake_qdrant()
        try:
            r = self.run_gw("--set", "server.listen=127.0.0.1:%d" % up.port, "--set",
                            "server.workers=1")
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"cannot listen", r.stderr)
        finally:
            up.cleanup()


if __name__ == "__main__":
    harness.main()

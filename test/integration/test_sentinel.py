# Redis behind Sentinel (issue 15): the gateway asks a real redis-sentinel where the master is,
# stores there, follows a failover (SENTINEL FAILOVER promotes the replica; +switch-master and
# ROLE tell the gateway) and stores on the new master, while every read keeps being answered.
import json
import os
import subprocess
import tempfile
import threading
import time
import unittest

import harness


SENTINEL_PASSWORD = "s3ntinel"


def cli(port, *args, password=None):
    auth = ["--no-auth-warning", "-a", password] if password else []
    r = subprocess.run(["redis-cli", "-h", harness.LOOPBACK, "-p", str(port)] + auth + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    return r.stdout.decode().strip()


def wait_for(cond, what, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError("still waiting for " + what)


class SentinelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = harness.start_redis()
        pb = harness.free_port()
        cls.b = harness.Proc(["redis-server", "--port", str(pb), "--bind", harness.LOOPBACK,
                              "--save", "", "--appendonly", "no",
                              "--replicaof", harness.LOOPBACK, str(cls.a.port)], pb, "redis-b")
        cls.dir = tempfile.mkdtemp(prefix="sentinel-")
        ps = harness.free_port()
        conf = os.path.join(cls.dir, "sentinel.conf")
        with open(conf, "w") as f:
            f.write("port %d\nbind %s\ndir %s\n" % (ps, harness.LOOPBACK, cls.dir))
            f.write("sentinel monitor mymaster %s %d 1\n" % (harness.LOOPBACK, cls.a.port))
            f.write("sentinel down-after-milliseconds mymaster 1000\n")
            f.write("sentinel failover-timeout mymaster 5000\n")
            f.write("requirepass %s\n" % SENTINEL_PASSWORD)  # the gateway must AUTH
        cls.s = harness.Proc(["redis-server", conf, "--sentinel"], ps, "sentinel")
        cls.q = harness.start_fake_qdrant()
        harness.curl(cls.q.port, "PUT", "/collections/c", {"vectors": {"size": 2, "distance": "Dot"}})
        pts = [{"id": i, "vector": [i / 10, 1 - i / 10]} for i in range(1, 20)]
        harness.curl(cls.q.port, "PUT", "/collections/c/points?wait=true", {"points": pts})
        cls.gw = harness.start_gateway(
            cls.q.port, "cache.enabled=true",
            "cache.redis.sentinels=%s:%d" % (harness.LOOPBACK, ps),
            "cache.redis.master_name=mymaster",
            "cache.redis.sentinel_password=" + SENTINEL_PASSWORD, "cache.redis.timeout=50ms", workers=2)

    @classmethod
    def tearDownClass(cls):
        for p in (cls.gw, cls.q, cls.s, cls.b, cls.a):
            p.cleanup()

    def redis_up(self):
        s, _, b = harness.curl(self.gw.port, "GET", "/api/v1/health")
        return json.loads(b)["result"]["cache"]["redis"]["up"]

    def health_master(self):
        s, _, b = harness.curl(self.gw.port, "GET", "/api/v1/health")
        return json.loads(b)["result"]["cache"]["redis"]["master"] or ""

    def metric(self, name):
        s, _, b = harness.curl(self.gw.port, "GET", "/metrics")
        for line in b.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    def read(self, i):
        s, h, b = harness.curl(self.gw.port, "POST", "/collections/c/points/query",
                               {"query": [0.2, 0.8], "limit": 1 + i % 10, "offset": i})
        return s

    def test_follows_a_failover(self):
        wait_for(self.redis_up, "the gateway to reach the master Sentinel names")
        self.assertTrue(self.health_master().endswith(":%d" % self.a.port))
        harness.wait_caching(self.gw.port)
        for i in range(5):
            self.assertEqual(self.read(i), 200)
        wait_for(lambda: int(cli(self.a.port, "dbsize")) > 0, "entries stored on the first master")
        wait_for(lambda: "slave0:" in cli(self.a.port, "info", "replication")
                 and "master_link_status:up" in cli(self.b.port, "info", "replication"),
                 "the replica to be in sync")
        wait_for(lambda: cli(self.s.port, "sentinel", "replicas", "mymaster",
                                 password=SENTINEL_PASSWORD) != "",
                 "Sentinel to know the replica")
        failed = []
        stop = threading.Event()

        def traffic():
            i = 100
            while not stop.is_set():
                i += 1
                if self.read(i % 40) != 200:
                    failed.append(i)

        t = threading.Thread(target=traffic, daemon=True)
        t.start()
        try:
            wait_for(lambda: "OK" in cli(self.s.port, "sentinel", "failover", "mymaster",
                                          password=SENTINEL_PASSWORD),
                     "Sentinel to accept the failover")
            wait_for(lambda: cli(self.s.port, "sentinel", "get-master-addr-by-name", "mymaster",
                                 password=SENTINEL_PASSWORD).split()[-1] == str(self.b.port),
                     "the switch")
            wait_for(lambda: "moved to" in self.gw.log(), "the gateway to hear of the switch")
            wait_for(self.redis_up, "the gateway to reach the new master")
            wait_for(lambda: self.health_master().endswith(":%d" % self.b.port),
                     "health to name the new master")
            before = int(cli(self.b.port, "dbsize"))
            for i in range(200, 210):
                self.assertEqual(self.read(i), 200)
            wait_for(lambda: int(cli(self.b.port, "dbsize")) > before,
                     "entries stored on the new master")
        finally:
            stop.set()
            t.join(30)
        self.assertEqual(failed, [], "reads failed during the failover")
        # each worker heard of the first master and of the new one
        self.assertGreaterEqual(self.metric("qdrant_gateway_redis_sentinel_master_changes_total"), 4)
        self.assertEqual(self.metric("qdrant_gateway_redis_sentinel_subscribed"), 1)
        self.assertTrue(self.gw.alive(), self.gw.log())


if __name__ == "__main__":
    harness.main()

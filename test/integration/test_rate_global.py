# Global rate limits across gateway replicas (issue 16): GCRA in one Lua script on a real
# redis-server shared by two real gateways in front of fake_qdrant. Counted, not timed: the
# rates are 1 a minute, so no refill happens within a test. Then Redis killed (the local limit
# decides, fail open, logged once) and started again (global again, logged once).
import base64
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import time
import unittest

import harness
from h2client import H2Client

SECRET = "gw-rate-secret"
SEARCH = {"query": [1, 0, 0, 0], "limit": 3}
BURST = 4


def key_hash(k):
    return hashlib.sha256(k.encode()).hexdigest()


def setup_collection(port):
    c = harness.HttpClient(port, headers={"api-key": SECRET})
    s, _, b = c.request("PUT", "/collections/a", {"vectors": {"size": 4, "distance": "Dot"}})
    assert s == 200, b
    s, _, b = c.request("PUT", "/collections/a/points?wait=true",
                        {"points": [{"id": 1, "vector": [1, 0, 0, 0]}]})
    assert s == 200, b
    c.close()


def metrics(port):
    s, _, b = harness.curl(port, "GET", "/metrics", headers=["api-key: key-admin"])
    assert s == 200, b
    return b.decode()


def metric(text, name, **labels):
    """The sum of a family's samples whose labels include these."""
    total = 0.0
    for line in text.splitlines():
        m = re.match(r"^%s(?:\{(.*)\})? (\S+)$" % re.escape(name), line)
        if not m:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            total += float(m.group(2))
    return total


def wait_redis_up(gw, workers, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if metric(metrics(gw.port), "qdrant_gateway_rate_limit_redis_up") == workers:
            return
        time.sleep(0.05)
    raise AssertionError("the rate limit Redis client never came up:\n" + gw.log())


def gateway(up_port, redis_port, workers, local=None, timeout="500ms"):
    sets = ["upstream.api_key=" + SECRET, "cache.enabled=false",
            "auth.rate.redis_url=redis://127.0.0.1:%d" % redis_port,
            "auth.rate.timeout=" + timeout,  # a loaded machine must not make Redis look slow
            "auth.keys.admin.sha256=" + key_hash("key-admin"), "auth.keys.admin.role=admin"]
    sets += ["auth.keys.shared.sha256=" + key_hash("key-shared"), "auth.keys.shared.role=write",
             "auth.keys.shared.rate.global.reads=1", "auth.keys.shared.rate.global.writes=1",
             "auth.keys.shared.rate.global.burst=%d" % BURST]
    if local:
        sets += ["auth.keys.shared.rate.reads=1", "auth.keys.shared.rate.burst=%d" % local]
    return harness.start_gateway(up_port, *sets, workers=workers)


def reads(port, n):
    c = harness.HttpClient(port, headers={"api-key": "key-shared"})
    try:
        return [c.request("POST", "/collections/a/points/query", SEARCH) for _ in range(n)]
    finally:
        c.close()


class TwoGatewaysTest(unittest.TestCase):
    """Two gateways (two workers each) share one Redis: exactly BURST requests in total."""

    @classmethod
    def setUpClass(cls):
        cls.up = harness.start_fake_qdrant("--api-key", SECRET)
        setup_collection(cls.up.port)
        cls.redis = harness.start_redis()
        cls.gws = [gateway(cls.up.port, cls.redis.port, 2) for _ in range(2)]
        for g in cls.gws:
            wait_redis_up(g, 2)

    @classmethod
    def tearDownClass(cls):
        for g in cls.gws:
            g.cleanup()
        cls.redis.cleanup()
        cls.up.cleanup()

    def test_burst_shared_across_replicas(self):
        answers = []
        for i in range(6):  # new connections each round: both workers of both gateways
            for g in self.gws:
                answers += reads(g.port, 2)
        statuses = [a[0] for a in answers]
        self.assertEqual(statuses.count(200), BURST, statuses)
        self.assertEqual(statuses.count(429), len(statuses) - BURST, statuses)
        self.assertEqual(statuses[:BURST], [200] * BURST)  # in order: the first BURST pass
        for s, h, b in answers[BURST:]:
            ra = int(h["retry-after"])
            self.assertTrue(1 <= ra <= 60, ra)
            self.assertRegex(b.decode(), r"Rate limiting exceeded: Read rate limit exceeded: "
                                         r"Operation requires 1 tokens but only 0\.\d were "
                                         r"available\. Retry after \d+s")
        # writes have their own global limit
        c = harness.HttpClient(self.gws[1].port, headers={"api-key": "key-shared"})
        up = {"points": [{"id": 2, "vector": [0, 1, 0, 0]}]}
        writes = [c.request("PUT", "/collections/a/points?wait=true", up)[0]
                  for _ in range(BURST + 2)]
        c.close()
        self.assertEqual(writes, [200] * BURST + [429, 429])
        # counted per key, scope, limit and result; all decided by Redis
        total = {"allowed": 0, "limited": 0}
        for g in self.gws:
            m = metrics(g.port)
            self.assertNotIn("key-shared", m)  # never the secret
            for res in total:
                total[res] += metric(m, "qdrant_gateway_rate_limit_total", key="shared",
                                     scope="read", limit="global", result=res)
            self.assertEqual(metric(m, "qdrant_gateway_rate_limit_total", limit="local"), 0)
            self.assertEqual(metric(m, "qdrant_gateway_rate_limit_fallbacks_total"), 0)
        self.assertEqual(total, {"allowed": BURST, "limited": len(answers) - BURST})
        # the limiter's keys: named by key name, with a TTL (never kept stale)
        keys = redis_cli(self.redis.port, "KEYS", "qgw:rl:*").split()
        self.assertEqual(sorted(keys), ["qgw:rl:shared:r", "qgw:rl:shared:w"])
        ttl = int(redis_cli(self.redis.port, "PTTL", "qgw:rl:shared:r"))
        self.assertTrue(0 < ttl <= BURST * 60000 + 1000, ttl)


def redis_cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port)] + list(args), check=True,
                          capture_output=True, text=True, timeout=10).stdout.strip()


class RedisDownTest(unittest.TestCase):
    """One worker, a local limit of 2 beside the global one of BURST: Redis killed → the local
    limit (logged once), Redis back → the global limit again."""

    def setUp(self):
        self.up = harness.start_fake_qdrant("--api-key", SECRET)
        setup_collection(self.up.port)
        self.redis = harness.start_redis()
        self.gw = gateway(self.up.port, self.redis.port, 1, local=2)
        wait_redis_up(self.gw, 1)

    def tearDown(self):
        self.gw.cleanup()
        self.redis.cleanup()
        self.up.cleanup()

    def test_reload_keeps_the_global_state(self):
        self.assertEqual([a[0] for a in reads(self.gw.port, 2)], [200, 200])
        self.gw.p.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 15
        while "qdrant_gateway_config_generation 2" not in metrics(self.gw.port):
            self.assertLess(time.monotonic(), deadline, self.gw.log()[-3000:])
            time.sleep(0.05)
        wait_redis_up(self.gw, 1)
        # the new workers' limiter is the same Redis key: BURST - 2 left
        self.assertEqual([a[0] for a in reads(self.gw.port, BURST)],
                         [200] * (BURST - 2) + [429, 429])

    def test_fail_open_to_local_then_global_again(self):
        self.assertEqual([a[0] for a in reads(self.gw.port, BURST + 2)],
                         [200] * BURST + [429, 429])
        port = self.redis.port
        self.redis.kill()
        # the local bucket (2, untouched while Redis decided), then 429
        answers = reads(self.gw.port, 6)
        self.assertEqual([a[0] for a in answers], [200, 200, 429, 429, 429, 429])
        self.assertEqual(answers[2][1].get("retry-after"), "60")
        log = self.gw.log()
        self.assertEqual(log.count("local limits apply until it does (fail open)"), 1, log)
        m = metrics(self.gw.port)
        self.assertEqual(metric(m, "qdrant_gateway_rate_limit_total", key="shared",
                                limit="local", result="allowed"), 2)
        self.assertEqual(metric(m, "qdrant_gateway_rate_limit_total", key="shared",
                                limit="local", result="limited"), 4)
        self.assertEqual(metric(m, "qdrant_gateway_rate_limit_fallbacks_total"), 6)
        # Redis back (empty: its limits start full): global again
        self.redis.cleanup()
        self.redis = harness.start_redis(port=port)
        wait_redis_up(self.gw, 1)
        self.assertEqual([a[0] for a in reads(self.gw.port, BURST + 1)],
                         [200] * BURST + [429])
        log = self.gw.log()
        self.assertEqual(log.count("decides again: global limits apply"), 1, log)
        self.assertEqual(log.count("local limits apply until it does (fail open)"), 1, log)


class ParkedTest(unittest.TestCase):
    """Requests parked at once on HTTP/2 streams; a stalled Redis (SIGSTOP): its verdicts
    time out to the local limit, and clients that leave while parked are let go."""

    def setUp(self):
        self.up = harness.start_fake_qdrant("--api-key", SECRET)
        setup_collection(self.up.port)
        self.redis = harness.start_redis()
        self.gw = gateway(self.up.port, self.redis.port, 1, local=100, timeout="300ms")
        wait_redis_up(self.gw, 1)

    def tearDown(self):
        self.gw.cleanup()
        self.redis.cleanup()
        self.up.cleanup()

    def h2_reads(self, c, n):
        hdrs = [("api-key", "key-shared"), ("content-type", "application/json")]
        return [c.request("POST", "/collections/a/points/query",
                          body=json.dumps(SEARCH).encode(), headers=hdrs) for _ in range(n)]

    def test_h2_streams_and_a_stalled_redis(self):
        c = H2Client(self.gw.port)
        try:
            sts = self.h2_reads(c, BURST + 4)  # all in flight at once
            self.assertTrue(c.wait(sts))
            got = [st.status for st in sts]
            self.assertEqual(got.count(200), BURST, got)
            self.assertEqual(got.count(429), 4, got)
            # Redis stalls (SIGSTOP): parked streams, some reset by the client, the rest
            # decided by the local limit once auth.rate.timeout passes.
            os.kill(self.redis.pid, signal.SIGSTOP)
            sts = self.h2_reads(c, 6)
            for st in sts[:3]:
                c.reset(st)
            for _ in range(3):  # HTTP/1.1 clients that leave while parked
                s = socket.create_connection(("127.0.0.1", self.gw.port))
                body = json.dumps(SEARCH).encode()
                s.sendall(b"POST /collections/a/points/query HTTP/1.1\r\nHost: x\r\n"
                          b"api-key: key-shared\r\ncontent-type: application/json\r\n"
                          b"content-length: %d\r\n\r\n%s" % (len(body), body))
                s.close()
            self.assertTrue(c.wait(sts[3:]))
            self.assertEqual([st.status for st in sts[3:]], [200] * 3)
        finally:
            os.kill(self.redis.pid, signal.SIGCONT)
            c.close()
        m = metrics(self.gw.port)
        self.assertGreaterEqual(metric(m, "qdrant_gateway_rate_limit_fallbacks_total",
                                       reason="timeout"), 1, m)
        self.assertEqual(metric(m, "qdrant_gateway_rate_limit_total", limit="local",
                                result="limited"), 0)
        deadline = time.monotonic() + 10
        while metric(metrics(self.gw.port), "qdrant_gateway_rate_limit_parked") != 0:
            self.assertLess(time.monotonic(), deadline, "requests stay parked")
            time.sleep(0.05)
        # Redis awake: global again (the limit is spent: 429 from Redis)
        wait_redis_up(self.gw, 1)
        deadline = time.monotonic() + 10
        while True:
            before = metric(metrics(self.gw.port), "qdrant_gateway_rate_limit_total",
                            limit="global")
            s, h, _ = reads(self.gw.port, 1)[0]
            if metric(metrics(self.gw.port), "qdrant_gateway_rate_limit_total",
                      limit="global") > before:
                break
            self.assertLess(time.monotonic(), deadline, "Redis never decides again")
            time.sleep(0.1)
        self.assertEqual(s, 429)
        self.assertIn("retry-after", h)
        self.assertTrue(self.gw.alive())
        self.assertEqual(self.gw.log().count("decides again: global limits apply"), 1)


def jwt(claims):
    def b64u(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    msg = b64u(b'{"alg":"HS256","typ":"JWT"}') + "." + b64u(json.dumps(claims).encode())
    return msg + "." + b64u(hmac.new(SECRET.encode(), msg.encode(), hashlib.sha256).digest())


def token_reads(port, token, n):
    c = harness.HttpClient(port, headers={"authorization": "Bearer " + token})
    try:
        return [c.request("POST", "/collections/a/points/query", SEARCH)[0] for _ in range(n)]
    finally:
        c.close()


class SubjectTest(unittest.TestCase):
    """auth.jwt.rate: per token subject (the sub claim), locally (a bounded table per worker)
    and across two gateways in Redis."""

    @classmethod
    def setUpClass(cls):
        cls.up = harness.start_fake_qdrant("--api-key", SECRET, "--jwt-rbac", "true")
        setup_collection(cls.up.port)
        cls.redis = harness.start_redis()
        common = ["auth.jwt.enabled=true", "auth.jwt.secret=" + SECRET, "cache.enabled=false",
                  "auth.keys.admin.sha256=" + key_hash("key-admin"), "auth.keys.admin.role=admin",
                  "upstream.api_key=" + SECRET]
        cls.local = harness.start_gateway(cls.up.port, *common, "auth.jwt.rate.reads=1",
                                          "auth.jwt.rate.burst=2",
                                          "auth.jwt.rate.max_subjects=16", workers=1)
        glob = common + ["auth.rate.redis_url=redis://127.0.0.1:%d" % cls.redis.port,
                         "auth.rate.timeout=500ms", "auth.jwt.rate.global.reads=1",
                         "auth.jwt.rate.global.burst=3"]
        cls.gws = [harness.start_gateway(cls.up.port, *glob, workers=2) for _ in range(2)]
        for g in cls.gws:
            wait_redis_up(g, 2)

    @classmethod
    def tearDownClass(cls):
        for g in [cls.local] + cls.gws:
            g.cleanup()
        cls.redis.cleanup()
        cls.up.cleanup()

    def test_local_per_subject(self):
        alice = jwt({"access": "r", "sub": "alice"})
        alice2 = jwt({"access": [{"collection": "a", "access": "r"}], "sub": "alice"})
        self.assertEqual(token_reads(self.local.port, alice, 1), [200])
        # another token of the same subject shares its bucket
        self.assertEqual(token_reads(self.local.port, alice2, 2), [200, 429])
        self.assertEqual(token_reads(self.local.port, jwt({"access": "r", "sub": "bob"}), 3),
                         [200, 200, 429])
        # tokens without a subject are not limited
        self.assertEqual(token_reads(self.local.port, jwt({"access": "r"}), 5), [200] * 5)
        # more subjects than the table holds: room is made, nothing fails
        for i in range(40):
            self.assertEqual(token_reads(self.local.port,
                                         jwt({"access": "r", "sub": "s%d" % i}), 1), [200])
        m = metrics(self.local.port)
        self.assertGreater(metric(m, "qdrant_gateway_rate_limit_subjects_evicted_total"), 0)
        self.assertEqual(metric(m, "qdrant_gateway_rate_limit_subjects_total", scope="read",
                                limit="local", result="limited"), 2)
        self.assertNotIn("alice", m)  # subjects are not metric labels

    def test_global_per_subject(self):
        carol = jwt({"access": "r", "sub": "carol"})
        statuses = []
        for _ in range(4):
            for g in self.gws:
                statuses += token_reads(g.port, carol, 2)
        self.assertEqual(statuses, [200] * 3 + [429] * 13)
        self.assertEqual(token_reads(self.gws[0].port, jwt({"access": "r", "sub": "dave"}), 4),
                         [200] * 3 + [429])
        odd = jwt({"access": "r", "sub": "é x:y"})
        self.assertEqual(token_reads(self.gws[1].port, odd, 4), [200] * 3 + [429])
        keys = sorted(redis_cli(self.redis.port, "KEYS", "qgw:rls:*").split())
        hexed = "qgw:rls:#%s:r" % hashlib.sha256("é x:y".encode()).hexdigest()
        self.assertEqual(keys, sorted(["qgw:rls:carol:r", "qgw:rls:dave:r", hexed]))
        total = sum(metric(metrics(g.port), "qdrant_gateway_rate_limit_subjects_total",
                           limit="global", result="allowed") for g in self.gws)
        self.assertEqual(total, 9)


class NoRedisTest(unittest.TestCase):
    """A global limit with no Redis configured: the local limit, said once at startup."""

    def test_unconfigured(self):
        up = harness.start_fake_qdrant("--api-key", SECRET)
        setup_collection(up.port)
        sets = ["upstream.api_key=" + SECRET, "cache.enabled=false",
                "auth.keys.admin.sha256=" + key_hash("key-admin"), "auth.keys.admin.role=admin",
                "auth.keys.shared.sha256=" + key_hash("key-shared"),
                "auth.keys.shared.rate.global.reads=1", "auth.keys.shared.rate.reads=1",
                "auth.keys.shared.rate.burst=2"]
        gw = harness.start_gateway(up.port, *sets, workers=1)
        try:
            self.assertEqual([a[0] for a in reads(gw.port, 3)], [200, 200, 429])
            self.assertEqual(gw.log().count("is set but no Redis is"), 1)
            self.assertEqual(metric(metrics(gw.port), "qdrant_gateway_rate_limit_fallbacks_total",
                                    reason="unconfigured"), 3)
        finally:
            gw.cleanup()
            up.cleanup()


if __name__ == "__main__":
    harness.main()

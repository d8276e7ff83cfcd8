# Global rate limits for gRPC calls (issue 16: the same checks on every protocol). The gRPC
# forwarder runs the access gate after reading the message; under a global limit the call now
# waits for Redis's verdict (gw_dispatch_gate_async) instead of falling back to the local limit
# (reason="inline"). Real redis-server, two real gateways, fake_qdrant's gRPC port, grpcio.
# Counted, not timed: 1 a minute, so nothing refills within a test. Then a stalled Redis
# (SIGSTOP): a call cancelled while parked, a call whose upstream.timeout passes while parked.
import os
import signal
import time
import unittest

import harness
from test_rate_global import key_hash, metric, metrics, setup_collection, wait_redis_up

harness.grpc_stubs()
import grpc  # noqa: E402
import points_pb2 as ppb  # noqa: E402
import points_service_pb2_grpc as psvc  # noqa: E402

SECRET = "gw-rate-secret"
BURST = 4
KEY = (("api-key", "key-shared"),)
RATE_TEXT = (r"^Rate limiting exceeded: Read rate limit exceeded: Operation requires 1 tokens "
             r"but only 0\.\d were available\. Retry after \d+s$")


def start_up():
    up, gport = harness.start_fake_qdrant_grpc("--api-key", SECRET)
    setup_collection(up.port)
    return up, gport


def gateway(up, gport, redis_port, workers, timeout="500ms", *extra):
    """A gateway whose key `shared` has a global limit of BURST (redis_port None: a local
    limit of `extra`'s only)."""
    sets = ["upstream.api_key=" + SECRET, "cache.enabled=false",
            "upstream.grpc_url=http://127.0.0.1:%d" % gport,
            "auth.keys.admin.sha256=" + key_hash("key-admin"), "auth.keys.admin.role=admin",
            "auth.keys.shared.sha256=" + key_hash("key-shared"), "auth.keys.shared.role=write"]
    if redis_port:
        sets += ["auth.rate.redis_url=redis://127.0.0.1:%d" % redis_port,
                 "auth.rate.timeout=" + timeout, "auth.keys.shared.rate.global.reads=1",
                 "auth.keys.shared.rate.global.writes=1",
                 "auth.keys.shared.rate.global.burst=%d" % BURST]
    gw = harness.start_gateway(up.port, *(sets + list(extra)), workers=workers)
    if redis_port:
        wait_redis_up(gw, workers)
    return gw


def search_req():
    return ppb.SearchPoints(collection_name="a", vector=[1, 0, 0, 0], limit=3)


def search(port, n):
    """n Search calls on a new channel: OK or (code, details) each."""
    out = []
    with grpc.insecure_channel("127.0.0.1:%d" % port) as chan:
        stub = psvc.PointsStub(chan)
        for _ in range(n):
            try:
                stub.Search(search_req(), metadata=KEY, timeout=20)
                out.append("OK")
            except grpc.RpcError as e:
                out.append((e.code(), e.details()))
    return out


def wait_metric(gw, value, name, timeout=15.0, **labels):
    deadline = time.monotonic() + timeout
    while metric(metrics(gw.port), name, **labels) != value:
        if time.monotonic() > deadline:
            raise AssertionError("%s%r never %s:\n%s" % (name, labels, value, metrics(gw.port)))
        time.sleep(0.05)


class TwoGatewaysGrpcTest(unittest.TestCase):
    """Two gateways (two workers each) share one Redis: exactly BURST gRPC Searches in total."""

    @classmethod
    def setUpClass(cls):
        cls.up, cls.gport = start_up()
        cls.redis = harness.start_redis()
        cls.gws = [gateway(cls.up, cls.gport, cls.redis.port, 2) for _ in range(2)]

    @classmethod
    def tearDownClass(cls):
        for g in cls.gws:
            g.cleanup()
        cls.redis.cleanup()
        cls.up.cleanup()

    def test_burst_shared_across_replicas(self):
        answers = []
        for _ in range(6):  # new channels (connections) each round: both workers of both
            for g in self.gws:
                answers += search(g.port, 2)
        self.assertEqual(answers.count("OK"), BURST, answers)
        self.assertEqual(answers[:BURST], ["OK"] * BURST)  # in order: the first BURST pass
        for a in answers[BURST:]:
            self.assertEqual(a[0], grpc.StatusCode.RESOURCE_EXHAUSTED, a)
            self.assertRegex(a[1], RATE_TEXT)
        total = {"allowed": 0, "limited": 0}
        for g in self.gws:
            m = metrics(g.port)
            for res in total:
                total[res] += metric(m, "qdrant_gateway_rate_limit_total", key="shared",
                                     scope="read", limit="global", result=res)
            self.assertEqual(metric(m, "qdrant_gateway_rate_limit_total", limit="local"), 0, m)
            self.assertEqual(metric(m, "qdrant_gateway_rate_limit_fallbacks_total"), 0, m)
            self.assertEqual(metric(m, "qdrant_gateway_rate_limit_parked"), 0, m)
        self.assertEqual(total, {"allowed": BURST, "limited": len(answers) - BURST})


class LocalGrpcTest(unittest.TestCase):
    """A local limit only (no Redis): the gate decides inline, RESOURCE_EXHAUSTED as well."""

    def test_local_limit(self):
        up, gport = start_up()
        gw = None
        try:
            gw = gateway(up, gport, None, 1, "", "auth.keys.shared.rate.reads=1",
                         "auth.keys.shared.rate.burst=2")
            got = search(gw.port, 3)
            self.assertEqual(got[:2], ["OK", "OK"])
            self.assertEqual(got[2][0], grpc.StatusCode.RESOURCE_EXHAUSTED, got)
            self.assertRegex(got[2][1], RATE_TEXT)
            m = metrics(gw.port)
            for res, n in (("allowed", 2), ("limited", 1)):
                self.assertEqual(metric(m, "qdrant_gateway_rate_limit_total", key="shared",
                                        limit="local", result=res), n, m)
        finally:
            if gw:
                gw.cleanup()
            up.cleanup()


class ParkedGrpcTest(unittest.TestCase):
    """A stalled Redis (SIGSTOP) with auth.rate.timeout (1s) past upstream.timeout: gRPC calls
    stay parked. One is cancelled by its client (RST_STREAM), one's connection closes, one
    outlives upstream.timeout (DEADLINE_EXCEEDED); all are let go at once, Redis's late
    verdicts dropped."""

    def setUp(self):
        self.up, self.gport = start_up()
        self.redis = harness.start_redis()
        self.gw = gateway(self.up, self.gport, self.redis.port, 1, "1s",
                          "upstream.timeout=300ms", "upstream.connect_timeout=200ms")

    def tearDown(self):
        try:
            os.kill(self.redis.pid, signal.SIGCONT)
        except OSError:
            pass
        self.gw.cleanup()
        self.redis.cleanup()
        self.up.cleanup()

    def test_cancel_and_deadline_while_parked(self):
        self.assertEqual(search(self.gw.port, 1), ["OK"])
        chan = grpc.insecure_channel("127.0.0.1:%d" % self.gw.port)
        chan2 = grpc.insecure_channel("127.0.0.1:%d" % self.gw.port)
        try:
            stub = psvc.PointsStub(chan)
            os.kill(self.redis.pid, signal.SIGSTOP)
            fut = stub.Search.future(search_req(), metadata=KEY, timeout=60)
            fut2 = psvc.PointsStub(chan2).Search.future(search_req(), metadata=KEY, timeout=60)
            wait_metric(self.gw, 2, "qdrant_gateway_rate_limit_parked")
            fut.cancel()  # RST_STREAM while parked
            self.assertTrue(fut.cancelled())
            chan2.close()  # the connection goes while parked
            self.assertEqual(fut2.exception().code(), grpc.StatusCode.CANCELLED)
            # parked until upstream.timeout: the forwarder's deadline answers, not the client's
            with self.assertRaises(grpc.RpcError) as cm:
                stub.Search(search_req(), metadata=KEY, timeout=60)
            self.assertEqual(cm.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
            self.assertEqual(cm.exception.details(),
                             "upstream gRPC answer not complete within upstream.timeout")
            self.assertTrue(self.gw.alive())
        finally:
            os.kill(self.redis.pid, signal.SIGCONT)
            chan.close()
            chan2.close()
        # the verdicts (Redis's or auth.rate.timeout's) of the three were dropped, uncounted
        wait_metric(self.gw, 0, "qdrant_gateway_rate_limit_parked")
        m = metrics(self.gw.port)
        self.assertEqual(metric(m, "qdrant_gateway_rate_limit_fallbacks_total"), 0, m)
        self.assertEqual(metric(m, "qdrant_gateway_rate_limit_total"), 1, m)
        # healthy, and Redis decides again: BURST + 1 more calls cannot all pass
        wait_redis_up(self.gw, 1)
        got = search(self.gw.port, BURST + 1)
        self.assertEqual(got[-1][0], grpc.StatusCode.RESOURCE_EXHAUSTED, got)
        m = metrics(self.gw.port)
        self.assertEqual(metric(m, "qdrant_gateway_rate_limit_total", limit="global"),
                         1 + BURST + 1, m)
        self.assertEqual(metric(m, "qdrant_gateway_rate_limit_total", limit="global",
                                result="allowed"), 1 + got.count("OK"), m)
        self.assertTrue(self.gw.alive())


if __name__ == "__main__":
    unittest.main()

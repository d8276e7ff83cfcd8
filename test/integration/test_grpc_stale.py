# Issue 17: stale-if-error and coalescing for cached gRPC reads, as for REST. When Qdrant's gRPC
# port fails (killed: UNAVAILABLE; stopped: the gateway's upstream.timeout), a read whose entry
# expired less than cache.stale_if_error ago is answered from it with x-cache: STALE and the
# exact bytes of the first answer; without such an entry (never cached, or stale_if_error 0) the
# failure shows (UNAVAILABLE). Identical concurrent misses, over several connections and
# workers, send one call to Qdrant and all get its answer. Two replicas on one Redis: a REST or
# gRPC write through one makes the other's cached gRPC reads unreachable, and a gRPC answer one
# stored in Redis answers the other.
import os
import signal
import threading
import time
import unittest

import harness

harness.grpc_stubs()
import grpc  # noqa: E402
import collections_pb2 as cpb  # noqa: E402
import points_pb2 as ppb  # noqa: E402
import qdrant_common_pb2 as cm  # noqa: E402

P = "/qdrant.Points/"
C = "/qdrant.Collections/"


def call(ch, path, body, timeout=10, md=()):
    """Raw request bytes in, (answer bytes, x-cache) out; grpc.RpcError on failure."""
    fn = ch.unary_unary(path, request_serializer=lambda b: b, response_deserializer=lambda b: b)
    resp, c = fn.with_call(body, timeout=timeout, metadata=list(md))
    return resp, dict(c.initial_metadata()).get("x-cache")


def status(ch, path, body, timeout=10):
    try:
        call(ch, path, body, timeout)
        return grpc.StatusCode.OK, ""
    except grpc.RpcError as e:
        return e.code(), e.details()


def make_collection(ch, name, n=5):
    vc = cpb.VectorsConfig(params=cpb.VectorParams(size=4, distance=cpb.Dot))
    call(ch, C + "Create", cpb.CreateCollection(collection_name=name,
                                                vectors_config=vc).SerializeToString())
    pts = []
    for i in range(1, n + 1):
        p = ppb.PointStruct(id=cm.PointId(num=i), vectors=ppb.Vectors(vector=ppb.Vector(
            dense=ppb.DenseVector(data=[1.0 / i, 0, 0, 0]))))
        p.payload["n"].integer_value = i
        pts.append(p)
    call(ch, P + "Upsert", ppb.UpsertPoints(collection_name=name, wait=True,
                                            points=pts).SerializeToString())


def search(name, limit=2):
    return ppb.SearchPoints(collection_name=name, vector=[1, 0, 0, 0], limit=limit,
                            with_payload=ppb.WithPayloadSelector(enable=True)).SerializeToString()


def metric(port, sample):
    s, _, body = harness.curl(port, "GET", "/metrics")
    for line in body.decode().splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[1])
    return 0.0


STALE = 'qdrant_gateway_cache_lookups_total{tier="l1",result="stale"}'
L2_HIT = 'qdrant_gateway_cache_lookups_total{tier="l2",result="hit"}'


def redis_cmd(port, *args):
    """One command to redis-server on a fresh connection; the reply as Python values."""
    import socket
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sk:
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        sk.sendall(out)
        f = sk.makefile("rb")

        def reply():
            line = f.readline()
            kind, rest = line[:1], line[1:-2]
            if kind == b"$":
                n = int(rest)
                return None if n < 0 else f.read(n + 2)[:-2]
            if kind == b"*":
                return [reply() for _ in range(int(rest))]
            if kind == b"-":
                raise RuntimeError(rest.decode())
            return int(rest) if kind == b":" else rest

        return reply()


def wait_in_redis(port, data):
    """Until some cache entry in Redis holds `data` (a replica stores as its answer goes out,
    so the entry can land a moment after the client has the answer). 5 s at most."""
    for _ in range(500):
        for k in redis_cmd(port, "KEYS", "*e:*"):
            v = redis_cmd(port, "GET", k)
            if v and data in v:
                return
        time.sleep(0.01)
    raise AssertionError("no entry holding the answer in Redis")


class GrpcStale(unittest.TestCase):
    def setUp(self):
        self.up, self.gport = harness.start_fake_qdrant_grpc()
        common = ["cache.enabled=true", "cache.ttl=1s", "upstream.timeout=1s",
                  "upstream.connect_timeout=500ms",
                  "upstream.grpc_url=http://127.0.0.1:%d" % self.gport]
        self.gw = harness.start_gateway(self.up.port, *common, "cache.stale_if_error=1m")
        self.gw0 = harness.start_gateway(self.up.port, *common, "cache.stale_if_error=0s")
        self.chans = []

    def tearDown(self):
        for c in self.chans:
            c.close()
        if self.up.alive():
            os.kill(self.up.pid, signal.SIGCONT)
        self.gw.cleanup()
        self.gw0.cleanup()
        self.up.cleanup()

    def chan(self, port):
        c = grpc.insecure_channel("127.0.0.1:%d" % port)
        self.chans.append(c)
        return c

    def test_stale_when_qdrant_fails(self):
        ch, ch0 = self.chan(self.gw.port), self.chan(self.gw0.port)
        # Loaded directly on fake_qdrant: the gateways have seen no write to it.
        make_collection(self.chan(self.gport), "gs")
        for port in (self.gw.port, self.gw0.port):
            harness.wait_caching(port, "gs")
        fresh, xc = call(ch, P + "Search", search("gs"))
        self.assertEqual(xc, "MISS")
        self.assertEqual(call(ch, P + "Search", search("gs")), (fresh, "HIT"))
        self.assertEqual(call(ch0, P + "Search", search("gs"))[1], "MISS")
        count, xc = call(ch, P + "Count", ppb.CountPoints(collection_name="gs").SerializeToString())
        self.assertEqual(xc, "MISS")
        self.assertEqual(ppb.CountResponse.FromString(count).result.count, 5)

        # Qdrant stopped (connections open, no answer): the gateway's upstream.timeout passes.
        os.kill(self.up.pid, signal.SIGSTOP)
        time.sleep(1.2)  # past cache.ttl: the entries are stale now
        self.assertEqual(call(ch, P + "Search", search("gs")), (fresh, "STALE"))
        code, msg = status(ch0, P + "Search", search("gs"))
        self.assertEqual(code, grpc.StatusCode.DEADLINE_EXCEEDED)
        self.assertIn("upstream.timeout", msg)

        # Qdrant killed: UNAVAILABLE, answered with the stale entry where there is one.
        os.kill(self.up.pid, signal.SIGCONT)
        self.up.kill()
        self.assertEqual(call(ch, P + "Search", search("gs")), (fresh, "STALE"))
        self.assertEqual(call(ch, P + "Count", ppb.CountPoints(
            collection_name="gs").SerializeToString()), (count, "STALE"))
        code, msg = status(ch, P + "Search", search("gs", limit=3))  # never cached
        self.assertEqual(code, grpc.StatusCode.UNAVAILABLE)
        self.assertIn("upstream gRPC 127.0.0.1:%d" % self.gport, msg)
        code, msg = status(ch0, P + "Search", search("gs"))  # cache.stale_if_error: 0
        self.assertEqual(code, grpc.StatusCode.UNAVAILABLE)
        self.assertIn("upstream gRPC 127.0.0.1:%d" % self.gport, msg)
        self.assertGreaterEqual(metric(self.gw.port, STALE), 3)
        self.assertEqual(metric(self.gw0.port, STALE), 0)
        # A write is never answered stale: Qdrant's absence shows.
        code, _ = status(ch, P + "Upsert", ppb.UpsertPoints(collection_name="gs", wait=True, points=[
            ppb.PointStruct(id=cm.PointId(num=9), vectors=ppb.Vectors(vector=ppb.Vector(
                dense=ppb.DenseVector(data=[1, 0, 0, 0]))))]).SerializeToString())
        self.assertEqual(code, grpc.StatusCode.UNAVAILABLE)

    def test_qdrant_status_is_relayed(self):
        """A status Qdrant sent (NOT_FOUND here) is its answer, never replaced by a stale one."""
        ch = self.chan(self.gw.port)
        make_collection(self.chan(self.gport), "gs_nf")
        harness.wait_caching(self.gw.port, "gs_nf")
        fresh, xc = call(ch, P + "Search", search("gs_nf"))
        self.assertEqual(xc, "MISS")
        s, _, _ = harness.curl(self.up.port, "DELETE", "/collections/gs_nf")  # behind its back
        self.assertEqual(s, 200)
        time.sleep(1.2)
        code, msg = status(ch, P + "Search", search("gs_nf"))
        self.assertEqual(code, grpc.StatusCode.NOT_FOUND)
        self.assertEqual(msg, "Not found: Collection `gs_nf` doesn't exist!")


class GrpcCoalesce(unittest.TestCase):
    N = 16

    @classmethod
    def setUpClass(cls):
        cls.up, cls.gport = harness.start_fake_qdrant_grpc("--latency-ms", "1500")
        cls.gw = harness.start_gateway(cls.up.port, "cache.enabled=true",
                                       "upstream.grpc_url=http://127.0.0.1:%d" % cls.gport)
        # One connection per client, spread over the gateway's two workers.
        cls.chans = [grpc.insecure_channel("127.0.0.1:%d" % cls.gw.port,
                                           options=[("grpc.use_local_subchannel_pool", 1)])
                     for _ in range(cls.N)]
        direct = grpc.insecure_channel("127.0.0.1:%d" % cls.gport)
        make_collection(direct, "gco")
        direct.close()
        harness.wait_caching(cls.gw.port, "gco")
        for ch in cls.chans:  # connected, so that the calls below go out together
            call(ch, C + "CollectionExists",
                 cpb.CollectionExistsRequest(collection_name="gco").SerializeToString())

    @classmethod
    def tearDownClass(cls):
        for c in cls.chans:
            c.close()
        cls.gw.cleanup()
        cls.up.cleanup()

    def together(self, body):
        """The same search from every client at once: [(answer, x-cache) or (code, details)]."""
        out = [None] * self.N
        go = threading.Barrier(self.N)

        def one(i):
            go.wait()
            try:
                out[i] = call(self.chans[i], P + "Search", body, timeout=30)
            except grpc.RpcError as e:
                out[i] = (e.code(), e.details())

        ts = [threading.Thread(target=one, args=(i,)) for i in range(self.N)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return out

    def test_one_upstream_call(self):
        harness.curl(self.up.port, "POST", "/__fake/stats/reset")
        c0 = metric(self.gw.port, "qdrant_gateway_cache_coalesced_total")
        out = self.together(search("gco", limit=3))
        self.assertEqual(harness.fake_stats(self.up.port)["grpc_calls"], 1)
        answers = {o[0] for o in out}
        self.assertEqual(len(answers), 1, out)
        self.assertEqual(len(ppb.SearchResponse.FromString(answers.pop()).result), 3)
        self.assertEqual(sorted(o[1] for o in out), ["HIT"] * (self.N - 1) + ["MISS"])
        # Every waiter coalesced (a client later than the answer would be an L1 hit instead).
        self.assertGreaterEqual(metric(self.gw.port, "qdrant_gateway_cache_coalesced_total") - c0,
                                1)
        # Stored too: the next one is a hit.
        self.assertEqual(call(self.chans[0], P + "Search", search("gco", limit=3))[1], "HIT")

    def test_failed_leader_not_shared(self):
        """Only an OK answer is shared: the waiters of a refused read ask Qdrant themselves and
        get its status as it is."""
        harness.curl(self.up.port, "POST", "/__fake/stats/reset")
        out = self.together(search("gco_missing"))
        self.assertEqual(set(out), {(grpc.StatusCode.NOT_FOUND,
                                     "Not found: Collection `gco_missing` doesn't exist!")})
        self.assertEqual(harness.fake_stats(self.up.port)["grpc_calls"], self.N)

    def calls_in_background(self, specs, body):
        """specs: [(channel index, timeout)], each call started in its own thread after the
        previous one reached fake_qdrant (the first) or was started (the rest)."""
        out = [None] * len(specs)

        def one(i, ch, timeout):
            try:
                out[i] = call(self.chans[ch], P + "Search", body, timeout=timeout)
            except grpc.RpcError as e:
                out[i] = (e.code(),)

        ts = []
        for i, (ch, timeout) in enumerate(specs):
            ts.append(threading.Thread(target=one, args=(i, ch, timeout)))
            ts[-1].start()
            if i == 0:  # the leader's call is at fake_qdrant (counted before its delay)
                for _ in range(500):
                    if harness.fake_stats(self.up.port)["grpc_calls"] >= 1:
                        break
                    time.sleep(0.01)
        for t in ts:
            t.join()
        return out

    def test_waiters_that_give_up(self):
        """Waiters whose deadline passes leave the flight; the others still get the answer."""
        harness.curl(self.up.port, "POST", "/__fake/stats/reset")
        specs = [(0, 30)] + [(i, 0.3 if i % 2 else 30) for i in range(1, 9)]
        out = self.calls_in_background(specs, search("gco", limit=4))
        self.assertEqual(harness.fake_stats(self.up.port)["grpc_calls"], 1)
        self.assertEqual(out[0][1], "MISS")
        for (ch, timeout), o in zip(specs[1:], out[1:]):
            self.assertEqual(o, (grpc.StatusCode.DEADLINE_EXCEEDED,) if timeout < 1
                             else (out[0][0], "HIT"))

    def test_leader_that_gives_up(self):
        """A leader whose deadline passes lands without an answer: its waiters go alone."""
        harness.curl(self.up.port, "POST", "/__fake/stats/reset")
        specs = [(0, 0.3)] + [(i, 30) for i in range(1, 5)]
        out = self.calls_in_background(specs, search("gco", limit=5))
        self.assertEqual(out[0], (grpc.StatusCode.DEADLINE_EXCEEDED,))
        self.assertEqual(harness.fake_stats(self.up.port)["grpc_calls"], 5)
        answers = [ppb.SearchResponse.FromString(o[0]) for o in out[1:]]
        for a in answers:  # separate calls: equal but for their `time`
            a.time = 0
        self.assertEqual(len({a.SerializeToString(deterministic=True) for a in answers}), 1)
        self.assertEqual(len(answers[0].result), 5)
        self.assertEqual({o[1] for o in out[1:]}, {"MISS"})


class GrpcReplicas(unittest.TestCase):
    """Two replicas on one Redis: a write through one (REST or gRPC) makes the other's cached
    gRPC reads unreachable, through the invalidation channel."""

    @classmethod
    def setUpClass(cls):
        cls.redis = harness.start_redis()
        cls.up, cls.gport = harness.start_fake_qdrant_grpc()
        sets = ["cache.enabled=true", "cache.redis.url=redis://127.0.0.1:%d" % cls.redis.port,
                "upstream.grpc_url=http://127.0.0.1:%d" % cls.gport]
        cls.gws = [harness.start_gateway(cls.up.port, *sets) for _ in range(2)]
        direct = grpc.insecure_channel("127.0.0.1:%d" % cls.gport)
        make_collection(direct, "grep")
        direct.close()
        for g in cls.gws:
            harness.wait_caching(g.port, "grep")
        cls.chans = [grpc.insecure_channel("127.0.0.1:%d" % g.port) for g in cls.gws]

    @classmethod
    def tearDownClass(cls):
        for c in cls.chans:
            c.close()
        for g in cls.gws:
            g.cleanup()
        cls.up.cleanup()
        cls.redis.cleanup()

    def ids_b(self):
        r, xc = call(self.chans[1], P + "Search", search("grep", limit=10))
        return sorted(h.id.num for h in ppb.SearchResponse.FromString(r).result), xc

    def until_not_hit(self):
        """B's search once the invalidation has reached it (polled; 5 s at most)."""
        for _ in range(500):
            ids, xc = self.ids_b()
            if xc != "HIT":
                return ids, xc
            time.sleep(0.01)
        raise AssertionError("replica B still answers from its cache")

    def test_entry_shared_through_redis(self):
        """A gRPC answer one replica stored in Redis answers the other's identical read."""
        body = search("grep", limit=3)
        fresh, xc = call(self.chans[0], P + "Search", body)
        self.assertEqual(xc, "MISS")
        wait_in_redis(self.redis.port, fresh)
        h0 = metric(self.gws[1].port, L2_HIT)
        self.assertEqual(call(self.chans[1], P + "Search", body), (fresh, "HIT"))
        self.assertEqual(metric(self.gws[1].port, L2_HIT), h0 + 1)
        self.assertEqual(call(self.chans[1], P + "Search", body), (fresh, "HIT"))  # now from L1
        self.assertEqual(metric(self.gws[1].port, L2_HIT), h0 + 1)

    def test_writes_through_a_invalidate_b(self):
        self.assertEqual(self.ids_b(), ([1, 2, 3, 4, 5], "MISS"))
        self.assertEqual(self.ids_b(), ([1, 2, 3, 4, 5], "HIT"))
        # A REST write through replica A (wait=true: one bump, no second one later).
        rest = harness.CacheClient(self.gws[0].port)
        s, _, doc, _ = rest.req("PUT", "/collections/grep/points?wait=true", {"points": [
            {"id": 6, "vector": [0.1, 0, 0, 0]}]})
        rest.close()
        self.assertEqual(s, 200, doc)
        self.assertEqual(self.until_not_hit(), ([1, 2, 3, 4, 5, 6], "MISS"))
        self.assertEqual(self.ids_b(), ([1, 2, 3, 4, 5, 6], "HIT"))
        # A gRPC write through replica A.
        call(self.chans[0], P + "Upsert", ppb.UpsertPoints(collection_name="grep", wait=True, points=[
            ppb.PointStruct(id=cm.PointId(num=7), vectors=ppb.Vectors(vector=ppb.Vector(
                dense=ppb.DenseVector(data=[0.05, 0, 0, 0]))))]).SerializeToString())
        self.assertEqual(self.until_not_hit(), ([1, 2, 3, 4, 5, 6, 7], "MISS"))


if __name__ == "__main__":
    harness.main()

# Issue 17: gRPC through the gateway. Every RPC fake_qdrant implements, once directly against its
# gRPC port and once through the gateway (its h2c port and server.grpc_listen), with answers
# compared message by message (the `time` field cleared) and errors by status and message; the
# gateway's own answers: UNIMPLEMENTED for unknown methods (as Qdrant), UNAVAILABLE when Qdrant's
# gRPC port is down, DEADLINE_EXCEEDED from grpc-timeout, RESOURCE_EXHAUSTED over the message
# limit, framing errors, gRPC over HTTP/1.1 refused, and a client that never reads its answers.
import json
import socket
import struct
import time
import unittest

import harness
from h2client import H2Client

harness.grpc_stubs()
import grpc  # noqa: E402
import collections_pb2 as cpb  # noqa: E402
import health_check_pb2 as hpb  # noqa: E402
import points_pb2 as ppb  # noqa: E402
import qdrant_common_pb2 as cm  # noqa: E402
import qdrant_pb2 as qpb  # noqa: E402

MAX_BODY = 64 * 1024

# (path, request class, response class)
P = "/qdrant.Points/"
C = "/qdrant.Collections/"


def dense(v):
    return ppb.Vectors(vector=ppb.Vector(dense=ppb.DenseVector(data=v)))


def pt(i, v, city):
    p = ppb.PointStruct(id=cm.PointId(num=i), vectors=dense(v))
    p.payload["city"].string_value = city
    return p


def scenario(name):
    """The calls of one run: (path, request, response class), against collection `name`."""
    vc = cpb.VectorsConfig(params=cpb.VectorParams(size=4, distance=cpb.Dot))
    wp = ppb.WithPayloadSelector(enable=True)
    pts = [pt(1, [1, 0, 0, 0], "Paris"), pt(2, [0, 1, 0, 0], "Rome"), pt(3, [.5, .5, 0, 0], "Oslo")]
    sel = ppb.PointsSelector(points=ppb.PointsIdsList(ids=[cm.PointId(num=3)]))
    return [
        ("/grpc.health.v1.Health/Check", hpb.HealthCheckRequest(), hpb.HealthCheckResponse),
        ("/qdrant.Qdrant/HealthCheck", qpb.HealthCheckRequest(), qpb.HealthCheckReply),
        (C + "Create", cpb.CreateCollection(collection_name=name, vectors_config=vc),
         cpb.CollectionOperationResponse),
        (C + "Create", cpb.CreateCollection(collection_name=name, vectors_config=vc),
         cpb.CollectionOperationResponse),  # ALREADY_EXISTS
        (C + "List", cpb.ListCollectionsRequest(), cpb.ListCollectionsResponse),
        (C + "Get", cpb.GetCollectionInfoRequest(collection_name=name),
         cpb.GetCollectionInfoResponse),
        (C + "CollectionExists", cpb.CollectionExistsRequest(collection_name=name),
         cpb.CollectionExistsResponse),
        (C + "ListAliases", cpb.ListAliasesRequest(), cpb.ListAliasesResponse),
        (P + "Upsert", ppb.UpsertPoints(collection_name=name, points=pts, wait=True),
         ppb.PointsOperationResponse),
        (P + "Count", ppb.CountPoints(collection_name=name), ppb.CountResponse),
        (P + "Count", ppb.CountPoints(collection_name="nope"), ppb.CountResponse),  # NOT_FOUND
        (P + "Search", ppb.SearchPoints(collection_name=name, vector=[1, 0, 0, 0], limit=2,
                                        with_payload=wp), ppb.SearchResponse),
        (P + "Query", ppb.QueryPoints(collection_name=name, limit=2, with_payload=wp, query=ppb.Query(
            nearest=ppb.VectorInput(dense=ppb.DenseVector(data=[1, 0, 0, 0])))), ppb.QueryResponse),
        (P + "Query", ppb.QueryPoints(collection_name=name, query=ppb.Query(
            nearest=ppb.VectorInput(id=cm.PointId(num=99)))), ppb.QueryResponse),  # NOT_FOUND
        (P + "Get", ppb.GetPoints(collection_name=name, ids=[cm.PointId(num=2)], with_payload=wp,
                                  with_vectors=ppb.WithVectorsSelector(enable=True)),
         ppb.GetResponse),
        (P + "Scroll", ppb.ScrollPoints(collection_name=name, limit=2), ppb.ScrollResponse),
        (P + "Delete", ppb.DeletePoints(collection_name=name, points=sel, wait=True),
         ppb.PointsOperationResponse),
        (P + "Count", ppb.CountPoints(collection_name=name, exact=True), ppb.CountResponse),
        (P + "Nope", cpb.ListCollectionsRequest(), cpb.ListCollectionsResponse),  # UNIMPLEMENTED
        ("/qdrant.Nope/Get", cpb.ListCollectionsRequest(), cpb.ListCollectionsResponse),
        (C + "Delete", cpb.DeleteCollection(collection_name=name), cpb.CollectionOperationResponse),
        (C + "Delete", cpb.DeleteCollection(collection_name=name), cpb.CollectionOperationResponse),
    ]


def run(chan, name):
    """Each call's outcome: the answer re-serialized with `time` cleared, or (code, details)."""
    out = []
    for path, req, resp in scenario(name):
        call = chan.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                                response_deserializer=resp.FromString)
        try:
            r = call(req, timeout=10)
            if hasattr(r, "time"):
                r.time = 0
            out.append((path, r.SerializeToString(deterministic=True)))
        except grpc.RpcError as e:
            out.append((path, e.code(), e.details()))
    return out


class GrpcProxy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up, cls.gport = harness.start_fake_qdrant_grpc()
        cls.glisten = harness.free_port()
        cls.gw = harness.start_gateway(
            cls.up.port, "upstream.grpc_url=http://127.0.0.1:%d" % cls.gport,
            "server.grpc_listen=127.0.0.1:%d" % cls.glisten,
            "limits.max_body_bytes=%d" % MAX_BODY)
        harness.wait_port(cls.gw.port, cls.gw.p)
        harness.wait_port(cls.glisten, cls.gw.p)
        cls.chans = []

    @classmethod
    def tearDownClass(cls):
        for c in cls.chans:
            c.close()
        code = cls.gw.stop()
        log = cls.gw.log()
        cls.gw.cleanup()
        cls.up.cleanup()
        assert code == 0, "gateway exit %s: %s" % (code, log)

    def chan(self, port):
        c = grpc.insecure_channel("127.0.0.1:%d" % port)
        self.chans.append(c)
        return c

    def test_same_answers(self):
        direct = run(self.chan(self.gport), "gp_same")
        self.assertEqual(len(direct), len(scenario("x")))
        codes = [o[1] for o in direct if len(o) == 3]
        self.assertIn(grpc.StatusCode.ALREADY_EXISTS, codes)
        self.assertIn(grpc.StatusCode.NOT_FOUND, codes)
        self.assertIn(grpc.StatusCode.UNIMPLEMENTED, codes)
        for port in (self.gw.port, self.glisten):
            via = run(self.chan(port), "gp_same")
            for d, g in zip(direct, via):
                self.assertEqual(d, g, "through port %d" % port)
        s, _, body = harness.curl(self.gw.port, "GET", "/metrics")
        text = body.decode()
        self.assertRegex(text, r'qdrant_gateway_grpc_requests_total\{method="qdrant.Points/Search",'
                               r'code="OK"\} [1-9]')
        self.assertRegex(text, r'qdrant_gateway_grpc_requests_total\{method="qdrant.Points/Count",'
                               r'code="NOT_FOUND"\} [1-9]')
        self.assertRegex(text, r'qdrant_gateway_grpc_request_duration_seconds_count\{'
                               r'method="qdrant.Points/Upsert"\} [1-9]')

    def raw(self, body, path=P + "Count", headers=(("content-type", "application/grpc"),
                                                   ("te", "trailers")), port=None):
        c = H2Client(port or self.gw.port)
        try:
            st = c.request("POST", path, body, headers=list(headers))
            self.assertTrue(c.wait([st], timeout=10))
            return st
        finally:
            c.close()

    def test_framing_errors(self):
        req = ppb.CountPoints(collection_name="nope").SerializeToString()
        for port in (self.gport, self.gw.port):
            st = self.raw(struct.pack(">BI", 1, len(req)) + req, port=port)
            self.assertEqual((st.status, st.headers.get("grpc-status")), (200, "13"))
            self.assertEqual(st.headers["grpc-message"],
                             "gRPC frame 1: compressed flag set without grpc-encoding")
            st = self.raw(struct.pack(">BI", 0, 100) + req, port=port)  # prefix past the frame
            self.assertEqual(st.headers.get("grpc-status"), "3")
            self.assertEqual(st.headers["grpc-message"],
                             "gRPC stream ended inside a message (%d of 100 bytes)" % len(req))
            st = self.raw(b"\0\0", port=port)
            self.assertEqual(st.headers["grpc-message"],
                             "gRPC stream ended inside a frame prefix (2 of 5 bytes)")
        # Over the gateway's limit (limits.max_body_bytes): refused before Qdrant sees it.
        st = self.raw(struct.pack(">BI", 0, MAX_BODY + 1) + b"x" * 100)
        self.assertEqual((st.status, st.headers.get("grpc-status")), (200, "8"))
        self.assertEqual(st.headers["grpc-message"],
                         "gRPC message larger than max (%d vs. %d bytes)" % (MAX_BODY + 1, MAX_BODY))
        self.assertNotIn("content-length", st.headers)  # trailers-only

    def test_oversized_message_grpcio(self):
        pts = psvc_stub(self.chan(self.gw.port))
        big = ppb.UpsertPoints(collection_name="gp_big", points=[
            pt(i, [1, 0, 0, 0], "x" * 1000) for i in range(100)])
        with self.assertRaises(grpc.RpcError) as cm_:
            pts.Upsert(big, timeout=10)
        self.assertEqual(cm_.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertIn("larger than max", cm_.exception.details())

    def test_http1_refused(self):
        s, _, body = harness.curl(self.gw.port, "POST", "/qdrant.Points/Count", body=b"\0\0\0\0\0",
                                  headers=["content-type: application/grpc"])
        self.assertEqual(s, 505, body)
        self.assertIn(b"gRPC needs HTTP/2", body)
        # The gRPC listener takes HTTP/2 with prior knowledge only.
        with socket.create_connection(("127.0.0.1", self.glisten), timeout=5) as c:
            c.sendall(b"GET /collections HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(harness.recv_all(c), b"")

    def test_upstream_down_and_deadline(self):
        dead = harness.free_port()  # nothing listens there
        hole = socket.socket()
        hole.bind(("127.0.0.1", 0))
        hole.listen(16)  # accepts (the kernel does), never answers
        gws = []
        try:
            for url_port in (dead, hole.getsockname()[1]):
                gw = harness.start_gateway(self.up.port, "upstream.grpc_url=http://127.0.0.1:%d"
                                           % url_port, workers=1)
                gws.append(gw)
                harness.wait_port(gw.port, gw.p)
            pts = psvc_stub(self.chan(gws[0].port))
            for _ in range(2):  # and again: a failed connection does not stick
                with self.assertRaises(grpc.RpcError) as e:
                    pts.Count(ppb.CountPoints(collection_name="c"), timeout=10)
                self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)
                self.assertIn("upstream gRPC 127.0.0.1:%d: cannot connect" % dead,
                              e.exception.details())
            st = self.raw(struct.pack(">BI", 0, 0), headers=[
                ("content-type", "application/grpc"), ("te", "trailers"), ("grpc-timeout", "300m")],
                port=gws[1].port)
            self.assertEqual((st.status, st.headers.get("grpc-status")), (200, "4"))
            self.assertEqual(st.headers["grpc-message"], "Deadline exceeded")
        finally:
            hole.close()
            for gw in gws:
                gw.cleanup()

    def test_slow_reader_bounded(self):
        """A client that asks for big answers and never reads: Qdrant's window is credited only
        as the client drains, so the gateway holds about a stream window per call."""
        name = "gp_slow"
        ch = self.chan(self.gport)
        vc = cpb.VectorsConfig(params=cpb.VectorParams(size=4, distance=cpb.Dot))
        ch.unary_unary(C + "Create", request_serializer=lambda m: m.SerializeToString())(
            cpb.CreateCollection(collection_name=name, vectors_config=vc), timeout=10)
        up = ch.unary_unary(P + "Upsert", request_serializer=lambda m: m.SerializeToString())
        for b in range(10):  # 200 points of 40 KB: a scroll answer of 8 MB
            up(ppb.UpsertPoints(collection_name=name, wait=True, points=[
                pt(b * 20 + i, [1, 0, 0, 0], "y" * 40000) for i in range(20)]), timeout=30)
        req = ppb.ScrollPoints(collection_name=name, limit=200,
                               with_payload=ppb.WithPayloadSelector(enable=True))
        body = req.SerializeToString()
        body = struct.pack(">BI", 0, len(body)) + body
        rss0 = self.gw.rss_kb()
        c = H2Client(self.gw.port, window=65535)
        try:
            streams = [c.request("POST", P + "Scroll", body, headers=[
                ("content-type", "application/grpc"), ("te", "trailers")]) for _ in range(20)]
            c.flush()
            time.sleep(3)  # the client reads nothing: let the gateway take what it will
            grown = self.gw.rss_kb() - rss0
            # 20 answers of 8 MB would be 160 MB; the bound is a window per call and then some
            # (ASan's shadow and redzones add about a quarter: 75 MB seen, still under 160).
            bound = (120 if self.gw.sanitized() else 60) * 1024
            self.assertLess(grown, bound, "gateway grew by %d kB" % grown)
            self.assertFalse(any(s.done for s in streams))
        finally:
            c.close()


class GrpcAuth(unittest.TestCase):
    """The access gate on gRPC: the credential from api-key/authorization metadata, the route's
    need from the RPC's REST twin, the collection from the message; refusals as gRPC statuses
    with Qdrant's texts (the same as REST's)."""

    @classmethod
    def setUpClass(cls):
        import hashlib
        cls.up, cls.gport = harness.start_fake_qdrant_grpc()
        sets = ["upstream.grpc_url=http://127.0.0.1:%d" % cls.gport, "upstream.api_key=secret"]
        for name, role, colls in (("reader", "read", "ga_a"), ("admin", "admin", ""),
                                  ("tenant", "write", "ga_a")):
            sets += ["auth.keys.%s.sha256=%s" % (name, hashlib.sha256(
                ("key-" + name).encode()).hexdigest()), "auth.keys.%s.role=%s" % (name, role)]
            if colls:
                sets.append("auth.keys.%s.collections=%s" % (name, colls))
        sets += ["auth.keys.tenant.tenant.field=group_id", "auth.keys.tenant.tenant.value=acme"]
        cls.gw = harness.start_gateway(cls.up.port, *sets, workers=1)
        harness.wait_port(cls.gw.port, cls.gw.p)
        cls.ch = grpc.insecure_channel("127.0.0.1:%d" % cls.gw.port)
        cls.pts = psvc_stub(cls.ch)
        vc = cpb.VectorsConfig(params=cpb.VectorParams(size=4, distance=cpb.Dot))
        create = cls.ch.unary_unary(C + "Create", request_serializer=lambda m: m.SerializeToString())
        for n in ("ga_a", "ga_b"):
            create(cpb.CreateCollection(collection_name=n, vectors_config=vc), timeout=10,
                   metadata=[("api-key", "key-admin")])

    @classmethod
    def tearDownClass(cls):
        cls.ch.close()
        cls.gw.cleanup()
        cls.up.cleanup()

    def status(self, fn, req, key=None, auth=None):
        md = [("api-key", key)] if key else [("authorization", "Bearer " + auth)] if auth else []
        try:
            fn(req, timeout=10, metadata=md)
            return grpc.StatusCode.OK, ""
        except grpc.RpcError as e:
            return e.code(), e.details()

    def test_gate(self):
        count = ppb.CountPoints(collection_name="ga_a")
        self.assertEqual(self.status(self.pts.Count, count), (
            grpc.StatusCode.UNAUTHENTICATED, "Must provide an API key or an Authorization bearer token"))
        self.assertEqual(self.status(self.pts.Count, count, key="key-reader")[0], grpc.StatusCode.OK)
        self.assertEqual(self.status(self.pts.Count, count, auth="key-reader")[0], grpc.StatusCode.OK)
        code, msg = self.status(self.pts.Count, ppb.CountPoints(collection_name="ga_b"),
                                key="key-reader")
        self.assertEqual(code, grpc.StatusCode.PERMISSION_DENIED)
        s, _, body = harness.curl(self.gw.port, "POST", "/collections/ga_b/points/count", body=b"{}",
                                  headers=["api-key: key-reader", "content-type: application/json"])
        self.assertEqual(s, 403)
        self.assertEqual(msg, json.loads(body)["status"]["error"])  # Qdrant's text, as for REST
        code, _ = self.status(self.pts.Upsert, ppb.UpsertPoints(collection_name="ga_a", points=[
            pt(1, [1, 0, 0, 0], "x")]), key="key-reader")
        self.assertEqual(code, grpc.StatusCode.PERMISSION_DENIED)
        self.assertEqual(self.status(self.pts.Upsert, ppb.UpsertPoints(collection_name="ga_a", points=[
            pt(1, [1, 0, 0, 0], "x")], wait=True), key="key-admin")[0], grpc.StatusCode.OK)
        code, msg = self.status(self.pts.Count, count, key="wrong")
        self.assertIn(code, (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED))

    def test_tenant_bound_refused(self):
        """The tenant rewrite is of JSON bodies: a tenant-bound key's gRPC reads and writes are
        refused with the reason (its REST requests are enforced, test_tenant.py)."""
        for fn, req in ((self.pts.Count, ppb.CountPoints(collection_name="ga_a")),
                        (self.pts.Upsert, ppb.UpsertPoints(collection_name="ga_a", points=[
                            pt(2, [1, 0, 0, 0], "x")]))):
            code, msg = self.status(fn, req, key="key-tenant")
            self.assertEqual(code, grpc.StatusCode.PERMISSION_DENIED)
            self.assertIn("gRPC requests cannot be checked for the tenant", msg)
        s, _, body = harness.curl(self.gw.port, "POST", "/collections/ga_a/points/count", body=b"{}",
                                  headers=["api-key: key-tenant", "content-type: application/json"])
        self.assertEqual(s, 200, body)


def varint(n):
    out = b""
    while True:
        b = n & 0x7f
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


class GrpcCache(unittest.TestCase):
    """gRPC reads cached like their REST twins, on the same generations."""

    @classmethod
    def setUpClass(cls):
        cls.up, cls.gport = harness.start_fake_qdrant_grpc()
        cls.gw = harness.start_gateway(cls.up.port, "cache.enabled=true",
                                       "cache.async_write_settle=300ms",
                                       "upstream.grpc_url=http://127.0.0.1:%d" % cls.gport)
        harness.wait_port(cls.gw.port, cls.gw.p)
        cls.ch = grpc.insecure_channel("127.0.0.1:%d" % cls.gw.port)
        vc = cpb.VectorsConfig(params=cpb.VectorParams(size=4, distance=cpb.Dot))
        cls.ch.unary_unary(C + "Create", request_serializer=lambda m: m.SerializeToString())(
            cpb.CreateCollection(collection_name="gc", vectors_config=vc), timeout=10)
        harness.wait_caching(cls.gw.port, "gc")
        cls.rest = harness.CacheClient(cls.gw.port)

    @classmethod
    def tearDownClass(cls):
        cls.ch.close()
        cls.rest.close()
        cls.gw.cleanup()
        cls.up.cleanup()

    def call(self, path, body, md=()):
        """Raw request bytes in, (answer bytes, x-cache) out."""
        fn = self.ch.unary_unary(path, request_serializer=lambda b: b,
                                 response_deserializer=lambda b: b)
        resp, call = fn.with_call(body, timeout=10, metadata=list(md))
        return resp, dict(call.initial_metadata()).get("x-cache")

    def search(self, md=()):
        r, xc = self.call(P + "Search", ppb.SearchPoints(
            collection_name="gc", vector=[1, 0, 0, 0], limit=3).SerializeToString(), md)
        return [h.id.num for h in ppb.SearchResponse.FromString(r).result], xc

    def upsert_grpc(self, i):
        self.call(P + "Upsert", ppb.UpsertPoints(collection_name="gc", wait=True, points=[
            pt(i, [1, 0, 0, 0], "g")]).SerializeToString())

    def test_cache(self):
        self.upsert_grpc(1)
        self.assertEqual(self.search(), ([1], "MISS"))
        self.assertEqual(self.search(), ([1], "HIT"))
        # The same request, encoded otherwise: fields in reverse order, the vector unpacked.
        body = b"\x20\x03"  # limit = 3 (field 4)
        for f in (1.0, 0.0, 0.0, 0.0):
            body += b"\x15" + struct.pack("<f", f)  # vector (field 2), one float at a time
        body += b"\x0a\x02gc"  # collection_name (field 1)
        r, xc = self.call(P + "Search", body)
        self.assertEqual(xc, "HIT")
        self.assertEqual([h.id.num for h in ppb.SearchResponse.FromString(r).result], [1])
        # Another api-key: another entry (keys are not shared without cache.share_across_keys).
        self.assertEqual(self.search(md=[("api-key", "other")]), ([1], "MISS"))
        # A REST write invalidates the cached gRPC search.
        s, _, _, _ = self.rest.req("PUT", "/collections/gc/points?wait=true", {"points": [
            {"id": 2, "vector": [0.9, 0, 0, 0]}]})
        self.assertEqual(s, 200)
        self.assertEqual(self.search(), ([1, 2], "MISS"))
        self.assertEqual(self.search(), ([1, 2], "HIT"))
        # And a gRPC write invalidates a cached REST search.
        q = {"vector": [1, 0, 0, 0], "limit": 5}
        self.rest.req("POST", "/collections/gc/points/search", q)
        s, xc, doc, _ = self.rest.req("POST", "/collections/gc/points/search", q)
        self.assertEqual((s, xc), (200, "HIT"))
        self.upsert_grpc(3)
        s, xc, doc, _ = self.rest.req("POST", "/collections/gc/points/search", q)
        self.assertEqual((s, xc), (200, "MISS"))
        ids = [h["id"] for h in doc["result"]]
        self.assertEqual(sorted(ids), [1, 2, 3])
        self.assertEqual(self.search(), (ids, "MISS"))
        # Count is cached too; a write-free second call hits.
        c1 = self.call(P + "Count", ppb.CountPoints(collection_name="gc", exact=True).SerializeToString())
        c2 = self.call(P + "Count", ppb.CountPoints(collection_name="gc", exact=True).SerializeToString())
        self.assertEqual((c1[1], c2[1]), ("MISS", "HIT"))
        self.assertEqual(ppb.CountResponse.FromString(c2[0]).result.count, 3)

    def test_wait_true_settles_once(self):
        """A gRPC point write with wait: true was applied when answered: one invalidation. Without
        it (Qdrant's default false) a second one follows after cache.async_write_settle."""
        vc = cpb.VectorsConfig(params=cpb.VectorParams(size=4, distance=cpb.Dot))
        self.call(C + "Create", cpb.CreateCollection(collection_name="gcw",
                                                     vectors_config=vc).SerializeToString())
        harness.wait_caching(self.gw.port, "gcw")
        body = ppb.SearchPoints(collection_name="gcw", vector=[1, 0, 0, 0],
                                limit=3).SerializeToString()
        for wait, i in ((True, 1), (False, 2)):
            self.call(P + "Upsert", ppb.UpsertPoints(collection_name="gcw", wait=wait, points=[
                pt(i, [1, 0, 0, 0], "w")]).SerializeToString())
            r, xc = self.call(P + "Search", body)
            self.assertEqual((len(ppb.SearchResponse.FromString(r).result), xc), (i, "MISS"))
            self.assertEqual(self.call(P + "Search", body)[1], "HIT")
            time.sleep(0.5)  # past cache.async_write_settle
            self.assertEqual(self.call(P + "Search", body)[1], "HIT" if wait else "MISS",
                             "wait=%s" % wait)


def psvc_stub(chan):
    import points_service_pb2_grpc as psvc
    return psvc.PointsStub(chan)


if __name__ == "__main__":
    harness.main()

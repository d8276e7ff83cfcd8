# fake_qdrant's gRPC server (--grpc-listen) driven by python3-grpcio with the stubs CMake
# generates from ../shared/qdrant/proto: every implemented RPC, REST and gRPC sharing one store
# (writes on either side read on the other), Qdrant's status codes and messages, UNIMPLEMENTED
# for unknown methods and services, framing errors from a raw HTTP/2 client.
import json
import socket
import struct
import unittest

import harness
from h2client import H2Client

harness.grpc_stubs()
import grpc  # noqa: E402
import collections_pb2 as cpb  # noqa: E402
import collections_service_pb2_grpc as csvc  # noqa: E402
import health_check_pb2 as hpb  # noqa: E402
import health_check_pb2_grpc as hsvc  # noqa: E402
import json_with_int_pb2 as jpb  # noqa: E402
import points_pb2 as ppb  # noqa: E402
import points_service_pb2_grpc as psvc  # noqa: E402
import qdrant_common_pb2 as cm  # noqa: E402
import qdrant_pb2 as qpb  # noqa: E402
import qdrant_pb2_grpc as qsvc  # noqa: E402


def dense(v):
    return ppb.Vectors(vector=ppb.Vector(dense=ppb.DenseVector(data=v)))


def point(i, v, **payload):
    p = ppb.PointStruct(id=cm.PointId(num=i), vectors=dense(v))
    for k, x in payload.items():
        if isinstance(x, str):
            p.payload[k].string_value = x
        elif isinstance(x, bool):
            p.payload[k].bool_value = x
        elif isinstance(x, int):
            p.payload[k].integer_value = x
        else:
            p.payload[k].double_value = x
    return p


def value(v):
    kind = v.WhichOneof("kind")
    if kind == "struct_value":
        return {k: value(x) for k, x in v.struct_value.fields.items()}
    if kind == "list_value":
        return [value(x) for x in v.list_value.values]
    return None if kind == "null_value" else getattr(v, kind)


class GrpcFake(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proc, cls.gport = harness.start_fake_qdrant_grpc()
        cls.chan = grpc.insecure_channel("127.0.0.1:%d" % cls.gport)
        cls.cols = csvc.CollectionsStub(cls.chan)
        cls.pts = psvc.PointsStub(cls.chan)
        cls.rest = harness.HttpClient(cls.proc.port)

    @classmethod
    def tearDownClass(cls):
        cls.chan.close()
        cls.rest.close()
        code = cls.proc.stop()
        log = cls.proc.log()
        cls.proc.cleanup()
        assert code == 0 and log == "", "exit %s: %r" % (code, log)

    def create(self, name, dim=4, dist=cpb.Dot):
        vc = cpb.VectorsConfig(params=cpb.VectorParams(size=dim, distance=dist))
        r = self.cols.Create(cpb.CreateCollection(collection_name=name, vectors_config=vc),
                             timeout=10)
        self.assertTrue(r.result)
        self.addCleanup(self.cols.Delete, cpb.DeleteCollection(collection_name=name), timeout=10)

    def code_of(self, fn, req):
        with self.assertRaises(grpc.RpcError) as cm:
            fn(req, timeout=10)
        return cm.exception.code(), cm.exception.details()

    def test_health(self):
        r = hsvc.HealthStub(self.chan).Check(hpb.HealthCheckRequest(), timeout=10)
        self.assertEqual(r.status, hpb.HealthCheckResponse.SERVING)
        r = qsvc.QdrantStub(self.chan).HealthCheck(qpb.HealthCheckRequest(), timeout=10)
        self.assertEqual((r.title, r.version), ("qdrant - vector search engine", "1.19.0"))

    def test_collections(self):
        self.create("g_cols", dim=3, dist=cpb.Cosine)
        names = [c.name for c in self.cols.List(cpb.ListCollectionsRequest(), timeout=10).collections]
        self.assertIn("g_cols", names)
        ex = self.cols.CollectionExists(cpb.CollectionExistsRequest(collection_name="g_cols"))
        self.assertTrue(ex.result.exists)
        ex = self.cols.CollectionExists(cpb.CollectionExistsRequest(collection_name="nope"))
        self.assertFalse(ex.result.exists)
        info = self.cols.Get(cpb.GetCollectionInfoRequest(collection_name="g_cols")).result
        self.assertEqual(info.status, cpb.Green)
        self.assertEqual(info.points_count, 0)
        self.assertEqual(info.config.params.vectors_config.params.size, 3)
        self.assertEqual(info.config.params.vectors_config.params.distance, cpb.Cosine)
        # REST sees the gRPC-made collection, with the same vector config
        st, _, body = self.rest.request("GET", "/collections/g_cols")
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(body)["result"]["config"]["params"]["vectors"],
                         {"size": 3, "distance": "Cosine"})
        code, msg = self.code_of(self.cols.Create, cpb.CreateCollection(
            collection_name="g_cols", vectors_config=cpb.VectorsConfig(
                params=cpb.VectorParams(size=3, distance=cpb.Cosine))))
        self.assertEqual((code, msg), (grpc.StatusCode.ALREADY_EXISTS,
                                       "Wrong input: Collection `g_cols` already exists!"))
        code, msg = self.code_of(self.cols.Create, cpb.CreateCollection(
            collection_name="g_bad", vectors_config=cpb.VectorsConfig(
                params=cpb.VectorParams(size=0, distance=cpb.Cosine))))
        self.assertEqual(code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("must be from 1 to 65536", msg)
        r = self.cols.Delete(cpb.DeleteCollection(collection_name="nope"), timeout=10)
        self.assertFalse(r.result)

    def test_named_vectors_and_aliases(self):
        m = cpb.VectorParamsMap(map={"img": cpb.VectorParams(size=2, distance=cpb.Euclid)})
        self.cols.Create(cpb.CreateCollection(collection_name="g_named",
                                              vectors_config=cpb.VectorsConfig(params_map=m)))
        self.addCleanup(self.cols.Delete, cpb.DeleteCollection(collection_name="g_named"))
        info = self.cols.Get(cpb.GetCollectionInfoRequest(collection_name="g_named")).result
        self.assertEqual(info.config.params.vectors_config.params_map.map["img"].size, 2)
        p = ppb.PointStruct(id=cm.PointId(num=1), vectors=ppb.Vectors(vectors=ppb.NamedVectors(
            vectors={"img": ppb.Vector(dense=ppb.DenseVector(data=[1, 2]))})))
        self.pts.Upsert(ppb.UpsertPoints(collection_name="g_named", points=[p], wait=True))
        r = self.pts.Get(ppb.GetPoints(collection_name="g_named", ids=[cm.PointId(num=1)],
                                       with_vectors=ppb.WithVectorsSelector(enable=True)))
        self.assertEqual(list(r.result[0].vectors.vectors.vectors["img"].dense.data), [1, 2])
        st, _, _ = self.rest.request("POST", "/collections/aliases", {
            "actions": [{"create_alias": {"collection_name": "g_named", "alias_name": "g_al"}}]})
        self.assertEqual(st, 200)
        al = self.cols.ListAliases(cpb.ListAliasesRequest()).aliases
        self.assertIn(("g_al", "g_named"), [(a.alias_name, a.collection_name) for a in al])
        c = self.pts.Count(ppb.CountPoints(collection_name="g_al"))  # aliases resolve
        self.assertEqual(c.result.count, 1)

    def test_points_grpc_to_rest(self):
        self.create("g_pts")
        pts = [point(1, [1, 0, 0, 0], city="Paris", n=1),
               point(2, [0, 1, 0, 0], city="Rome", n=2),
               point(3, [0.5, 0.5, 0, 0], city="Oslo", f=0.5)]
        r = self.pts.Upsert(ppb.UpsertPoints(collection_name="g_pts", points=pts, wait=True))
        self.assertEqual(r.result.status, ppb.Completed)
        self.assertEqual(self.pts.Count(ppb.CountPoints(collection_name="g_pts")).result.count, 3)
        # REST search sees the gRPC upsert
        st, _, body = self.rest.request("POST", "/collections/g_pts/points/search",
                                        {"vector": [1, 0, 0, 0], "limit": 2, "with_payload": True})
        self.assertEqual(st, 200, body)
        res = json.loads(body)["result"]
        self.assertEqual([h["id"] for h in res], [1, 3])
        self.assertEqual(res[0]["payload"], {"city": "Paris", "n": 1})
        # gRPC search gives the same ids and scores
        s = self.pts.Search(ppb.SearchPoints(collection_name="g_pts", vector=[1, 0, 0, 0], limit=2,
                                             with_payload=ppb.WithPayloadSelector(enable=True)))
        self.assertEqual([h.id.num for h in s.result], [1, 3])
        self.assertEqual([h.score for h in s.result], [h["score"] for h in res])
        self.assertEqual({k: value(v) for k, v in s.result[0].payload.items()},
                         {"city": "Paris", "n": 1})
        s = self.pts.Search(ppb.SearchPoints(collection_name="g_pts", vector=[1, 0, 0, 0], limit=5,
                                             offset=1, score_threshold=0.4))
        self.assertEqual([h.id.num for h in s.result], [3])
        self.assertEqual(len(s.result[0].payload), 0)
        qr = self.pts.Query(ppb.QueryPoints(
            collection_name="g_pts", limit=2, with_payload=ppb.WithPayloadSelector(enable=True),
            query=ppb.Query(nearest=ppb.VectorInput(dense=ppb.DenseVector(data=[1, 0, 0, 0])))))
        self.assertEqual([(h.id.num, h.score) for h in qr.result],
                         [(h["id"], h["score"]) for h in res])
        self.assertEqual(qr.result[0].payload["city"].string_value, "Paris")
        qr = self.pts.Query(ppb.QueryPoints(collection_name="g_pts", query=ppb.Query(
            nearest=ppb.VectorInput(id=cm.PointId(num=2)))))  # by a stored point's vector
        self.assertEqual([h.id.num for h in qr.result][:2], [2, 3])
        st, _, body = self.rest.request("POST", "/collections/g_pts/points/query",
                                        {"query": [1, 0, 0, 0], "limit": 2})
        self.assertEqual([h["id"] for h in json.loads(body)["result"]["points"]], [1, 3])
        code, msg = self.code_of(self.pts.Query, ppb.QueryPoints(collection_name="g_pts", query=ppb.Query(
            nearest=ppb.VectorInput(id=cm.PointId(num=99)))))
        self.assertEqual((code, msg), (grpc.StatusCode.NOT_FOUND,
                                       "Not found: No point with id 99 found"))
        g = self.pts.Get(ppb.GetPoints(collection_name="g_pts",
                                       ids=[cm.PointId(num=2), cm.PointId(num=9)],
                                       with_payload=ppb.WithPayloadSelector(enable=True),
                                       with_vectors=ppb.WithVectorsSelector(enable=True)))
        self.assertEqual([p.id.num for p in g.result], [2])
        self.assertEqual(list(g.result[0].vectors.vector.dense.data), [0, 1, 0, 0])
        sc = self.pts.Scroll(ppb.ScrollPoints(collection_name="g_pts", limit=2))
        self.assertEqual([p.id.num for p in sc.result], [1, 2])
        self.assertEqual(sc.next_page_offset.num, 3)
        sc = self.pts.Scroll(ppb.ScrollPoints(collection_name="g_pts", offset=sc.next_page_offset))
        self.assertEqual([p.id.num for p in sc.result], [3])
        self.assertFalse(sc.HasField("next_page_offset"))
        d = self.pts.Delete(ppb.DeletePoints(collection_name="g_pts", points=ppb.PointsSelector(
            points=ppb.PointsIdsList(ids=[cm.PointId(num=1)])), wait=True))
        self.assertEqual(d.result.status, ppb.Completed)
        st, _, body = self.rest.request("POST", "/collections/g_pts/points/count", {})
        self.assertEqual(json.loads(body)["result"]["count"], 2)

    def test_points_rest_to_grpc(self):
        self.create("g_rest", dim=2)
        uid = "5c56c793-69f3-4fbf-87e6-c4bf54c28c26"
        st, _, body = self.rest.request("PUT", "/collections/g_rest/points?wait=true", {"points": [
            {"id": 7, "vector": [1, 2], "payload": {"tags": ["a", "b"], "o": {"x": None}}},
            {"id": uid, "vector": [2, 1], "payload": {"k": True}}]})
        self.assertEqual(st, 200, body)
        s = self.pts.Search(ppb.SearchPoints(collection_name="g_rest", vector=[1, 0], limit=10,
                                             with_payload=ppb.WithPayloadSelector(enable=True)))
        self.assertEqual([h.id.uuid or h.id.num for h in s.result], [uid, 7])
        self.assertEqual({k: value(v) for k, v in s.result[1].payload.items()},
                         {"tags": ["a", "b"], "o": {"x": None}})
        g = self.pts.Get(ppb.GetPoints(collection_name="g_rest", ids=[cm.PointId(uuid=uid)],
                                       with_payload=ppb.WithPayloadSelector(enable=True)))
        self.assertEqual(value(g.result[0].payload["k"]), True)
        # versions follow one operation sequence across both APIs
        r = self.pts.Upsert(ppb.UpsertPoints(collection_name="g_rest", points=[point(8, [0, 1])],
                                             wait=True))
        self.assertEqual(r.result.operation_id, 1)

    def test_errors(self):
        self.create("g_err", dim=2)
        missing = "Not found: Collection `nope` doesn't exist!"
        for fn, req in [
            (self.cols.Get, cpb.GetCollectionInfoRequest(collection_name="nope")),
            (self.pts.Search, ppb.SearchPoints(collection_name="nope", vector=[1, 0], limit=1)),
            (self.pts.Count, ppb.CountPoints(collection_name="nope")),
            (self.pts.Upsert, ppb.UpsertPoints(collection_name="nope", points=[point(1, [1, 0])])),
            (self.pts.Get, ppb.GetPoints(collection_name="nope", ids=[cm.PointId(num=1)])),
            (self.pts.Scroll, ppb.ScrollPoints(collection_name="nope")),
            (self.pts.Query, ppb.QueryPoints(collection_name="nope")),
        ]:
            self.assertEqual(self.code_of(fn, req), (grpc.StatusCode.NOT_FOUND, missing))
        code, msg = self.code_of(self.pts.Upsert, ppb.UpsertPoints(
            collection_name="g_err", points=[point(1, [1, 0, 0])]))
        self.assertEqual((code, msg), (grpc.StatusCode.INVALID_ARGUMENT,
                                       "Wrong input: Vector dimension error: expected dim: 2, got 3"))
        code, msg = self.code_of(self.pts.Search, ppb.SearchPoints(
            collection_name="g_err", vector=[1], limit=1))
        self.assertEqual(code, grpc.StatusCode.INVALID_ARGUMENT)
        code, msg = self.code_of(self.pts.Get, ppb.GetPoints(
            collection_name="g_err", ids=[cm.PointId(uuid="not-a-uuid")]))
        self.assertEqual(code, grpc.StatusCode.INVALID_ARGUMENT)
        code, msg = self.code_of(self.pts.Count, ppb.CountPoints(
            collection_name="g_err", filter=cm.Filter()))
        self.assertEqual(code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("not implemented", msg)

    def test_unimplemented(self):
        for method in ["/qdrant.Points/Nope", "/qdrant.Nope/Get", "/grpc.reflection.v1.X/Y",
                       "/qdrant.Snapshots/List"]:
            call = self.chan.unary_unary(method, request_serializer=lambda x: x,
                                         response_deserializer=lambda x: x)
            with self.assertRaises(grpc.RpcError) as cm:
                call(b"", timeout=10)
            self.assertEqual(cm.exception.code(), grpc.StatusCode.UNIMPLEMENTED, method)

    def test_bad_message(self):
        call = self.chan.unary_unary("/qdrant.Points/Count", request_serializer=lambda x: x,
                                     response_deserializer=lambda x: x)
        with self.assertRaises(grpc.RpcError) as cm:
            call(b"\x0a\x05ab", timeout=10)  # string field longer than the message
        self.assertEqual(cm.exception.code(), grpc.StatusCode.INTERNAL)
        self.assertIn("failed to decode Protobuf message", cm.exception.details())

    def raw(self, body, headers=(("content-type", "application/grpc"), ("te", "trailers"))):
        c = H2Client(self.gport)
        try:
            st = c.request("POST", "/qdrant.Points/Count", body, headers=list(headers))
            self.assertTrue(c.wait([st], timeout=10))
            return st
        finally:
            c.close()

    def test_framing_errors(self):
        req = ppb.CountPoints(collection_name="nope").SerializeToString()
        st = self.raw(struct.pack(">BI", 0, len(req)) + req)  # well formed: reaches the method
        self.assertEqual((st.status, st.headers.get("grpc-status")), (200, "5"))
        self.assertEqual(st.headers["grpc-message"], "Not found: Collection `nope` doesn't exist!")
        st = self.raw(struct.pack(">BI", 0, 0xFFFFFFFF) + b"x" * 10)
        self.assertEqual(st.headers.get("grpc-status"), "8")
        self.assertEqual(st.headers["grpc-message"],
                         "gRPC message larger than max (4294967295 vs. 67108864 bytes)")
        st = self.raw(struct.pack(">BI", 1, len(req)) + req)
        self.assertEqual(st.headers.get("grpc-status"), "13")
        self.assertEqual(st.headers["grpc-message"],
                         "gRPC frame 1: compressed flag set without grpc-encoding")
        st = self.raw(struct.pack(">BI", 0, 100) + req)
        self.assertEqual(st.headers.get("grpc-status"), "3")
        self.assertEqual(st.headers["grpc-message"],
                         "gRPC stream ended inside a message (%d of 100 bytes)" % len(req))
        st = self.raw(b"\0\0")
        self.assertEqual(st.headers["grpc-message"],
                         "gRPC stream ended inside a frame prefix (2 of 5 bytes)")
        st = self.raw(None)  # no message at all
        self.assertEqual(st.headers.get("grpc-status"), "13")
        self.assertEqual(st.headers["grpc-message"], "Missing request message")
        st = self.raw(struct.pack(">BI", 0, len(req)) + req, headers=[("content-type", "text/plain")])
        self.assertEqual(st.status, 415)


if __name__ == "__main__":
    harness.main()

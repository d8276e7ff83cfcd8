# gRPC through the gateway to a Qdrant cluster (issues 15 and 17): three fake_qdrant peers, each
# with its own gRPC port (upstream.grpc_urls, paired with upstream.urls), the same points loaded.
# Searches spread over every peer (counted by each fake_qdrant's /__fake/stats grpc_calls); with
# one peer SIGKILLed every read still succeeds (a read refused before any answer is tried once on
# another peer) while a write that met the dead peer fails UNAVAILABLE and is never re-sent; the
# dead peer's gRPC port is ejected after upstream.outlier.consecutive_failures; a peer killed
# under concurrent reads fails none of them; mismatched grpc_urls are refused at startup.
import os
import signal
import subprocess
import tempfile
import threading
import unittest

import harness
from test_cluster import COLL, load_peer

harness.grpc_stubs()
import grpc  # noqa: E402
import points_pb2 as ppb  # noqa: E402
import points_service_pb2_grpc as psvc  # noqa: E402
import qdrant_common_pb2 as cm  # noqa: E402


def grpc_calls(port):
    return harness.fake_stats(port).get("grpc_calls", 0)


def write_config(ports, gports):
    cfg = tempfile.NamedTemporaryFile("w", prefix="gw-grpc-cluster-", suffix=".yaml", delete=False)
    cfg.write("upstream:\n  urls:\n")
    for p in ports:
        cfg.write("    - http://%s:%d\n" % (harness.LOOPBACK, p))
    cfg.write("  grpc_urls:\n")
    for p in gports:
        cfg.write("    - http://%s:%d\n" % (harness.LOOPBACK, p))
    cfg.close()
    return cfg.name


def search_req():
    return ppb.SearchPoints(collection_name=COLL, vector=[1.0, 1.0, 0.5, 0.0], limit=3)


def upsert_req(i):
    v = ppb.Vectors(vector=ppb.Vector(dense=ppb.DenseVector(data=[1.0, 0.0, 0.0, float(i)])))
    return ppb.UpsertPoints(collection_name=COLL, wait=True,
                            points=[ppb.PointStruct(id=cm.PointId(num=1000 + i), vectors=v)])


class GrpcClusterTest(unittest.TestCase):
    SETS = ()

    def setUp(self):
        self.gports = [harness.free_port() for _ in range(3)]
        self.peers = [harness.start_fake_qdrant("--grpc-listen", "%s:%d" % (harness.LOOPBACK, g))
                      for g in self.gports]
        for p, g in zip(self.peers, self.gports):
            harness.wait_port(g, p.p)
            load_peer(p.port)
        self.ports = [p.port for p in self.peers]
        self.cfg = write_config(self.ports, self.gports)
        self.glisten = harness.free_port()
        port = harness.free_port()
        argv = [harness.GW_BIN, "-c", self.cfg,
                "--set", "server.listen=%s:%d" % (harness.LOOPBACK, port),
                "--set", "server.grpc_listen=%s:%d" % (harness.LOOPBACK, self.glisten),
                "--set", "server.workers=2", "--set", "cache.enabled=false",
                "--set", "upstream.connect_timeout=300ms"]
        for s in self.SETS:
            argv += ["--set", s]
        self.gw = harness.Proc(argv, port, "gateway")
        harness.wait_port(self.glisten, self.gw.p)
        self.chan = grpc.insecure_channel("%s:%d" % (harness.LOOPBACK, self.glisten))
        self.stub = psvc.PointsStub(self.chan)

    def tearDown(self):
        self.chan.close()
        code = self.gw.stop()
        log = self.gw.log()
        self.gw.cleanup()
        os.unlink(self.cfg)
        for p in self.peers:
            p.cleanup()
        self.assertEqual(code, 0, log)

    def search(self):
        r = self.stub.Search(search_req(), timeout=10)
        self.assertEqual(len(r.result), 3)
        return r


class Spread(GrpcClusterTest):
    def test_searches_spread_over_the_peers(self):
        before = [grpc_calls(p) for p in self.ports]
        ids = None
        for _ in range(60):
            got = [p.id.num for p in self.search().result]
            ids = ids or got
            self.assertEqual(got, ids)  # the same points on every peer: the same answer
        delta = [grpc_calls(p) - b for p, b in zip(self.ports, before)]
        self.assertEqual(sum(delta), 60, delta)  # nobody failed: no call went twice
        for d in delta:
            self.assertGreaterEqual(d, 5, delta)  # each peer gets a share


class PeerKilled(GrpcClusterTest):
    # Never eject: the dead peer stays a candidate, so reads are retried and writes meet it.
    SETS = ("upstream.outlier.max_ejected_percent=0",)

    def test_reads_retry_writes_do_not(self):
        self.search()
        os.kill(self.peers[0].pid, signal.SIGKILL)
        self.peers[0].p.wait(timeout=10)
        live = self.ports[1:]
        before = [grpc_calls(p) for p in live]
        for _ in range(40):
            self.search()  # every read succeeds: a refused one went to another peer
        self.assertEqual(sum(grpc_calls(p) for p in live) - sum(before), 40)
        before = sum(grpc_calls(p) for p in live)
        ok = failed = 0
        for i in range(30):
            try:
                self.stub.Upsert(upsert_req(i), timeout=10)
                ok += 1
            except grpc.RpcError as e:
                self.assertEqual(e.code(), grpc.StatusCode.UNAVAILABLE, e.details())
                self.assertIn("upstream gRPC 127.0.0.1:%d" % self.gports[0], e.details())
                failed += 1
        self.assertGreater(failed, 0)  # the dead peer was picked for some writes ...
        self.assertEqual(sum(grpc_calls(p) for p in live) - before, ok)  # ... never re-sent


class PeerKilledUnderLoad(GrpcClusterTest):
    def test_no_read_fails(self):
        errors, done = [], []

        def reader(n):
            chan = grpc.insecure_channel("%s:%d" % (harness.LOOPBACK, self.glisten))
            stub = psvc.PointsStub(chan)
            try:
                for _ in range(n):
                    try:
                        r = stub.Search(search_req(), timeout=10)
                        done.append(len(r.result))
                    except grpc.RpcError as e:
                        errors.append((e.code(), e.details()))
            finally:
                chan.close()

        threads = [threading.Thread(target=reader, args=(80,)) for _ in range(4)]
        for t in threads:
            t.start()
        while len(done) < 60 and any(t.is_alive() for t in threads):
            threading.Event().wait(0.01)
        os.kill(self.peers[1].pid, signal.SIGKILL)  # calls on it in flight lose their connection
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(done, [3] * 320)


class PeerEjected(GrpcClusterTest):
    # One worker (one balancer), at debug: each read moved off the dead peer is logged.
    SETS = ("upstream.outlier.consecutive_failures=2", "upstream.outlier.base_ejection=60s",
            "server.workers=1", "log.level=debug")

    def test_dead_grpc_port_ejected(self):
        os.kill(self.peers[2].pid, signal.SIGKILL)
        self.peers[2].p.wait(timeout=10)
        want = "upstream gRPC peer 127.0.0.1:%d ejected" % self.gports[2]
        for _ in range(200):
            if want in self.gw.log():
                break
            self.search()
        self.assertIn(want, self.gw.log())
        moved = "127.0.0.1:%d: cannot connect" % self.gports[2]
        n = self.gw.log().count(moved)
        self.assertGreaterEqual(n, 2)  # the failures that ejected it, each read moved on
        # Out: the next reads go to the live peers at once, none is moved off the dead one.
        before = [grpc_calls(p) for p in self.ports[:2]]
        for _ in range(20):
            self.search()
        self.assertEqual(sum(grpc_calls(p) for p in self.ports[:2]) - sum(before), 20)
        self.assertEqual(self.gw.log().count(moved), n)


class Config(unittest.TestCase):
    def test_grpc_urls_must_pair_with_urls(self):
        cfg = write_config([6333, 6343, 6353], [6334, 6344])
        try:
            r = subprocess.run([harness.GW_BIN, "-c", cfg, "--check-config"], capture_output=True,
                               text=True, timeout=30)
        finally:
            os.unlink(cfg)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("upstream.grpc_urls lists 2 URLs but upstream.urls lists 3 peers",
                      r.stdout + r.stderr)


if __name__ == "__main__":
    harness.main()

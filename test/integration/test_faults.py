# The fault suite (issue 19, Tests): an upstream that splits, stalls, over- and under-sends and
# resets; a Redis that stalls, closes and answers garbage; clients that abort mid-request and
# mid-response; each over HTTP/1.1 and HTTP/2. What must hold every time: the gateway stays up
# (and, under the sanitizer build, reports nothing: Proc.cleanup checks), no client ever gets a
# complete-looking answer that is wrong (every answer echoes a digest of its own request, so a
# crossed or cut answer shows), nothing cut short is stored, and bystanders keep being served.
# The faulty peers are real TCP servers on loopback written here: no real Qdrant or Redis
# misbehaves on demand.
import hashlib
import http.client
import json
import socket
import socketserver
import struct
import threading
import time
import unittest

import harness
from h2client import H2Client

BIG = 2 << 20  # the size of the answer a client abandons mid-response


def digest(body):
    return hashlib.sha256(body).hexdigest()[:16]


def answer_for(body, pad=0):
    doc = {"result": {"echo": digest(body), "pad": "x" * pad}, "status": "ok", "time": 0.0001}
    return json.dumps(doc, separators=(",", ":")).encode()


class FaultHandler(socketserver.StreamRequestHandler):
    """Reads HTTP/1.1 requests with Content-Length bodies; the collection name is the fault."""

    def read_request(self):
        line = self.rfile.readline()
        if not line:
            return None
        method, path, _ = line.decode("latin-1").split(" ", 2)
        n = 0
        while True:
            h = self.rfile.readline()
            if h in (b"\r\n", b"\n", b""):
                break
            k, _, v = h.decode("latin-1").partition(":")
            if k.strip().lower() == "content-length":
                n = int(v)
        return method, path, self.rfile.read(n) if n else b""

    def send(self, data, pieces=None):
        if pieces is None:
            self.wfile.write(data)
            return
        for i in range(0, len(data), pieces):
            self.wfile.write(data[i:i + pieces])
            self.wfile.flush()
            if i % (pieces * 64) == 0:
                time.sleep(0.001)

    def head(self, length, extra=""):
        return ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n"
                % (extra, length)).encode()

    def reset(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def handle(self):
        try:
            self.serve()
        except (ConnectionError, BrokenPipeError):
            pass  # the gateway gave up on this connection: that is its right

    def serve(self):
        while True:
            req = self.read_request()
            if req is None:
                return
            method, path, body = req
            if path.startswith("/aliases"):
                data = b'{"result":{"aliases":[]},"status":"ok","time":0.0}'
                self.send(self.head(len(data)) + data)
                continue
            parts = path.split("/")
            mode = parts[2] if len(parts) > 2 else "ok"
            with self.server.lock:
                self.server.hits[(mode, digest(body))] = self.server.hits.get((mode, digest(body)), 0) + 1
            ans = answer_for(body, BIG if mode == "big" else 0)
            if not self.fault(mode, ans):
                return

    def fault(self, mode, ans):
        """Answers by mode; False when the connection is over."""
        if mode in ("ok", "big"):
            self.send(self.head(len(ans)) + ans)
        elif mode == "split":  # head and body in pieces of 3 bytes
            self.send(self.head(len(ans)) + ans, pieces=3)
        elif mode == "chunks":  # chunked, one chunk per 5 bytes, written a piece at a time
            out = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            for i in range(0, len(ans), 5):
                out += b"%x\r\n%s\r\n" % (len(ans[i:i + 5]), ans[i:i + 5])
            self.send(out + b"0\r\n\r\n", pieces=7)
        elif mode == "stallhead":
            self.server.released.wait(30)
            return False
        elif mode == "stallbody":
            self.send(self.head(len(ans)) + ans[:len(ans) // 2])
            self.wfile.flush()
            self.server.released.wait(30)
            return False
        elif mode == "oversend":  # a second, unasked-for answer right behind the first
            wrong = answer_for(b"someone else's")
            self.send(self.head(len(ans)) + ans + self.head(len(wrong)) + wrong)
        elif mode == "undersend":  # promises more than it sends, then closes
            self.send(self.head(len(ans) + 100) + ans)
            return False
        elif mode == "status999":  # three digits, as llhttp wants, but no HTTP status
            self.send(b"HTTP/1.1 999 Odd\r\nContent-Length: %d\r\n\r\n%s" % (len(ans), ans))
        elif mode == "nostatus":  # llhttp reads it as status 0, with a body
            self.send(b"HTTP/1.1 \r\nContent-Length: %d\r\n\r\n%s" % (len(ans), ans))
        elif mode == "te204":  # a 204 whose head promises a body, and bytes behind it
            self.send(b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: x\r\n\r\n"
                      b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nsmuggled!")
            return False
        elif mode == "te102":  # the same on an interim answer, then the real one
            self.send(b"HTTP/1.1 102 Processing\r\nTransfer-Encoding: x\r\n\r\n"
                      + self.head(len(ans)) + ans)
        elif mode == "resethead":
            self.reset()
            return False
        elif mode == "resetbody":
            self.send(self.head(len(ans)) + ans[:len(ans) // 2])
            self.wfile.flush()
            time.sleep(0.05)
            self.reset()
            return False
        else:
            self.send(self.head(len(ans)) + ans)
        return True


class FaultServer(socketserver.ThreadingTCPServer):
    """A threaded TCP server on a free loopback port, serving from the start. Handlers that
    stall wait on `released`, which close() sets before shutting down."""
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, handler):
        super().__init__((harness.LOOPBACK, 0), handler)
        self.port = self.server_address[1]
        self.released = threading.Event()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def close(self):
        self.released.set()
        self.shutdown()
        self.server_close()


class FaultUpstream(FaultServer):
    def __init__(self):
        self.lock = threading.Lock()
        self.hits = {}
        super().__init__(FaultHandler)

    def hit_count(self, mode, body):
        with self.lock:
            return self.hits.get((mode, digest(body)), 0)


# ---- clients: (outcome, body) with outcome "ok", "cut" or the HTTP status --------------------

def h1_read(port, mode, body, timeout=20):
    c = http.client.HTTPConnection(harness.LOOPBACK, port, timeout=timeout)
    try:
        c.request("POST", "/collections/%s/points/query" % mode, body,
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        return (r.status if r.status != 200 else "ok"), data, r.getheader("x-cache")
    except (http.client.IncompleteRead, http.client.RemoteDisconnected, ConnectionError,
            socket.timeout):
        return "cut", b"", None
    finally:
        c.close()


def h2_read(port, mode, body, timeout=20):
    cl = H2Client(port, timeout=timeout)
    try:
        st = cl.request("POST", "/collections/%s/points/query" % mode, body,
                        [("content-type", "application/json")])
        cl.wait([st], timeout)
        if st.reset_code is not None or not st.ended:
            return "cut", st.body, None
        status = st.status if st.status != 200 else "ok"
        return status, st.body, st.headers.get("x-cache")
    finally:
        cl.close()


def request_body(tag):
    return json.dumps({"query": [0.5, 0.25], "limit": 3, "filter": {"must": [
        {"key": "tag", "match": {"value": tag}}]}}).encode()


class Bystanders:
    """Clients reading through the gateway during a fault: each answer must be 200 and its own."""

    def __init__(self, port):
        self.port = port
        self.stop = threading.Event()
        self.ok = 0
        self.bad = []
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        i = 0
        while not self.stop.is_set():
            i += 1
            body = request_body("bystander-%d" % (i % 7))
            reader = h1_read if i % 2 else h2_read
            out, data, _ = reader(self.port, "ok", body)
            if out != "ok" or json.loads(data)["result"]["echo"] != digest(body):
                self.bad.append((reader.__name__, out, data[:200]))
            else:
                self.ok += 1

    def finish(self):
        self.stop.set()
        self.t.join(30)
        return self.ok, self.bad


class UpstreamFaultsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up = FaultUpstream()
        cls.gw = harness.start_gateway(cls.up.port, "cache.enabled=true", "upstream.timeout=1500ms",
                                       "upstream.connect_timeout=500ms", workers=2)
        harness.wait_caching(cls.gw.port, coll="ok")

    @classmethod
    def tearDownClass(cls):
        cls.up.released.set()
        cls.gw.cleanup()
        cls.up.close()

    def setUp(self):
        self.by = Bystanders(self.gw.port)

    def tearDown(self):
        ok, bad = self.by.finish()
        self.assertEqual(bad, [], "bystanders were failed or answered wrongly")
        self.assertGreater(ok, 0, "no bystander was served during the fault")
        self.assertTrue(self.gw.alive(), self.gw.log())

    def each_protocol(self, mode, expect, rounds=3):
        """Reads through both protocols; expect is the outcome every read must have."""
        for reader in (h1_read, h2_read):
            for i in range(rounds):
                body = request_body("%s-%s-%d" % (mode, reader.__name__, i))
                out, data, _ = reader(self.gw.port, mode, body)
                self.assertEqual(out, expect, "%s over %s" % (mode, reader.__name__))
                if out == "ok":
                    self.assertEqual(json.loads(data)["result"]["echo"], digest(body),
                                     "%s over %s: someone else's answer" % (mode, reader.__name__))
                elif out == 502 or out == 504:
                    self.assertIn("error", json.loads(data)["status"])
                if out != "ok":  # nothing wrong was stored: the next read asks Qdrant again
                    before = self.up.hit_count(mode, body)  # (a read may be sent twice: retry)
                    reader(self.gw.port, mode, body)
                    self.assertGreater(self.up.hit_count(mode, body), before,
                                     "%s over %s: a failed answer was stored" % (mode, reader.__name__))

    def test_split_answers_are_reassembled(self):
        self.each_protocol("split", "ok")

    def test_chunked_answers_in_pieces(self):
        self.each_protocol("chunks", "ok")

    def test_stalled_before_the_answer_is_504(self):
        self.each_protocol("stallhead", 504, rounds=1)

    def test_stalled_mid_body_is_cut_not_completed(self):
        self.each_protocol("stallbody", "cut", rounds=1)

    def test_oversent_bytes_never_reach_the_next_client(self):
        self.each_protocol("oversend", "ok")
        # the extra answer sat on the upstream connection; nobody may receive it
        for i in range(20):
            body = request_body("after-oversend-%d" % i)
            out, data, _ = h1_read(self.gw.port, "ok", body)
            self.assertEqual((out, json.loads(data)["result"]["echo"]), ("ok", digest(body)))

    def test_undersent_body_is_cut_not_completed(self):
        self.each_protocol("undersend", "cut")

    def test_status_outside_100_599_is_502(self):
        # found by fuzz_upstream: "999 Unknown" was passed on to clients
        self.each_protocol("status999", 502)
        # and "HTTP/1.1 \r\n" (status 0) had its body relayed under a made-up 500
        self.each_protocol("nostatus", 502)

    def test_no_body_after_204(self):
        # found by fuzz_upstream: llhttp reads a body after a 204 with a Transfer-Encoding other
        # than chunked, and the gateway relayed it, where the client reads the next answer
        for i in range(3):
            s = socket.create_connection((harness.LOOPBACK, self.gw.port), timeout=20)
            try:
                got = b""
                for mode, tag in (("te204", "te204-%d" % i), ("ok", "after-te204-%d" % i)):
                    body = request_body(tag)
                    s.sendall(b"POST /collections/%s/points/query HTTP/1.1\r\nHost: gw\r\n"
                              b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                              % (mode.encode(), len(body), body))
                    if mode == "te204":  # its head, then give the gateway time to relay more
                        while b"\r\n\r\n" not in got:
                            got += s.recv(65536)
                        time.sleep(0.2)
                while got.count(b"HTTP/1.1 ") < 2 or not got.endswith(b"}"):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    got += chunk
                first, rest = got.split(b"\r\n\r\n", 1)
                self.assertTrue(first.startswith(b"HTTP/1.1 204 "), got)
                self.assertTrue(rest.startswith(b"HTTP/1.1 200 "), got)
                self.assertEqual(json.loads(rest.split(b"\r\n\r\n", 1)[1])["result"]["echo"],
                                 digest(request_body("after-te204-%d" % i)), got)
            finally:
                s.close()
        out, data, _ = h2_read(self.gw.port, "te204", request_body("te204-h2"))
        self.assertEqual((out, data), (204, b""))
        # and after a 1xx, where the gateway sent that "body" under a made-up 500
        self.each_protocol("te102", "ok")

    def test_reset_before_the_answer_is_502(self):
        self.each_protocol("resethead", 502)

    def test_reset_mid_body_is_cut(self):
        self.each_protocol("resetbody", "cut")


class ClientAbortsTest(unittest.TestCase):
    """Clients that go away mid-request or mid-response leave nothing behind."""

    @classmethod
    def setUpClass(cls):
        cls.up = FaultUpstream()
        cls.gw = harness.start_gateway(cls.up.port, "cache.enabled=true", workers=2)
        harness.wait_caching(cls.gw.port, coll="ok")

    @classmethod
    def tearDownClass(cls):
        cls.up.released.set()
        cls.gw.cleanup()
        cls.up.close()

    def open_connections(self):
        s, _, b = harness.curl(self.gw.port, "GET", "/api/v1/health")
        return json.loads(b)["result"]["connections"]

    def settle(self, want):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.open_connections() > want:
            time.sleep(0.05)
        return self.open_connections()

    def test_aborts_mid_request_and_mid_response(self):
        base = self.open_connections()
        by = Bystanders(self.gw.port)
        head = ("POST /collections/ok/points/query HTTP/1.1\r\nHost: gw\r\n"
                "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n").encode()
        for i in range(30):
            # HTTP/1.1, mid-request: half a body, then a close (or a reset)
            s = socket.create_connection((harness.LOOPBACK, self.gw.port))
            s.sendall(head + b"{" * 100)
            if i % 2:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            # HTTP/1.1, mid-response: a 2 MB answer, 1 KB read, then a reset
            body = request_body("big-h1-%d" % i)
            s = socket.create_connection((harness.LOOPBACK, self.gw.port))
            s.sendall(("POST /collections/big/points/query HTTP/1.1\r\nHost: gw\r\n"
                       "Content-Length: %d\r\n\r\n" % len(body)).encode() + body)
            s.recv(1024)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            # HTTP/2: one stream reset mid-request, one mid-response, then the connection dropped
            cl = H2Client(self.gw.port, window=65535)
            a = cl.request("POST", "/collections/ok/points/query", b"{" * 100, end=False)
            cl.reset(a)
            b = cl.request("POST", "/collections/big/points/query", request_body("big-h2-%d" % i))
            cl.pump(lambda: len(b.body) > 0 or b.done, 10)
            cl.reset(b)
            cl.request("POST", "/collections/big/points/query", request_body("big-h2b-%d" % i))
            cl.pump(lambda: False, 0.05)
            cl.close()
        ok, bad = by.finish()
        self.assertEqual(bad, [])
        self.assertGreater(ok, 0)
        self.assertTrue(self.gw.alive(), self.gw.log())
        self.assertLessEqual(self.settle(base), base, "aborted clients' connections stayed open")
        # and a client that reads the big answer whole still gets all of it, correct
        body = request_body("big-whole")
        out, data, _ = h1_read(self.gw.port, "big", body)
        self.assertEqual((out, json.loads(data)["result"]["echo"]), ("ok", digest(body)))


class FaultRedis(FaultServer):
    """A TCP server on a Redis port that never behaves: mode says how."""

    def __init__(self):
        self.mode = "stall"
        self.conns = 0
        super().__init__(FaultRedisHandler)


class FaultRedisHandler(socketserver.BaseRequestHandler):
    def handle(self):
        self.server.conns += 1
        s = self.request
        while True:
            try:
                data = s.recv(65536)
            except OSError:
                return
            if not data:
                return
            mode = self.server.mode
            if mode == "stall":
                self.server.released.wait(30)
                return
            if mode == "close":
                return
            if mode == "garbage":
                s.sendall(b"%%%% not RESP \x00\xff\r\n")
            elif mode == "huge":
                s.sendall(b"*2000000000\r\n")
            elif mode == "wrongtype":
                s.sendall(b":12\r\n" * 8)


class RedisFaultsTest(unittest.TestCase):
    """Redis misbehaving in every way: reads are answered correctly (fail open), always."""

    @classmethod
    def setUpClass(cls):
        cls.q = harness.start_fake_qdrant()
        harness.curl(cls.q.port, "PUT", "/collections/c", {"vectors": {"size": 2, "distance": "Dot"}})
        pts = [{"id": i, "vector": [i / 10, 1 - i / 10], "payload": {"tag": "t%d" % (i % 3)}}
               for i in range(1, 30)]
        harness.curl(cls.q.port, "PUT", "/collections/c/points?wait=true", {"points": pts})
        cls.redis = FaultRedis()
        cls.gw = harness.start_gateway(
            cls.q.port, "cache.enabled=true",
            "cache.redis.url=redis://%s:%d" % (harness.LOOPBACK, cls.redis.port),
            "cache.redis.timeout=20ms", "cache.redis.connect_timeout=200ms", workers=2)

    @classmethod
    def tearDownClass(cls):
        cls.redis.released.set()
        cls.gw.cleanup()
        cls.q.cleanup()
        cls.redis.close()

    def check_reads(self, mode):
        self.redis.mode = mode
        for i in range(40):
            body = json.dumps({"query": [0.3, 0.7], "limit": 2 + i % 5}).encode()
            direct = harness.curl(self.q.port, "POST", "/collections/c/points/query", body,
                                  ["Content-Type: application/json"])
            want = harness.without_time(json.loads(direct[2]))
            for reader in (h1_read, h2_read):
                out, data, _ = reader(self.gw.port, "c", body)
                self.assertEqual(out, "ok", "redis %s, %s" % (mode, reader.__name__))
                self.assertEqual(harness.without_time(json.loads(data)), want,
                                 "redis %s, %s: wrong answer" % (mode, reader.__name__))
        self.assertTrue(self.gw.alive(), self.gw.log())

    def test_every_fault(self):
        for mode in ("stall", "close", "garbage", "huge", "wrongtype", "close"):
            self.check_reads(mode)
        self.redis.released.set()
        self.assertGreater(self.redis.conns, 3, "the gateway stopped reconnecting to Redis")
        s, _, b = harness.curl(self.gw.port, "GET", "/api/v1/health")
        self.assertEqual(s, 200, b)
        self.assertFalse(json.loads(b)["result"]["cache"]["redis"]["up"])


if __name__ == "__main__":
    harness.main()

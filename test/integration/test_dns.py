# Host names (issue 13): upstream.url and cache.redis.url name hosts that a tiny DNS server on
# 127.0.0.1 resolves to loopback addresses the test controls. The answer changes to another
# address where a second real fake_qdrant / redis-server listens, the first is killed, and the
# traffic moves without a gateway restart and without client errors after the switch; with a
# long TTL, the failed connection itself makes the gateway ask again. A name that does not
# resolve answers 502 with the reason at once (no hang), and health shows why.
import json
import socket
import struct
import subprocess
import threading
import time
import unittest

import harness

OTHER = "127.0.0.2"  # the second loopback address (Linux routes all of 127/8 to lo)


class FakeDns:
    """A UDP DNS server for A questions: names -> IPv4 addresses, changeable at any time.

    evdns randomises the case of the names it asks (0x20 encoding) and checks the answer's
    question section byte for byte, so the question is echoed exactly as received. Unknown
    names get NXDOMAIN; AAAA questions for known names get an empty NOERROR answer."""

    def __init__(self, ttl=1):
        self.ttl = ttl
        self.names = {}
        self.queries = 0
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((harness.LOOPBACK, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def set(self, name, *addrs):
        with self.lock:
            self.names[name.lower()] = list(addrs)

    def _answer(self, q):
        if len(q) < 12:
            return None
        qid, flags, qdcount = struct.unpack("!HHH", q[:6])
        if qdcount != 1 or flags & 0x8000:
            return None
        i, labels = 12, []
        while i < len(q) and q[i]:
            n = q[i]
            labels.append(q[i + 1:i + 1 + n].decode("ascii", "replace"))
            i += 1 + n
        if i + 5 > len(q):
            return None
        question = q[12:i + 5]  # the name as asked (its case included), type and class
        qtype = struct.unpack("!H", q[i + 1:i + 3])[0]
        with self.lock:
            self.queries += 1
            addrs = self.names.get(".".join(labels).lower())
            ttl = self.ttl
        rd = flags & 0x0100
        if addrs is None:
            return struct.pack("!HHHHHH", qid, 0x8400 | rd | 0x80 | 3, 1, 0, 0, 0) + question
        rrs = b""
        if qtype == 1:
            for a in addrs:
                rrs += struct.pack("!HHHIH", 0xC00C, 1, 1, ttl, 4) + socket.inet_aton(a)
        n = len(addrs) if qtype == 1 else 0
        return struct.pack("!HHHHHH", qid, 0x8400 | rd | 0x80, 1, n, 0, 0) + question + rrs

    def _serve(self):
        while not self.stopping:
            try:
                q, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            a = self._answer(q)
            if a:
                self.sock.sendto(a, peer)

    def stop(self):
        self.stopping = True
        self.thread.join()
        self.sock.close()


def wait_for(cond, what, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("still waiting for " + what)


def both_free_port():
    """A port free on 127.0.0.1 and on 127.0.0.2: each name's two hosts share it."""
    for _ in range(50):
        p = harness.free_port()
        try:
            with socket.socket() as s:
                s.bind((OTHER, p))
            return p
        except OSError:
            continue
    raise RuntimeError("no port free on both loopback addresses")


def start_at(host, port, argv, name):
    """harness.Proc for a server listening on host."""
    return harness.Proc(argv, port, name, host=host)


def fake_qdrant_at(host, port):
    """A fake_qdrant on host:port with collection c."""
    p = start_at(host, port, [harness.FAKE_QDRANT_BIN, "--listen", "%s:%d" % (host, port)],
                 "fake_qdrant-" + host)
    s, _, b = harness.curl(port, "PUT", "/collections/c",
                           {"vectors": {"size": 4, "distance": "Dot"}}, host=host)
    assert s == 200, b
    pts = [{"id": i, "vector": [i / 10, 1 - i / 10, 0.5, 0.25]} for i in range(1, 20)]
    s, _, b = harness.curl(port, "PUT", "/collections/c/points?wait=true", {"points": pts},
                           host=host)
    assert s == 200, b
    return p


def redis_at(host, port):
    return start_at(host, port, ["redis-server", "--port", str(port), "--bind", host, "--save",
                                 "", "--appendonly", "no"], "redis-" + host)


def fake_requests(host, port):
    s, _, b = harness.curl(port, "GET", "/__fake/stats", host=host)
    assert s == 200, b
    return sum(json.loads(b)["requests"].values())


def redis_keys(host, port):
    r = subprocess.run(["redis-cli", "-h", host, "-p", str(port), "dbsize"],
                       stdout=subprocess.PIPE, timeout=10)
    return int(r.stdout.decode().strip() or 0)


def metric(port, name, labels):
    _, _, b = harness.curl(port, "GET", "/metrics")
    for line in b.decode().splitlines():
        if line.startswith(name + "{" + labels + "}"):
            return float(line.split()[-1])
    return None


def health(port):
    s, _, b = harness.curl(port, "GET", "/api/v1/health")
    return json.loads(b)["result"]


class Traffic:
    """Requests in a loop on one keep-alive client until stopped; remembers failures by time."""

    def __init__(self, port, path="/collections"):
        self.port, self.path = port, path
        self.ok, self.failures = 0, []
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        c = harness.HttpClient(self.port)
        while not self.stopping:
            try:
                s, _, b = c.request("GET", self.path)
            except Exception as e:  # noqa: BLE001 - any client error counts
                s, b = 0, str(e).encode()
                c.close()
                c = harness.HttpClient(self.port)
            if s == 200:
                self.ok += 1
            else:
                self.failures.append((time.monotonic(), s, b[:300]))
        c.close()

    def stop(self):
        self.stopping = True
        self.thread.join()


class MovingHostsTest(unittest.TestCase):
    """Names whose answers move: the TTL (1 s here) refresh finds the new address."""

    @classmethod
    def setUpClass(cls):
        cls.dns = FakeDns(ttl=1)
        cls.qport, cls.rport = both_free_port(), both_free_port()
        cls.dns.set("qdrant.test", harness.LOOPBACK)
        cls.dns.set("redis.test", harness.LOOPBACK)
        cls.qa = fake_qdrant_at(harness.LOOPBACK, cls.qport)
        cls.qb = fake_qdrant_at(OTHER, cls.qport)
        cls.ra = redis_at(harness.LOOPBACK, cls.rport)
        cls.rb = redis_at(OTHER, cls.rport)
        cls.gw = harness.start_gateway(
            cls.qport, "upstream.url=http://qdrant.test:%d" % cls.qport,
            "cache.redis.url=redis://redis.test:%d" % cls.rport, "cache.redis.timeout=50ms",
            "dns.resolvers=127.0.0.1:%d" % cls.dns.port, "dns.hosts_file=",
            "dns.min_ttl=100ms", "dns.max_ttl=1s", workers=2)

    @classmethod
    def tearDownClass(cls):
        for p in (cls.gw, cls.qa, cls.qb, cls.ra, cls.rb):
            p.cleanup()
        cls.dns.stop()

    def changed(self, peer):
        return metric(self.gw.port, "qdrant_gateway_dns_resolutions_total",
                      'peer="%s",result="changed"' % peer) or 0

    def test_upstream_moves_to_the_new_address_without_errors(self):
        s, _, b = harness.curl(self.gw.port, "GET", "/collections/c")
        self.assertEqual(s, 200, b)
        self.assertIn(health(self.gw.port)["upstream"]["address"],
                      ("127.0.0.1:%d" % self.qport, "127.0.0.2:%d" % self.qport))
        traffic = Traffic(self.gw.port)
        try:
            wait_for(lambda: traffic.ok > 20, "traffic through the first address")
            base = self.changed("upstream")
            self.dns.set("qdrant.test", OTHER)
            # Every worker heard the new answer (one "changed" each): connections to the old
            # address are closed once idle, new ones go to the new address.
            wait_for(lambda: self.changed("upstream") >= base + 2, "both workers moving")
            served_before_kill = traffic.ok
            self.qa.kill()
            killed = time.monotonic()
            wait_for(lambda: traffic.ok > served_before_kill + 100, "traffic after the kill")
        finally:
            traffic.stop()
        after = [f for f in traffic.failures if f[0] >= killed]
        self.assertEqual(after, [], "client errors after the switch")
        self.assertEqual(traffic.failures, [], "client errors before it (the old one was up)")
        self.assertEqual(health(self.gw.port)["upstream"]["address"], "127.0.0.2:%d" % self.qport)
        self.assertGreater(fake_requests(OTHER, self.qport), 100)
        # The /metrics scrape of upstream.url (an absolute URL for libcurl) follows as well.

        def qdrant_up():
            _, _, b = harness.curl(self.gw.port, "GET", "/metrics")
            return 'qdrant_up{upstream="qdrant.test:%d"} 1' % self.qport in b.decode()
        wait_for(qdrant_up, "qdrant_up 1 from the new address")

    def test_redis_moves_to_the_new_address(self):
        base = self.changed("redis")
        wait_for(lambda: health(self.gw.port)["cache"]["redis"]["up"], "Redis up")
        self.dns.set("redis.test", OTHER)
        wait_for(lambda: self.changed("redis") >= base + 2, "both workers moving Redis")
        self.ra.kill()

        def on_b():
            h = [health(self.gw.port) for _ in range(4)]  # workers answer in turn
            return all(x["cache"]["redis"]["up"] and
                       x["cache"]["redis"]["address"] == "%s:%d" % (OTHER, self.rport) for x in h)
        wait_for(on_b, "Redis up on the new address")
        harness.wait_caching(self.gw.port)
        c = harness.CacheClient(self.gw.port)
        try:
            for i in range(5):
                c.req("POST", "/collections/c/points/query", {"query": [1, 0, 0, i], "limit": 3})
        finally:
            c.close()
        wait_for(lambda: redis_keys(OTHER, self.rport) > 0, "answers stored on the new Redis")


class FailedConnectionTest(unittest.TestCase):
    """With answers kept for an hour, a connection refused at the old address makes the
    gateway ask again (bounded by dns.min_ttl), and it serves from the new one."""

    def test_a_refused_connection_re_resolves(self):
        dns = FakeDns(ttl=3600)
        port = both_free_port()
        dns.set("qdrant.test", harness.LOOPBACK)
        qa = fake_qdrant_at(harness.LOOPBACK, port)
        qb = fake_qdrant_at(OTHER, port)
        gw = harness.start_gateway(
            port, "upstream.url=http://qdrant.test:%d" % port, "cache.enabled=false",
            "dns.resolvers=127.0.0.1:%d" % dns.port, "dns.hosts_file=",
            "dns.min_ttl=100ms", "dns.max_ttl=1h", workers=1)
        try:
            s, _, b = harness.curl(gw.port, "GET", "/collections")
            self.assertEqual(s, 200, b)
            dns.set("qdrant.test", OTHER)
            qa.kill()
            statuses = []

            def served():
                s, _, b = harness.curl(gw.port, "GET", "/collections")
                statuses.append(s)
                return s == 200
            wait_for(served, "a request served from the new address")
            self.assertTrue(all(s in (200, 502) for s in statuses), statuses)
            self.assertEqual(health(gw.port)["upstream"]["address"], "%s:%d" % (OTHER, port))
        finally:
            for p in (gw, qa, qb):
                p.cleanup()
            dns.stop()


class UnresolvableTest(unittest.TestCase):
    """A name nobody knows: a 502 that says so at once, health says why, Redis fails open."""

    def test_a_name_that_does_not_resolve(self):
        dns = FakeDns()
        port = harness.free_port()
        gw = harness.start_gateway(
            port, "upstream.url=http://nowhere.test:%d" % port,
            "cache.redis.url=redis://nowhere-redis.test:6379",
            "dns.resolvers=127.0.0.1:%d" % dns.port, "dns.hosts_file=", workers=1)
        try:
            s, _, b = harness.curl(gw.port, "GET", "/collections", timeout=10)
            self.assertEqual(s, 502, b)
            self.assertIn(b"upstream host nowhere.test does not resolve: no such name", b)
            h = health(gw.port)
            self.assertIsNone(h["upstream"]["address"])
            self.assertIn("no such name", h["upstream"]["dns_error"])
            wait_for(lambda: health(gw.port)["cache"]["redis"]["dns_error"], "Redis's DNS error")
            self.assertFalse(health(gw.port)["cache"]["redis"]["up"])
            self.assertGreater(metric(gw.port, "qdrant_gateway_dns_resolutions_total",
                                      'peer="upstream",result="failed"'), 0)
            self.assertIn("cannot resolve upstream host nowhere.test", gw.log())
        finally:
            gw.cleanup()
            dns.stop()


if __name__ == "__main__":
    harness.main()

# loadtest/validate against a real stack on loopback (fake_qdrant, redis-server, the gateway with
# a model), its durations turned down to seconds: it runs every check (curl -w, the model search,
# /api/v1/collections, /graphql, ab, wrk with post.lua, redis-cli info stats) and prints the
# targets table with a figure in each row, a met column that agrees with that figure, and figures
# that agree with the gateway's own counters read afterwards. Whether a target is met is not
# asserted: tests never judge wall-clock performance on a shared machine.
import os
import re
import shutil
import subprocess
import unittest

import harness

VALIDATE = os.path.join(harness.SOURCE_DIR, "loadtest", "validate")
TOOLS = ("wrk", "ab", "curl", "redis-server", "redis-cli")
AB_N, CURL_N = 300, 3
TARGETS = ("average search latency < 10 ms", "> 10,000 ops/s", "cache hit ratio > 80%",
           "gateway CPU < 70%", "memory < 80%")


def validate(url, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VALIDATE_")}
    env.update(VALIDATE_DURATION="2", VALIDATE_CONNS="10", VALIDATE_THREADS="1",
               VALIDATE_AB_N=str(AB_N), VALIDATE_AB_C="10", VALIDATE_CURL_N=str(CURL_N))
    r = subprocess.run([VALIDATE, url] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=300)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def rows(out, header):
    """{first cell: [cells]} of the Markdown table that starts with `| header |`."""
    block = out.split("| " + header, 1)[1].split("\n\n", 1)[0]
    cells = [[c.strip() for c in l.strip().strip("|").split("|")] for l in block.splitlines()[2:]]
    return {c[0]: c[1:] for c in cells}


def counters(port):
    s, _, b = harness.curl(port, "GET", "/metrics")
    assert s == 200, b
    out = {}
    for line in b.decode().splitlines():
        m = re.match(r"(\w+)(\{.*\})? (\S+)$", line)
        if m:
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


class ValidateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        missing = [t for t in TOOLS if not shutil.which(t)]
        if missing:
            raise unittest.SkipTest("not installed: %s (scripts/install-deps test)" % " ".join(missing))
        cls.up = harness.start_fake_qdrant()
        cls.redis = harness.start_redis()
        cls.gw = harness.start_gateway(cls.up.port, "cache.redis.url=redis://%s:%d" % (harness.LOOPBACK, cls.redis.port),
                                       "models.mixtral.collection=c", "models.mixtral.dimension=4")
        s, _, b = harness.curl(cls.up.port, "PUT", "/collections/c", {"vectors": {"size": 4, "distance": "Cosine"}})
        assert s == 200, b
        s, _, b = harness.curl(cls.up.port, "PUT", "/collections/c/points?wait=true",
                               {"points": [{"id": i, "vector": [0.1 * i, 0.2, 0.3, 0.4]} for i in range(1, 6)]})
        assert s == 200, b
        harness.wait_caching(cls.gw.port)

    @classmethod
    def tearDownClass(cls):
        for p in (cls.gw, cls.redis, cls.up):
            p.cleanup()

    def test_runs_every_check_and_prints_the_targets_with_real_figures(self):
        rc, out, err = validate("http://%s:%d" % (harness.LOOPBACK, self.gw.port),
                                "--redis", "%s:%d" % (harness.LOOPBACK, self.redis.port))
        self.assertIn(rc, (0, 1), out + err)  # 1: a target missed on this machine; 2 would be a check failing
        self.assertIn("Search: model mixtral (collection c, dimension 4): POST /api/v1/models/mixtral/vectors/search "
                      "with {\"query_vector\":[4 numbers],\"limit\":10}", out)
        checks = rows(out, "check")
        self.assertRegex(checks['curl -w "@loadtest/curl-format.txt" x%d' % CURL_N][0],
                         r"^HTTP 200; total [\d.]+ ms on average")
        self.assertRegex(checks["POST /api/v1/models/mixtral/vectors/search"][0], r"^HTTP 200, 5 hits, X-Cache HIT")
        self.assertEqual(checks["GET /api/v1/collections"][0], "HTTP 200, 1 collection(s): c")
        self.assertEqual(checks["POST /graphql"][0], "served (HTTP 200)")  # the gateway serves GraphQL
        self.assertRegex(checks["ab -n %d -c 10" % AB_N][0], r"^[\d,]+ req/s, [\d.]+ ms mean, 0 failed, 0 non-2xx")
        self.assertRegex(checks["wrk -t1 -c10 -d2s --script=loadtest/post.lua"][0],
                         r"^[\d,]+ req/s, [\d.]+ ms average, p99 [\d.]+ ms, 0 socket errors, 0 non-2xx")
        self.assertRegex(checks["redis-cli info stats"][0],
                         r"^keyspace_hits \d+, keyspace_misses \d+ .*not the cache hit ratio: L1 hits never reach Redis")

        targets = rows(out, "target")
        self.assertEqual(sorted(targets), sorted(TARGETS), out)
        for name, (measured, met) in targets.items():
            self.assertIn(met, ("yes", "NO"), (name, measured))

        def figure(name, pattern):
            m = re.search(pattern, targets[name][0])
            self.assertTrue(m, (name, targets[name][0]))
            ok = targets[name][1] == "yes"
            return [float(g.replace(",", "")) for g in m.groups()], ok

        def agrees(name, value, ok):
            # The table's verdict follows from its own figure and the bound written in the target
            # ("< 10 ms", "> 10,000 ops/s"): validate's logic is checked, not this machine's speed.
            op, bound = re.search(r"([<>]) ([\d,.]+)", name).groups()
            bound = float(bound.replace(",", ""))
            self.assertEqual(ok, value < bound if op == "<" else value > bound, (name, value))

        (lat,), ok = figure(TARGETS[0], r"^([\d.]+) ms \(wrk, 10 connections; curl alone: [\d.]+ ms\)")
        agrees(TARGETS[0], lat, ok)
        (ops,), ok = figure(TARGETS[1], r"^([\d,]+) ops/s \(wrk\)$")
        self.assertGreater(ops, 0)
        agrees(TARGETS[1], ops, ok)
        (ratio, lookups), ok = figure(TARGETS[2], r"^([\d.]+)% of ([\d,]+) lookups \(qdrant_gateway_cache_lookups_total")
        agrees(TARGETS[2], ratio, ok)
        (cpu, cpus), ok = figure(TARGETS[3], r"^([\d.]+)% of (\d+) CPUs \(its workers\)")
        self.assertEqual(cpus, 2)  # the gateway's server.workers, from /api/v1/health
        agrees(TARGETS[3], cpu, ok)
        (mem,), ok = figure(TARGETS[4], r"^([\d.]+)% of [\d.]+ GiB \(this machine's RAM\): peak RSS \d+ MiB")
        agrees(TARGETS[4], mem, ok)

        # The figures are the gateway's: its counters, read now (nothing searched since), agree.
        c = counters(self.gw.port)
        key = 'qdrant_gateway_cache_lookups_total{tier="%s",result="%s"}'
        hits = c[key % ("l1", "hit")] + c[key % ("l2", "hit")]
        total = sum(c[key % ("l1", r)] for r in ("hit", "miss", "stale"))
        self.assertEqual(lookups, total)
        self.assertAlmostEqual(ratio, 100.0 * hits / total, delta=0.05)
        searches = c['qdrant_gateway_http_requests_total{route_class="gateway_api",method="POST",code="200"}']
        self.assertGreater(searches, AB_N + CURL_N + 1)  # ab, curl, the single search, then wrk's
        self.assertIn("targets met", out.splitlines()[-1])

    def test_without_a_model_it_searches_a_collection_and_without_redis_skips_it(self):
        gw = harness.start_gateway(self.up.port, workers=1)
        try:
            harness.wait_caching(gw.port)
            rc, out, err = validate("http://%s:%d" % (harness.LOOPBACK, gw.port))
        finally:
            gw.cleanup()
        self.assertIn(rc, (0, 1), out + err)
        self.assertIn("Search: collection c (no ready model; Qdrant's query API): POST /collections/c/points/query "
                      "with {\"query\":[4 numbers],\"limit\":10}", out)
        self.assertIn("skipped: no Redis given", rows(out, "check")["redis-cli info stats"][0])
        self.assertRegex(rows(out, "target")["gateway CPU < 70%"][0], r"of 1 CPUs \(its workers\)")

    def test_no_gateway_is_a_failed_check(self):
        rc, out, err = validate("http://%s:%d" % (harness.LOOPBACK, harness.free_port()))
        self.assertEqual(rc, 2, out + err)
        self.assertIn("/api/v1/health", err)


if __name__ == "__main__":
    harness.main()

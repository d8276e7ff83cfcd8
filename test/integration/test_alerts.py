# The compose stack's alert rules (docker/prometheus/alerts.yml): promtool checks them and runs
# their unit tests (alerts.test.yml); prometheus.yml loads them and compose mounts them where
# that path points; every series selector in them matches a series that a real gateway's
# /metrics exposes (fake_qdrant, redis-server and the gateway on loopback, with a hit, a miss
# and a 502 behind them); the CPU and memory budgets equal the compose defaults; the Grafana
# dashboard lists the alerts and colours the hit ratio at the same 80%.
import json
import os
import re
import shutil
import subprocess
import time
import unittest

import harness
from test_deploy import promql_metric_names

try:
    import yaml
except ImportError:  # python3-yaml is in scripts/install-deps' test group
    yaml = None

SRC = harness.SOURCE_DIR
PROM_DIR = os.path.join(SRC, "docker", "prometheus")
RULES = os.path.join(PROM_DIR, "alerts.yml")
RULE_TESTS = os.path.join(PROM_DIR, "alerts.test.yml")
PROM_CONFIG = os.path.join(PROM_DIR, "prometheus.yml")
COMPOSE = os.path.join(SRC, "docker-compose.yml")
DASHBOARD = os.path.join(SRC, "docker", "grafana", "dashboards", "qdrant-gateway.json")
DATASOURCES = os.path.join(SRC, "docker", "grafana", "provisioning", "datasources", "prometheus.yml")
# The alerts the deployment's targets call for.
WANTED = {"QdrantGatewaySearchLatencyHigh", "QdrantGatewayCacheHitRatioLow", "QdrantGatewayCPUHigh",
          "QdrantGatewayMemoryHigh", "QdrantDown", "RedisDown", "QdrantGateway5xxRateHigh",
          "QdrantGatewayDown", "QdrantGatewayCacheNotCaching"}
# Labels Prometheus adds to every scraped series.
TARGET_LABELS = {"job", "instance"}
# Series Prometheus makes itself.
PROMETHEUS_OWN = {"up"}


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def promtool(*args, cwd=None):
    r = subprocess.run(["promtool"] + list(args), cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    return r.returncode, r.stdout.decode(errors="replace")


def need(test, what):
    if what == "promtool" and not shutil.which("promtool"):
        test.skipTest("promtool is not installed (Debian's prometheus package)")
    if what == "yaml" and yaml is None:
        test.skipTest("python3-yaml is not installed (scripts/install-deps test)")


def rules():
    """[(group, rule dict)] of alerts.yml."""
    doc = yaml.safe_load(read(RULES))
    return [(g["name"], r) for g in doc["groups"] for r in g["rules"]]


def parse_exposition(text):
    """[(name, {label: value})] of every sample line of a /metrics text."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s", line)
        assert m, line
        labels = dict(re.findall(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        out.append((m.group(1), labels))
    return out


def selectors(expr):
    """[(metric name, [(label, op, value)])] of the vector selectors in a PromQL expression."""
    out = []
    for m in re.finditer(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*\{([^}]*)\}", expr):
        matchers = re.findall(r'([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"', m.group(2))
        out.append((m.group(1), matchers))
    return out


def matches(labels, matchers):
    for name, op, value in matchers:
        if name in TARGET_LABELS:
            continue
        have = labels.get(name, "")
        ok = {"=": have == value, "!=": have != value,
              "=~": re.fullmatch(value, have) is not None,
              "!~": re.fullmatch(value, have) is None}[op]
        if not ok:
            return False
    return True


class PromtoolTest(unittest.TestCase):
    def setUp(self):
        need(self, "promtool")

    def test_check_rules(self):
        rc, out = promtool("check", "rules", RULES)
        self.assertEqual(rc, 0, out)
        self.assertIn("SUCCESS", out)

    def test_unit_tests_pass(self):
        # From the rules' directory: alerts.test.yml names alerts.yml relative to it.
        rc, out = promtool("test", "rules", os.path.basename(RULE_TESTS), cwd=PROM_DIR)
        self.assertEqual(rc, 0, out)
        self.assertIn("SUCCESS", out)

    def test_config_loads_them(self):
        rc, out = promtool("check", "config", PROM_CONFIG)
        self.assertEqual(rc, 0, out)
        self.assertIn("1 rule files found", out)
        self.assertRegex(out, r"Checking \S*/alerts\.yml")


class RulesTest(unittest.TestCase):
    def setUp(self):
        need(self, "yaml")

    def test_the_targets_have_alerts(self):
        alerts = {r["alert"]: r for _, r in rules() if "alert" in r}
        self.assertEqual(set(alerts), WANTED)
        text = re.sub(r"(?ms)^```.*?^```", "", read(os.path.join(SRC, "docs", "operations.md")))
        headings = [re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
                    for h in re.findall(r"(?m)^#+ (.*)$", text)]
        for name, r in alerts.items():
            self.assertIn(r["labels"]["severity"], ("warning", "critical"), name)
            for k in ("summary", "description", "runbook"):
                self.assertIn(k, r["annotations"], name)
            anchor = r["annotations"]["runbook"].split("#", 1)
            self.assertEqual(anchor[0], "docs/operations.md", name)
            self.assertIn(anchor[1], headings, "%s: no such section in docs/operations.md" % name)
        # The thresholds the targets name.
        self.assertRegex(alerts["QdrantGatewaySearchLatencyHigh"]["expr"], r"histogram_quantile\(0\.99,")
        self.assertRegex(alerts["QdrantGatewaySearchLatencyHigh"]["expr"], r"\) > 0\.010?\s*$")
        self.assertRegex(alerts["QdrantGatewayCacheHitRatioLow"]["expr"], r"< 0\.8\s*$")
        self.assertRegex(alerts["QdrantGatewayCPUHigh"]["expr"], r"> 0\.7\s*$")
        self.assertRegex(alerts["QdrantGatewayMemoryHigh"]["expr"], r"> 0\.8\s*$")

    def test_prometheus_loads_the_file_compose_mounts(self):
        cfg = yaml.safe_load(read(PROM_CONFIG))
        self.assertEqual(cfg["rule_files"], ["alerts.yml"])
        compose = yaml.safe_load(read(COMPOSE))
        prom = compose["services"]["prometheus"]
        self.assertIn("--config.file=/etc/prometheus/prometheus.yml", prom["command"])
        # A relative rule_files entry is read from the config file's directory.
        self.assertIn("./docker/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro", prom["volumes"])

    def test_budgets_are_the_compose_defaults(self):
        budget = {r["record"]: r["expr"] for _, r in rules() if "record" in r}
        compose = read(COMPOSE)
        cpus = re.search(r"cpus: \$\{GATEWAY_CPUS:-(\d+)\}", compose).group(1)
        mem = re.search(r"mem_limit: \$\{GATEWAY_MEM_LIMIT:-(\d+)([kmg])\}", compose)
        mem_bytes = int(mem.group(1)) * 1024 ** " kmg".index(mem.group(2))
        self.assertEqual(budget["qdrant_gateway:cpu_budget_cores"], "vector(%s)" % cpus)
        self.assertEqual(budget["qdrant_gateway:memory_budget_bytes"], "vector(%d)" % mem_bytes)


class RulesAgainstRealMetricsTest(unittest.TestCase):
    """Each selector of each rule matches a series of a real scrape (label values included)."""

    @classmethod
    def setUpClass(cls):
        if yaml is None:
            raise unittest.SkipTest("python3-yaml is not installed")
        if not shutil.which("redis-server"):
            raise unittest.SkipTest("redis-server is not installed")
        up = harness.start_fake_qdrant()
        redis = harness.start_redis()
        gw = harness.start_gateway(up.port, "cache.redis.url=redis://%s:%d" % (harness.LOOPBACK, redis.port))
        try:
            s, _, b = harness.curl(up.port, "PUT", "/collections/c",
                                   {"vectors": {"size": 4, "distance": "Cosine"}})
            assert s == 200, b
            harness.wait_caching(gw.port)
            q = {"query": [0.1, 0.2, 0.3, 0.4], "limit": 3}
            for want in ("MISS", "HIT"):
                s, h, b = harness.curl(gw.port, "POST", "/collections/c/points/query", q)
                assert s == 200 and h.get("x-cache") == want, (s, h, b)
            up.cleanup()  # Qdrant gone: an uncached search gets a 5xx, qdrant_up says 0
            s, _, b = harness.curl(gw.port, "POST", "/collections/c/points/query",
                                   {"query": [0.4, 0.3, 0.2, 0.1], "limit": 3})
            assert 500 <= s < 600, (s, b)
            s, _, b = harness.curl(gw.port, "GET", "/metrics")
            assert s == 200, b
            cls.series = parse_exposition(b.decode())
        finally:
            gw.cleanup()
            redis.cleanup()
            up.cleanup()
        # A gateway whose Qdrant never answered: its cache bypasses (the state some rules watch).
        gw = harness.start_gateway(harness.free_port())
        try:
            for _ in range(300):
                s, _, b = harness.curl(gw.port, "GET", "/metrics")
                if b'state="bypass",reason="aliases_unreachable"' in b:
                    break
                time.sleep(0.05)
            cls.series += parse_exposition(b.decode())
        finally:
            gw.cleanup()

    def test_every_selector_matches_a_real_series(self):
        recorded = {r["record"] for _, r in rules() if "record" in r}
        names = {n for n, _ in self.series}
        checked = 0
        for group, r in rules():
            expr = r["expr"]
            used = promql_metric_names(expr)
            unknown = used - names - recorded - PROMETHEUS_OWN
            self.assertFalse(unknown, "%s: %s not in the gateway's /metrics" % (r.get("alert", r.get("record")), unknown))
            for name, matchers in selectors(expr):
                if name in PROMETHEUS_OWN or name in recorded:
                    continue
                hit = [l for n, l in self.series if n == name and matches(l, matchers)]
                self.assertTrue(hit, "%s: no series of /metrics matches %s%s" % (r["alert"], name, matchers))
                checked += 1
        self.assertGreaterEqual(checked, 10)


class DashboardTest(unittest.TestCase):
    def load(self):
        return json.loads(read(DASHBOARD))

    def test_alert_list_panel_shows_prometheus_alerts(self):
        need(self, "yaml")
        panels = [p for p in self.load()["panels"] if p["type"] == "alertlist"]
        self.assertEqual(len(panels), 1)
        opts = panels[0]["options"]
        ds = yaml.safe_load(read(DATASOURCES))["datasources"][0]
        # The panel filters on the data source's name; Grafana reads the data source's rules
        # only when it manages alerts.
        self.assertEqual(opts["datasource"], ds["name"])
        self.assertIsNot(ds.get("jsonData", {}).get("manageAlerts"), False)
        self.assertTrue(opts["stateFilter"]["firing"] and opts["stateFilter"]["pending"])
        self.assertEqual(opts["alertName"], "")
        self.assertFalse(opts["dashboardAlerts"])  # Prometheus's rules are tied to no dashboard

    def test_hit_ratio_threshold_is_the_alerts(self):
        panel = [p for p in self.load()["panels"] if p["title"] == "Cache hit ratio"][0]
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        self.assertEqual(steps[-1], {"color": "green", "value": 0.8})


if __name__ == "__main__":
    harness.main()

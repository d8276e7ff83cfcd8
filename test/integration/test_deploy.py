# Deployment files: docker-compose.yml (validated by docker-compose v1), the Dockerfile, every
# file they reference, the Grafana dashboard's metric names and PromQL, the Prometheus config
# (promtool), the Redis config (a real redis-server on loopback), the Qdrant config's keys, the
# systemd unit (systemd-analyze), sysctl.conf, the install rules (`cmake --install --prefix`)
# and the .deb (cpack, then dpkg -i / -t / purge when running as root). No Docker engine needed.
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import harness

try:
    import yaml
except ImportError:  # python3-yaml is in scripts/install-deps' test group
    yaml = None

SRC = harness.SOURCE_DIR
GW_BIN = harness.GW_BIN
BUILD_DIR = os.path.dirname(os.path.abspath(GW_BIN))
COMPOSE = os.path.join(SRC, "docker-compose.yml")
DOCKERFILE = os.path.join(SRC, "Dockerfile")
DASHBOARD = os.path.join(SRC, "docker", "grafana", "dashboards", "qdrant-gateway.json")
UNIT = os.path.join(SRC, "docker", "systemd", "qdrant-gateway.service")
CONF_FILES = ["gateway.yaml", "connection-pools.yaml", "performance.yaml", "caching.yaml",
              "models.yaml"]
# Split so that this file does not hold the prefix it looks for.
PRIVATE_PREFIX = "192." + "168.10."

# The names /metrics exposes (the gateway's, and Qdrant's and Redis's re-exported ones).
HISTOGRAMS = ["qdrant_gateway_http_request_duration_seconds",
              "qdrant_gateway_upstream_request_duration_seconds",
              "rest_responses_duration_seconds"]
METRICS = set([
    "qdrant_gateway_http_requests_total", "qdrant_gateway_http_requests_in_flight",
    "qdrant_gateway_connections", "qdrant_gateway_upstream_errors_total",
    "qdrant_gateway_cache_lookups_total", "qdrant_gateway_cache_entries",
    "qdrant_gateway_cache_bytes", "qdrant_gateway_cache_coalesced_total",
    "qdrant_gateway_cache_invalidations_total", "qdrant_gateway_redis_up",
    "qdrant_gateway_redis_errors_total", "qdrant_gateway_redis_command_duration_seconds_sum",
    "qdrant_gateway_redis_command_duration_seconds_count", "qdrant_gateway_build_info",
    "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
    "process_start_time_seconds", "collections_total", "collections_vector_total",
    "rest_responses_total", "qdrant_up", "redis_used_memory_bytes", "redis_keyspace_hits_total",
    "redis_keyspace_misses_total", "redis_evicted_keys_total", "redis_connected_clients",
    "redis_up"] + [h + s for h in HISTOGRAMS for s in ("_bucket", "_sum", "_count")])
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
                "or", "unless", "offset", "inf", "nan"}
RUNTIME_LIBS = ["libevent-2.1-7", "libevent-openssl-2.1-7", "libevent-pthreads-2.1-7",
                "libcurl4", "libjansson4", "libyaml-0-2", "libssl3", "libnghttp2-14",
                "libhiredis0.14", "libxxhash0", "libprotobuf-c1", "ca-certificates"]


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def run(argv, **kw):
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("timeout", 300)
    r = subprocess.run(argv, **kw)
    out = r.stdout.decode(errors="replace") if r.stdout is not None else ""
    err = r.stderr.decode(errors="replace") if r.stderr is not None else ""
    return r.returncode, out, err


def need_yaml(test):
    if yaml is None:
        test.skipTest("python3-yaml is not installed (scripts/install-deps test)")


def clean_env(**extra):
    """A minimal environment, so variables of the caller's shell cannot leak into compose."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/")}
    env.update(extra)
    return env


def promql_metric_names(expr):
    """The metric names an expression selects: identifiers that are not functions, keywords,
    label names (inside {} or by/without/on/ignoring/group_x ()) or strings."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)          # strings
    e = re.sub(r"\{[^}]*\}", "", e)                         # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                        # ranges, subqueries
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        word = m.group(0)
        after = e[m.end():].lstrip()
        if after.startswith("("):          # a function
            continue
        if word.lower() in PROMQL_WORDS:
            continue
        if m.start() > 0 and (e[m.start() - 1].isdigit() or e[m.start() - 1] == "."):
            continue                          # the exponent of a number like 1e-9
        names.add(word)
    return names


def compose_config(env_file):
    """`docker-compose config` with only env_file's variables; (rc, parsed or None, stderr)."""
    rc, out, err = run(["docker-compose", "--project-directory", SRC, "-f", COMPOSE,
                        "--env-file", env_file, "config"], env=clean_env(), cwd=SRC)
    return rc, (yaml.safe_load(out) if rc == 0 and yaml else None), err


class ComposeTest(unittest.TestCase):
    def setUp(self):
        if not shutil.which("docker-compose"):
            self.skipTest("docker-compose is not installed (scripts/install-deps test)")
        need_yaml(self)
        self.tmp = tempfile.mkdtemp(prefix="gw-deploy-")
        self.empty_env = os.path.join(self.tmp, "empty.env")
        open(self.empty_env, "w").close()

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def check_stack(self, cfg):
        svc = cfg["services"]
        self.assertEqual(set(svc), {"qdrant", "redis", "gateway", "prometheus", "grafana"})
        self.assertRegex(svc["qdrant"]["image"], r"^qdrant/qdrant:v1\.19\.\d+$")
        for name, s in svc.items():
            self.assertIn(s.get("restart"), ("unless-stopped", "always", "on-failure"), name)
            self.assertIn("mem_limit", s, name)
            self.assertIn("cpus", s, name)
            if name != "gateway":  # the gateway's comes from the image (Dockerfile HEALTHCHECK)
                self.assertIn("healthcheck", s, name)
        gw = svc["gateway"]
        self.assertEqual(gw["depends_on"]["qdrant"]["condition"], "service_healthy")
        self.assertEqual(gw["depends_on"]["redis"]["condition"], "service_healthy")
        self.assertEqual(svc["grafana"]["depends_on"]["prometheus"]["condition"], "service_healthy")
        self.assertIn("condition", svc["prometheus"]["depends_on"]["gateway"])
        self.assertTrue(any(p.split(":")[-1] == "8000/tcp" for p in gw["ports"]), gw["ports"])
        self.assertEqual(str(gw["sysctls"]["net.core.somaxconn"]), "65535")
        for k in ("net.ipv4.ip_local_port_range", "net.ipv4.tcp_tw_reuse",
                  "net.ipv4.tcp_max_syn_backlog"):
            self.assertIn(k, gw["sysctls"])
        for s in ("gateway", "qdrant"):
            self.assertEqual(int(svc[s]["ulimits"]["nofile"]["soft"]), 1048576, s)
        vols = cfg.get("volumes", {})
        for v in ("qdrant-storage", "grafana-data"):
            self.assertIn(v, vols)
        self.assertTrue(any(m.startswith("qdrant-storage:/qdrant/storage")
                            for m in svc["qdrant"]["volumes"]))
        self.assertTrue(any(m.startswith("grafana-data:/var/lib/grafana")
                            for m in svc["grafana"]["volumes"]))
        # Services find each other by name: no fixed address, no subnet to collide with a LAN.
        self.assertNotIn("ipam", cfg["networks"]["backend"])
        for name, s in svc.items():
            self.assertIn("backend", s["networks"], name)
            self.assertFalse((s["networks"]["backend"] or {}).get("ipv4_address"), name)
        return svc

    def gateway_sets(self, gw):
        cmd = gw["command"]
        sets = dict(cmd[i + 1].split("=", 1) for i, a in enumerate(cmd) if a == "--set")
        self.assertEqual(cmd[:2], ["-c", "/etc/qdrant-gateway/gateway.yaml"])
        return cmd, sets

    def check_gateway_command(self, cmd):
        """The container's command, with the mounted file in place of its path, passes -t."""
        argv = [GW_BIN] + [os.path.join(SRC, "docker", "gateway", "gateway.yaml")
                           if a == "/etc/qdrant-gateway/gateway.yaml" else a for a in cmd]
        argv.insert(1, "-t")
        rc, out, err = run(argv)
        self.assertEqual(rc, 0, err)

    def test_without_env_the_services_are_named(self):
        # No .env at all: every variable has a default, the gateway's peers are service names.
        rc, cfg, err = compose_config(self.empty_env)
        self.assertEqual(rc, 0, err)
        svc = self.check_stack(cfg)
        cmd, sets = self.gateway_sets(svc["gateway"])
        self.assertEqual(sets["cache.redis.url"], "redis://redis:6379/0")
        self.assertEqual(sets["upstream.url"], "http://qdrant:6333")
        self.check_gateway_command(cmd)

    def test_defaults(self):
        rc, cfg, err = compose_config(os.path.join(SRC, ".env.example"))
        self.assertEqual(rc, 0, err)
        self.assertNotIn("is not set", err)
        svc = self.check_stack(cfg)
        cmd, sets = self.gateway_sets(svc["gateway"])
        self.assertEqual(sets["cache.redis.url"], "redis://redis:6379/0")
        self.assertEqual(sets["upstream.url"], "http://qdrant:6333")
        self.assertEqual(sets["upstream.api_key"], "")
        self.check_gateway_command(cmd)
        # Without .env nothing but the gateway listens beyond the host's loopback.
        for name, s in svc.items():
            for p in s.get("ports", []):
                host = p.rsplit(":", 2)[0]
                self.assertEqual(host, "0.0.0.0" if name == "gateway" else "127.0.0.1", (name, p))

    def test_production_env_example(self):
        rc, cfg, err = compose_config(os.path.join(SRC, "docker", "production.env.example"))
        self.assertEqual(rc, 0, err)
        svc = self.check_stack(cfg)
        cmd, sets = self.gateway_sets(svc["gateway"])
        self.assertTrue(sets["cache.redis.url"].startswith("redis://" + PRIVATE_PREFIX))
        self.assertEqual(int(sets["server.workers"]), int(float(svc["gateway"]["cpus"])))
        self.check_gateway_command(cmd)

    def test_custom_env(self):
        env = os.path.join(self.tmp, "test.env")
        with open(env, "w") as f:
            # Only parsed by docker-compose config, never used: loopback-range stand-ins.
            f.write("GATEWAY_REDIS_URL=redis://redis:6379/1\n"
                    "GATEWAY_PORT=18000\nQDRANT_API_KEY=s3cret\nGATEWAY_WORKERS=3\n"
                    "GATEWAY_CPUS=3\nGRAFANA_ADMIN_PASSWORD=pw\n")
        rc, cfg, err = compose_config(env)
        self.assertEqual(rc, 0, err)
        svc = self.check_stack(cfg)
        cmd, sets = self.gateway_sets(svc["gateway"])
        self.assertEqual(sets["upstream.api_key"], "s3cret")
        self.assertEqual(svc["qdrant"]["environment"]["QDRANT__SERVICE__API_KEY"], "s3cret")
        self.assertEqual(sets["cache.redis.url"], "redis://redis:6379/1")
        self.assertIn("0.0.0.0:18000:8000/tcp", svc["gateway"]["ports"])
        self.check_gateway_command(cmd)

    def test_env_example_lists_every_variable_with_its_default(self):
        """.env.example documents each ${VAR:-default} of docker-compose.yml, same default, and
        sets each required ${VAR:?...}."""
        compose = "\n".join(l for l in read(COMPOSE).splitlines() if not l.lstrip().startswith("#"))
        used = dict(re.findall(r"\$\{([A-Z0-9_]+):-([^}]*)\}", compose))
        required = re.findall(r"\$\{([A-Z0-9_]+):\?[^}]*\}", compose)
        example = read(os.path.join(SRC, ".env.example"))
        for var in required:
            self.assertRegex(example, r"(?m)^%s=\S" % var, var + " is required: set it in .env.example")
        used.update({var: None for var in required})
        documented = dict(re.findall(r"^#?([A-Z0-9_]+)=(.*)$", read(os.path.join(SRC, ".env.example")),
                                     re.M))
        self.assertFalse(re.search(r"\$\{[A-Z0-9_]+\}", compose), "a variable without default")
        for var, default in used.items():
            self.assertIn(var, documented, var)
            if default is not None:
                self.assertEqual(documented[var], default, var)
        prod = re.findall(r"^([A-Z0-9_]+)=", read(os.path.join(SRC, "docker", "production.env.example")),
                          re.M)
        for var in prod:
            self.assertIn(var, used, "production.env.example sets an unused " + var)


class ReferencedFilesTest(unittest.TestCase):
    def test_compose_mounts_exist_and_live_in_docker(self):
        need_yaml(self)
        cfg = yaml.safe_load(read(COMPOSE))
        mounts = []
        for name, s in cfg["services"].items():
            for v in s.get("volumes", []):
                src = v.split(":")[0]
                if src.startswith((".", "/")):
                    mounts.append((name, src, v.split(":")[1]))
            if "build" in s:
                ctx = os.path.join(SRC, s["build"]["context"])
                self.assertTrue(os.path.isdir(ctx))
                self.assertTrue(os.path.isfile(os.path.join(ctx, s["build"]["dockerfile"])))
        self.assertGreaterEqual(len(mounts), 6)
        for name, src, dst in mounts:
            self.assertTrue(src.startswith("./docker/"), "%s mounts %s from outside docker/" % (name, src))
            self.assertTrue(os.path.exists(os.path.join(SRC, src)), "%s: %s is missing" % (name, src))
        # In-container paths that point into the mounts exist too.
        gf = cfg["services"]["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
        self.assertEqual(gf, "/etc/grafana/dashboards/" + os.path.basename(DASHBOARD))
        self.assertIn(("grafana", "./docker/grafana/dashboards", "/etc/grafana/dashboards"), mounts)
        prov = yaml.safe_load(read(os.path.join(SRC, "docker/grafana/provisioning/dashboards/dashboards.yml")))
        self.assertEqual(prov["providers"][0]["options"]["path"], "/etc/grafana/dashboards")
        prom_cmd = cfg["services"]["prometheus"]["command"]
        self.assertIn("--config.file=/etc/prometheus/prometheus.yml", prom_cmd)
        self.assertIn(("prometheus", "./docker/prometheus/prometheus.yml", "/etc/prometheus/prometheus.yml"),
                      mounts)
        self.assertIn(["redis-server", "/usr/local/etc/redis/redis.conf"],
                      [cfg["services"]["redis"]["command"]])
        self.assertIn(("redis", "./docker/redis/redis.conf", "/usr/local/etc/redis/redis.conf"), mounts)
        self.assertIn(("qdrant", "./docker/qdrant/config.yaml", "/qdrant/config/production.yaml"), mounts)
        self.assertIn(("gateway", "./docker/gateway/gateway.yaml", "/etc/qdrant-gateway/gateway.yaml"),
                      mounts)

    def test_dockerfile(self):
        text = read(DOCKERFILE)
        lines = re.sub(r"\\\n", " ", text).splitlines()
        instr = [l.strip() for l in lines if l.strip() and not l.strip().startswith("#")]
        froms = [l for l in instr if l.upper().startswith("FROM ")]
        self.assertEqual(len(froms), 2, froms)
        for f in froms:
            self.assertEqual(f.split()[1], "debian:bookworm-slim", f)
        stage2 = instr[instr.index(froms[1]):]
        stage1 = instr[:instr.index(froms[1])]
        runs1 = " ".join(l for l in stage1 if l.upper().startswith("RUN "))
        # The build stage runs CI's own scripts, and CI (.ci/run -> scripts/test) runs them too.
        self.assertRegex(runs1, r"scripts/install-deps build\b")
        self.assertRegex(runs1, r"scripts/build\b")
        ci = read(os.path.join(SRC, ".ci", "run"))
        self.assertIn("scripts/test", ci)
        test_script = read(os.path.join(SRC, "scripts", "test"))
        self.assertIn("scripts/install-deps", test_script)
        self.assertIn("scripts/build", test_script)
        for l in instr:
            if l.upper().startswith("COPY ") and "--from=" not in l:
                for src in l.split()[1:-1]:
                    self.assertTrue(os.path.exists(os.path.join(SRC, src)), l)
        for script in ("scripts/install-deps", "scripts/build"):
            self.assertTrue(os.access(os.path.join(SRC, script), os.X_OK), script)
        # Runtime stage: the runtime libraries, a non-root user, port 8000, a health check.
        runs2 = " ".join(l for l in stage2 if l.upper().startswith("RUN "))
        for lib in RUNTIME_LIBS:
            self.assertRegex(runs2, r"(^|\s)%s(\s|$)" % re.escape(lib), lib)
        self.assertNotRegex(runs2, r"-dev\b", "no -dev packages at run time")
        users = [l.split()[1] for l in stage2 if l.upper().startswith("USER ")]
        self.assertTrue(users and users[-1].split(":")[0] not in ("root", "0"), users)
        self.assertIn("EXPOSE 8000", stage2)
        hc = [l for l in stage2 if l.upper().startswith("HEALTHCHECK ")]
        self.assertEqual(len(hc), 1)
        self.assertIn("/api/v1/health", hc[0])
        self.assertIn("COPY --from=build /out/ /", stage2)
        ignore = read(os.path.join(SRC, ".dockerignore")).split()
        for pattern in (".git", "build*/", ".env"):
            self.assertIn(pattern, ignore)

    def test_private_addresses_only_where_they_belong(self):
        allowed = {os.path.join("conf", "production.yaml"),
                   os.path.join("docker", "production.env.example")}
        found = set()
        for root, dirs, files in os.walk(SRC):
            rel = os.path.relpath(root, SRC)
            dirs[:] = [d for d in dirs if not (rel == "." and (d.startswith("build") or d == ".git"))
                       and d != "__pycache__"]
            for f in files:
                path = os.path.join(root, f)
                try:
                    with open(path, "rb") as fh:
                        if PRIVATE_PREFIX.encode() in fh.read():
                            found.add(os.path.relpath(path, SRC))
                except OSError:
                    pass
        self.assertEqual(found, allowed)


class GatewayConfigTest(unittest.TestCase):
    PATH = os.path.join(SRC, "docker", "gateway", "gateway.yaml")

    def test_passes_check(self):
        rc, out, err = run([GW_BIN, "-t", "-v", "-c", self.PATH])
        self.assertEqual(rc, 0, err)
        self.assertIn('listen: "0.0.0.0:8000"', out)
        self.assertIn('url: "http://qdrant:6333"', out)

    def test_redis_url_is_the_redis_service(self):
        need_yaml(self)
        cfg = yaml.safe_load(read(self.PATH))
        compose = yaml.safe_load(read(COMPOSE))
        example = dict(re.findall(r"(?m)^#?([A-Z0-9_]+)=(.*)$", read(os.path.join(SRC, ".env.example"))))
        # By service name, in the file, in the compose default and in .env.example alike.
        self.assertEqual(cfg["cache"]["redis"]["url"], "redis://redis:6379/0")
        self.assertEqual(example["GATEWAY_REDIS_URL"], cfg["cache"]["redis"]["url"])
        self.assertIn("redis", compose["services"])
        # The file's values are the compose command's defaults, so -t on either agrees.
        text = read(COMPOSE)
        self.assertIn("cache.redis.url=${GATEWAY_REDIS_URL:-%s}" % cfg["cache"]["redis"]["url"], text)
        self.assertIn("upstream.url=${GATEWAY_UPSTREAM_URL:-%s}" % cfg["upstream"]["url"], text)
        self.assertIn("server.workers=${GATEWAY_WORKERS:-%d}" % cfg["server"]["workers"], text)
        self.assertIn("cpus: ${GATEWAY_CPUS:-%d}" % cfg["server"]["workers"], text)

    def test_a_redis_host_name_is_accepted(self):
        """The compose stack names its services: -t takes redis://redis:6379 (resolved on the
        workers' loops, tested in test_dns.py); a host that is no name at all is refused."""
        rc, out, err = run([GW_BIN, "-t", "-c", self.PATH, "--set", "cache.redis.url=redis://redis:6379/0"])
        self.assertEqual(rc, 0, err)
        rc, out, err = run([GW_BIN, "-t", "-c", self.PATH, "--set", "cache.redis.url=redis://re dis:6379/0"])
        self.assertEqual(rc, 1)
        self.assertIn("neither an IP address nor a host name", err)


class DashboardTest(unittest.TestCase):
    def load(self):
        with open(DASHBOARD, encoding="utf-8") as f:
            return json.load(f)

    def exprs(self, dash):
        out = []
        for p in dash["panels"]:
            for t in p.get("targets") or []:
                out.append((p["title"], t["expr"]))
        return out

    def test_metric_names_are_the_exposed_ones(self):
        dash = self.load()
        exprs = self.exprs(dash)
        self.assertGreater(len(exprs), 20)
        used = set()
        for title, e in exprs:
            names = promql_metric_names(e)
            self.assertTrue(names, (title, e))
            unknown = names - METRICS
            self.assertFalse(unknown, "%s: unknown metric(s) %s in %s" % (title, unknown, e))
            used |= names
        for v in dash["templating"]["list"]:
            m = re.fullmatch(r"label_values\(([A-Za-z_:][A-Za-z0-9_:]*)\s*,\s*\w+\)", v["query"]["query"])
            self.assertTrue(m, v["query"])
            self.assertIn(m.group(1), METRICS)
        # What the dashboard must show.
        for need in ("qdrant_gateway_http_requests_total",            # request and error rate
                     "qdrant_gateway_http_request_duration_seconds_bucket",   # p50/p95/p99
                     "qdrant_gateway_cache_lookups_total",             # hit ratio
                     "qdrant_gateway_upstream_request_duration_seconds_bucket",
                     "collections_total", "collections_vector_total",
                     "redis_used_memory_bytes", "redis_keyspace_hits_total"):
            self.assertIn(need, used)
        text = json.dumps(dash)
        for q in ("0.5", "0.95", "0.99"):
            self.assertIn("histogram_quantile(%s, sum by (le) (rate(qdrant_gateway_http_request_duration_seconds_bucket" % q, text)

    def test_datasource_is_the_provisioned_one(self):
        need_yaml(self)
        prov = yaml.safe_load(read(os.path.join(SRC, "docker/grafana/provisioning/datasources/prometheus.yml")))
        ds = prov["datasources"][0]
        self.assertEqual(ds["url"], "http://prometheus:9090")
        dash = self.load()
        for p in dash["panels"]:
            if p["type"] == "row":
                continue
            self.assertEqual(p["datasource"]["uid"], ds["uid"], p["title"])
        ids = [p["id"] for p in dash["panels"]]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(dash["uid"], "qdrant-gateway")

    def test_promql_parses(self):
        promtool = shutil.which("promtool")
        if not promtool:
            self.skipTest("promtool is not installed (Debian's prometheus package)")
        exprs = [e for _, e in self.exprs(self.load())]
        with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
            f.write("groups:\n- name: dashboard\n  rules:\n")
            for i, e in enumerate(exprs):
                e = e.replace("$__rate_interval", "1m")
                f.write("  - record: dashboard:expr_%d\n    expr: %s\n" % (i, json.dumps(e)))
        try:
            rc, out, err = run([promtool, "check", "rules", f.name])
            self.assertEqual(rc, 0, out + err)
        finally:
            os.unlink(f.name)

    def test_the_name_extractor(self):
        self.assertEqual(promql_metric_names(
            'histogram_quantile(0.99, sum by (le, route_class) (rate(a_bucket{x=~"$y",z="1"}[$__rate_interval])))'
            ' / clamp_min(sum(rate(b_total[5m])), 1e-9) + time() - c offset 5m'),
            {"a_bucket", "b_total", "c"})


class PrometheusTest(unittest.TestCase):
    PATH = os.path.join(SRC, "docker", "prometheus", "prometheus.yml")

    def test_promtool_check_config(self):
        promtool = shutil.which("promtool")
        if not promtool:
            self.skipTest("promtool is not installed (Debian's prometheus package)")
        rc, out, err = run([promtool, "check", "config", self.PATH])
        self.assertEqual(rc, 0, out + err)

    def test_scrapes_the_gateway(self):
        need_yaml(self)
        cfg = yaml.safe_load(read(self.PATH))
        jobs = cfg["scrape_configs"]
        self.assertEqual(len(jobs), 1)
        self.assertEqual(jobs[0].get("metrics_path", "/metrics"), "/metrics")
        self.assertEqual(jobs[0]["static_configs"][0]["targets"], ["gateway:8000"])
        self.assertEqual(jobs[0].get("scrape_interval", cfg["global"]["scrape_interval"]), "15s")


class RedisConfTest(unittest.TestCase):
    def test_redis_server_loads_it(self):
        """A real redis-server with docker/redis/redis.conf, bound to loopback instead."""
        if not shutil.which("redis-server") or not shutil.which("redis-cli"):
            self.skipTest("redis-server is not installed")
        port = harness.free_port()
        conf = os.path.join(SRC, "docker", "redis", "redis.conf")
        p = harness.Proc(["redis-server", conf, "--bind", harness.LOOPBACK, "--port", str(port)],
                         port, "redis")
        try:
            def get(key):
                rc, out, err = run(["redis-cli", "-h", harness.LOOPBACK, "-p", str(port),
                                    "config", "get", key], timeout=10)
                self.assertEqual(rc, 0, err)
                return out.splitlines()[1] if len(out.splitlines()) > 1 else ""
            self.assertEqual(get("maxmemory"), str(8 << 30))
            self.assertEqual(get("maxmemory-policy"), "allkeys-lru")
            self.assertEqual(get("timeout"), "300")
            self.assertEqual(get("save"), "")
            self.assertEqual(get("appendonly"), "no")
        finally:
            p.cleanup()


class QdrantConfigTest(unittest.TestCase):
    # Key paths of Qdrant 1.19's config.yaml (config/config.yaml in its source) used here.
    KNOWN = {"log_level", "storage.storage_path", "storage.snapshots_path",
             "storage.performance.max_search_threads", "storage.performance.optimizer_cpu_budget",
             "storage.optimizers.indexing_threshold_kb", "storage.optimizers.memmap_threshold_kb",
             "storage.hnsw_index.max_indexing_threads", "service.host", "service.http_port",
             "service.grpc_port", "telemetry_disabled"}

    def test_keys_and_tuning(self):
        need_yaml(self)
        cfg = yaml.safe_load(read(os.path.join(SRC, "docker", "qdrant", "config.yaml")))

        def leaves(node, prefix=""):
            for k, v in node.items():
                path = prefix + k
                if isinstance(v, dict):
                    yield from leaves(v, path + ".")
                else:
                    yield path, v
        found = dict(leaves(cfg))
        self.assertFalse(set(found) - self.KNOWN, set(found) - self.KNOWN)
        self.assertEqual(found["storage.optimizers.indexing_threshold_kb"], 20000)
        self.assertEqual(found["storage.optimizers.memmap_threshold_kb"], 200000)
        self.assertIsInstance(found["storage.hnsw_index.max_indexing_threads"], int)
        self.assertEqual(found["storage.storage_path"], "/qdrant/storage")


class SysctlTest(unittest.TestCase):
    WANT = {"net.core.somaxconn": "65535", "fs.file-max": "2097152",
            "net.ipv4.ip_local_port_range": "1024 65535", "net.ipv4.tcp_tw_reuse": "1",
            "vm.swappiness": "10", "vm.dirty_ratio": "15", "vm.dirty_background_ratio": "5",
            "net.ipv4.tcp_max_syn_backlog": "65535"}

    def test_each_setting_is_there_and_commented(self):
        lines = read(os.path.join(SRC, "docker", "sysctl.conf")).splitlines()
        got = {}
        for i, line in enumerate(lines):
            if not line.strip() or line.startswith("#"):
                continue
            key, _, value = (s.strip() for s in line.partition("="))
            got[key] = value
            self.assertTrue(lines[i - 1].startswith("#"), "%s has no comment above it" % key)
            self.assertTrue(os.path.exists("/proc/sys/" + key.replace(".", "/")), key)
        for key, value in self.WANT.items():
            self.assertEqual(got.get(key), value, key)


def parse_unit(text):
    """[(section, key, value)] of a systemd unit file."""
    out, section = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.append((section, key.strip(), value.strip()))
    return out


class SystemdUnitTest(unittest.TestCase):
    def test_parsed(self):
        text = read(UNIT)
        entries = parse_unit(text)
        svc = {}
        for section, k, v in entries:
            if section == "Service":
                svc.setdefault(k, []).append(v)
        want = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                "PrivateTmp": "yes", "LimitNOFILE": "1048576", "Restart": "on-failure",
                "AmbientCapabilities": "", "User": "qdrant-gateway",
                "ExecStartPre": "/usr/bin/qdrant-gateway -t -c /etc/qdrant-gateway/gateway.yaml",
                "ExecStart": "/usr/bin/qdrant-gateway -c /etc/qdrant-gateway/gateway.yaml",
                "ExecReload": "/bin/kill -HUP $MAINPID"}
        for k, v in want.items():
            self.assertEqual(svc.get(k), [v], k)
        self.assertIn("SIGHUP reloads the whole configuration", text)
        self.assertIn(("Install", "WantedBy", "multi-user.target"), entries)

    def test_systemd_analyze_verify(self):
        sa = shutil.which("systemd-analyze")
        if not sa:
            self.skipTest("systemd-analyze is not installed")
        with tempfile.TemporaryDirectory() as d:
            # The binary this suite built stands in for /usr/bin/qdrant-gateway.
            path = os.path.join(d, "qdrant-gateway.service")
            with open(path, "w") as f:
                f.write(read(UNIT).replace("/usr/bin/qdrant-gateway", os.path.abspath(GW_BIN)))
            rc, out, err = run([sa, "verify", path])
            self.assertEqual(rc, 0, err)
            self.assertEqual(err.strip(), "", "systemd-analyze warned")


class InstallTest(unittest.TestCase):
    def install(self, prefix):
        d = tempfile.mkdtemp(prefix="gw-install-")
        self.addCleanup(shutil.rmtree, d, True)
        rc, out, err = run(["cmake", "--install", BUILD_DIR, "--prefix", prefix],
                           env=dict(os.environ, DESTDIR=d))
        self.assertEqual(rc, 0, out + err)
        return d

    def test_prefix_usr_puts_config_in_etc(self):
        d = self.install("/usr")
        for f in CONF_FILES:
            self.assertTrue(os.path.isfile(os.path.join(d, "etc", "qdrant-gateway", f)), f)
        self.assertFalse(os.path.exists(os.path.join(d, "usr", "etc")))
        self.assertFalse(os.path.exists(os.path.join(d, "etc", "qdrant-gateway", "production.yaml")))
        unit = os.path.join(d, "usr", "lib", "systemd", "system", "qdrant-gateway.service")
        self.assertEqual(read(unit), read(UNIT))
        self.assertTrue(os.path.isfile(os.path.join(d, "usr", "lib", "sysusers.d", "qdrant-gateway.conf")))
        binary = os.path.join(d, "usr", "bin", "qdrant-gateway")
        rc, out, err = run([binary, "-t", "-c", os.path.join(d, "etc", "qdrant-gateway", "gateway.yaml")])
        self.assertEqual(rc, 0, err)

    def test_other_prefix_gets_its_own_paths(self):
        d = self.install("/usr/local")
        conf = os.path.join(d, "usr", "local", "etc", "qdrant-gateway", "gateway.yaml")
        self.assertTrue(os.path.isfile(conf))
        unit = read(os.path.join(d, "usr", "local", "lib", "systemd", "system", "qdrant-gateway.service"))
        self.assertIn("ExecStartPre=/usr/local/bin/qdrant-gateway -t -c "
                      "/usr/local/etc/qdrant-gateway/gateway.yaml", unit)


class DebTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("cpack", "dpkg-deb", "dpkg-shlibdeps"):
            if not shutil.which(tool):
                raise unittest.SkipTest(tool + " is not installed")
        cls.tmp = tempfile.mkdtemp(prefix="gw-deb-")
        rc, out, err = run(["cpack", "-G", "DEB", "--config", os.path.join(BUILD_DIR, "CPackConfig.cmake"),
                            "-B", cls.tmp], cwd=cls.tmp, timeout=600)
        debs = [f for f in os.listdir(cls.tmp) if f.endswith(".deb")]
        if rc != 0 or len(debs) != 1:
            shutil.rmtree(cls.tmp, True)
            raise AssertionError("cpack -G DEB failed (%d, %s):\n%s%s" % (rc, debs, out, err))
        cls.deb = os.path.join(cls.tmp, debs[0])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, True)

    def field(self, name):
        rc, out, err = run(["dpkg-deb", "-f", self.deb, name])
        self.assertEqual(rc, 0, err)
        return out.strip()

    def test_contents(self):
        self.assertEqual(self.field("Package"), "qdrant-gateway")
        rc, listing, err = run(["dpkg-deb", "-c", self.deb])
        self.assertEqual(rc, 0, err)
        paths = {line.split()[-1].lstrip(".") for line in listing.splitlines()}
        for p in ["/usr/bin/qdrant-gateway", "/usr/lib/systemd/system/qdrant-gateway.service",
                  "/usr/lib/sysusers.d/qdrant-gateway.conf"] + \
                 ["/etc/qdrant-gateway/" + f for f in CONF_FILES]:
            self.assertIn(p, paths)
        self.assertNotIn("/etc/qdrant-gateway/production.yaml", paths)
        ctl = tempfile.mkdtemp(prefix="gw-deb-control-")
        self.addCleanup(shutil.rmtree, ctl, True)
        rc, out, err = run(["dpkg-deb", "-e", self.deb, ctl])
        self.assertEqual(rc, 0, err)
        self.assertEqual(read(os.path.join(ctl, "conffiles")).split(),
                         ["/etc/qdrant-gateway/" + f for f in CONF_FILES])
        for script in ("postinst", "prerm", "postrm"):
            self.assertTrue(os.access(os.path.join(ctl, script), os.X_OK), script)
        # dpkg-shlibdeps found the runtime libraries; the Docker image installs the same ones.
        depends = {d.strip().split()[0] for d in self.field("Depends").split(",")}
        runtime = set(RUNTIME_LIBS) - {"ca-certificates"}
        self.assertTrue(runtime <= depends, runtime - depends)
        # (A sanitizer build also links libasan/libubsan and the GCC runtime: not the image's.)
        extra = {d for d in depends if d.startswith("lib") and d != "libc6"
                 and not re.match(r"lib(asan|ubsan|lsan|tsan)\d|libgcc-s1$|libstdc\+\+6$", d)}
        self.assertFalse(extra - runtime, "the Dockerfile's runtime stage misses a library the binary links")

    def test_check_deb(self):
        """scripts/check-deb (what .ci/run runs on the release .deb) accepts this package and
        names what a repacked one lacks: no postrm, a prerm that is not executable, no unit."""
        script = os.path.join(SRC, "scripts", "check-deb")
        rc, out, err = run([script, self.deb])
        self.assertEqual(rc, 0, out + err)
        d = tempfile.mkdtemp(prefix="gw-deb-broken-")
        self.addCleanup(shutil.rmtree, d, True)
        tree = os.path.join(d, "tree")
        rc, out, err = run(["dpkg-deb", "-R", self.deb, tree])
        self.assertEqual(rc, 0, err)
        os.unlink(os.path.join(tree, "DEBIAN", "postrm"))
        os.chmod(os.path.join(tree, "DEBIAN", "prerm"), 0o644)
        os.unlink(os.path.join(tree, "usr", "lib", "systemd", "system", "qdrant-gateway.service"))
        broken = os.path.join(d, "broken.deb")
        rc, out, err = run(["dpkg-deb", "--nocheck", "-b", tree, broken])
        self.assertEqual(rc, 0, out + err)
        rc, out, err = run([script, broken])
        self.assertEqual(rc, 1, out + err)
        for what in ("maintainer script postrm", "maintainer script prerm",
                     "/usr/lib/systemd/system/qdrant-gateway.service"):
            self.assertIn("MISSING: " + what, err)
        self.assertNotIn("MISSING: maintainer script postinst", err)

    def test_installs_on_this_machine(self):
        if os.geteuid() != 0:
            self.skipTest("dpkg -i needs root (CI runs as root)")
        if not shutil.which("dpkg"):
            self.skipTest("dpkg is not installed")
        rc, out, _ = run(["dpkg-query", "-W", "-f=${Status}", "qdrant-gateway"])
        if rc == 0 and "installed" in out and "not-installed" not in out:
            self.skipTest("qdrant-gateway is installed on this machine already: not touching it")
        user_existed = run(["getent", "passwd", "qdrant-gateway"])[0] == 0
        group_existed = run(["getent", "group", "qdrant-gateway"])[0] == 0
        try:
            rc, out, err = run(["dpkg", "-i", self.deb])
            self.assertEqual(rc, 0, out + err)
            self.assertEqual(run(["getent", "passwd", "qdrant-gateway"])[0], 0, "no system user")
            st = os.stat("/etc/qdrant-gateway")
            self.assertEqual(st.st_mode & 0o777, 0o750)
            # The unit's ExecStartPre, as the unit's user.
            rc, out, err = run(["runuser", "-u", "qdrant-gateway", "--", "/usr/bin/qdrant-gateway",
                                "-t", "-c", "/etc/qdrant-gateway/gateway.yaml"])
            self.assertEqual(rc, 0, out + err)
            sa = shutil.which("systemd-analyze")
            if sa:
                rc, out, err = run([sa, "verify", "/usr/lib/systemd/system/qdrant-gateway.service"])
                self.assertEqual(rc, 0, err)
        finally:
            rc, out, err = run(["dpkg", "--purge", "qdrant-gateway"])
            self.assertEqual(rc, 0, out + err)
            self.assertFalse(os.path.exists("/etc/qdrant-gateway"))
            self.assertFalse(os.path.exists("/usr/bin/qdrant-gateway"))
            # Debian keeps a package's system user on purge; this test leaves the machine as
            # it found it.
            if not user_existed:
                run(["userdel", "qdrant-gateway"])
            if not group_existed and run(["getent", "group", "qdrant-gateway"])[0] == 0:
                run(["groupdel", "qdrant-gateway"])


class ReadmeTest(unittest.TestCase):
    def test_quick_start_is_two_commands_and_deployment_is_linked(self):
        text = read(os.path.join(SRC, "README.md"))
        quick = text.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
        cmds = [l for l in quick.splitlines() if l.strip()]
        self.assertEqual(len(cmds), 2, cmds)
        self.assertTrue("\n## Deployment\n" in text, "README has no Deployment section")
        deploy = text.split("\n## Deployment\n", 1)[1].split("\n## ", 1)[0]
        for need in ("docs/operations.md", "docker compose up -d", "cpack -G DEB",
                     "systemctl enable --now qdrant-gateway"):
            self.assertTrue(need in deploy, "the Deployment section lacks " + need)
        self.assertTrue(os.path.isfile(os.path.join(SRC, "docs", "operations.md")))


if __name__ == "__main__":
    harness.main()

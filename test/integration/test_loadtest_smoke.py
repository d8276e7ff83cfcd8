# The load-test kit in smoke mode: loadtest/run --smoke starts fake_qdrant, redis-server, this
# build's gateway (cache on, and a second one with the cache off), nginx (plain and proxy_cache)
# and HAProxy on free loopback ports, runs every scenario for about a second per target, and must
# exit 0 (every target answered 2xx everywhere) having written a report with a row per target.
# Timing figures are not asserted: tests never judge wall-clock performance; the full run
# (loadtest/run) does, in its report. Neither git nor gnuplot is required: without git (or
# outside a checkout) the report's commit is "unknown", without gnuplot it has no charts.
import importlib.machinery
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import harness

RUNNER = os.path.join(harness.SOURCE_DIR, "loadtest", "run")
TOOLS = ("wrk", "ab", "h2load", "nginx", "haproxy", "redis-server")
LABELS = {
    "gateway": "gateway",
    "gateway-nocache": "gateway, cache off",
    "nginx": "nginx (keep-alive proxy)",
    "nginx-cache": "nginx proxy_cache",
    "haproxy": "HAProxy (http-reuse always)",
    "direct": "direct (fake_qdrant, no proxy)",
}


def missing_tools():
    return [t for t in TOOLS if not shutil.which(t)]


def ensure_tools():
    """Installs the loadtest packages when something is missing; returns what is still missing."""
    if missing_tools():
        subprocess.call([os.path.join(harness.SOURCE_DIR, "scripts", "install-deps"), "loadtest"],
                        stdin=subprocess.DEVNULL)
    return missing_tools()


class LoadtestSmoke(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        still = ensure_tools()
        if still:
            raise unittest.SkipTest("loadtest tools not installed and not installable here: %s" %
                                    " ".join(still))

    def test_smoke_run_writes_a_report_with_every_target(self):
        out = tempfile.mkdtemp(prefix="qgw-lt-smoke-")
        try:
            r = subprocess.run([sys.executable, RUNNER, "--smoke", "--no-install", "--out", out,
                                "--gateway-bin", harness.GW_BIN, "--fake-bin", harness.FAKE_QDRANT_BIN],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=540)
            log = r.stdout.decode(errors="replace")
            self.assertEqual(r.returncode, 0, "loadtest/run --smoke failed:\n" + log[-6000:])
            self.assertIn("every target answered 2xx", log)
            path = os.path.join(out, "report.md")
            self.assertTrue(os.path.exists(path), "no report.md:\n" + log[-3000:])
            with open(path) as f:
                report = f.read()
            # the fixed-search table has one row per target, with a number in the req/s column
            section = report.split("### fixed", 1)[1].split("\n### ", 1)[0]
            for t, label in LABELS.items():
                self.assertRegex(section, r"\n\| %s \| [\d,]+ \|" % re.escape(label),
                                 "no row for %s in the fixed table:\n%s" % (t, section))
            # every scenario has its table (h2 without direct)
            for sc in ("zipf", "zipf-10k", "miss", "mix", "health", "newconn", "ab", "ab-k", "h2",
                       "models"):
                self.assertIn("\n### %s\n" % sc, report)
            # the model API runs through both gateways (same model): their rows have a number too
            section = report.split("### models\n", 1)[1].split("\n### ", 1)[0]
            for t in ("gateway", "gateway-nocache"):
                self.assertRegex(section, r"\n\| %s \| [\d,]+ \|" % re.escape(LABELS[t]),
                                 "no %s row in the models table:\n%s" % (t, section))
            self.assertIn("## Targets", report)
            # the passthrough rows judge the gateway and add the cache-off gateway's figures
            section = report.split("## Targets", 1)[1].split("\n## ", 1)[0]
            self.assertIn("with the cache off:", section)
            self.assertTrue(os.path.exists(os.path.join(out, "results.json")))
            # the commit: a revision in a checkout with git, "unknown" otherwise
            self.assertRegex(report, r"\| gateway \| [^|]*, git ([0-9a-f]{4,}( \(gateway/common modified\))?|unknown), ")
            if shutil.which("gnuplot"):
                self.assertTrue(os.path.exists(os.path.join(out, "throughput.png")), os.listdir(out))
            else:
                self.assertIn("None: gnuplot is not installed", report)
        finally:
            shutil.rmtree(out, ignore_errors=True)


def load_runner():
    """loadtest/run as a module (it has no .py suffix; its main() runs only as a script)."""
    loader = importlib.machinery.SourceFileLoader("loadtest_run", RUNNER)
    spec = importlib.util.spec_from_loader("loadtest_run", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


class SourceRevision(unittest.TestCase):
    """The report's commit on machines without git or outside a checkout (real git, real dirs)."""

    def setUp(self):
        self.run = load_runner()
        self.tmp = tempfile.mkdtemp(prefix="qgw-lt-rev-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_without_git_on_path(self):
        path = os.environ.get("PATH", "")
        os.environ["PATH"] = self.tmp  # an empty directory: no git
        try:
            self.assertEqual(self.run.source_revision(), "unknown")
        finally:
            os.environ["PATH"] = path

    def test_outside_a_checkout(self):
        if not shutil.which("git"):
            self.skipTest("git is not installed (test_without_git_on_path covers this machine)")
        self.run.ROOT = self.tmp  # a directory that is not a git work tree
        env = {k: os.environ.pop(k) for k in ("GIT_DIR", "GIT_WORK_TREE") if k in os.environ}
        self.addCleanup(os.environ.update, env)
        os.environ["GIT_CEILING_DIRECTORIES"] = os.path.dirname(self.tmp)
        self.addCleanup(os.environ.pop, "GIT_CEILING_DIRECTORIES", None)
        self.assertEqual(self.run.source_revision(), "unknown")


if __name__ == "__main__":
    unittest.main(verbosity=2)

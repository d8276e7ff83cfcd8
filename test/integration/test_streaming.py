# Large bodies stream through the gateway in both directions with backpressure: a snapshot
# download to a slow client and a large upload keep the gateway's memory bounded, and every
# byte arrives intact.
import hashlib
import os
import subprocess
import tempfile
import threading
import time
import unittest

import harness

SNAPSHOT_MB = 256
RSS_GROWTH_LIMIT_KB = 48 * 1024  # "a few MB per transfer", with room for allocator slack


class RssSampler(threading.Thread):
    def __init__(self, proc):
        super().__init__(daemon=True)
        self.proc = proc
        self.peak = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, self.proc.rss_kb())
            except OSError:
                return
            time.sleep(0.02)


def pattern_file(mb):
    f = tempfile.NamedTemporaryFile(prefix="gw-upload-", delete=False)
    block = hashlib.sha256(b"seed").digest() * (1 << 15)  # 1 MiB
    h = hashlib.sha256()
    for i in range(mb):
        chunk = bytes([i & 0xFF]) + block[1:]
        f.write(chunk)
        h.update(chunk)
    f.close()
    return f.name, h.hexdigest()


class StreamingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up = harness.start_fake_qdrant("--snapshot-mb", str(SNAPSHOT_MB))
        cls.gw = harness.start_gateway(cls.up.port, "upstream.timeout=10s", workers=1)
        harness.curl(cls.up.port, "PUT", "/collections/c", {"vectors": {"size": 2, "distance": "Dot"}})
        s, _, b = harness.curl(cls.up.port, "POST", "/collections/c/snapshots")
        assert s == 200, b
        import json
        cls.snapshot = json.loads(b)["result"]["name"]

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.up.cleanup()

    def measure(self, argv):
        base = self.gw.rss_kb()
        sampler = RssSampler(self.gw)
        sampler.start()
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        sampler.stop.set()
        sampler.join()
        self.assertEqual(r.returncode, 0, r.stderr)
        return r, sampler.peak - base

    def test_snapshot_download_slow_client_bounded_memory(self):
        url = "http://127.0.0.1:%d/collections/c/snapshots/%s" % (self.gw.port, self.snapshot)
        direct = "http://127.0.0.1:%d/collections/c/snapshots/%s" % (self.up.port, self.snapshot)
        ref = subprocess.run(["sh", "-c", "curl -sS '%s' | sha256sum" % direct],
                             stdout=subprocess.PIPE, check=True).stdout.split()[0]
        r, growth = self.measure(["sh", "-c", "curl -sS --limit-rate 80M '%s' | sha256sum" % url])
        self.assertEqual(r.stdout.split()[0], ref)
        self.assertLess(growth, RSS_GROWTH_LIMIT_KB, "gateway RSS grew by %d kB" % growth)

    def test_large_upload_content_length_and_chunked(self):
        path, digest = pattern_file(SNAPSHOT_MB)
        try:
            url = "http://127.0.0.1:%d/collections/c/snapshots/upload" % self.gw.port
            for mode in (["--data-binary", "@" + path], ["-T", path, "-X", "POST",
                                                         "-H", "Transfer-Encoding: chunked"]):
                with self.subTest(mode=mode[0]):
                    r, growth = self.measure(["curl", "-sS", "-D", "-", "-o", "/dev/null",
                                              "-H", "Content-Type: application/octet-stream"]
                                             + mode + [url])
                    blocks = r.stdout.decode("latin-1").lower().split("\r\n\r\n")
                    head = [b for b in blocks if b.strip()][-1]  # after any 100 continue
                    self.assertIn(" 200", head.split("\r\n")[0])
                    self.assertIn("x-fake-received-bytes: %d" % (SNAPSHOT_MB << 20), head)
                    self.assertIn("x-fake-received-sha256: %s" % digest, head)
                    self.assertLess(growth, RSS_GROWTH_LIMIT_KB, "RSS grew by %d kB" % growth)
        finally:
            os.unlink(path)


if __name__ == "__main__":
    harness.main()

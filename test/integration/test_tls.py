# The TLS listener (tls.listen): ALPN h2 and http/1.1 with curl, nghttp and h2load, TLS 1.2
# minimum, clients without ALPN (sniffed like cleartext), certificate reload on SIGHUP (a bad
# certificate keeps the old one), and startup errors. Certificates are generated per run into
# a temporary directory: no key is ever committed.
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import harness
from h2client import H2Client


def make_cert(directory, name, cn):
    """A throwaway self-signed P-256 certificate for localhost/127.0.0.1: (cert, key) paths."""
    cert, key = os.path.join(directory, name + ".pem"), os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=" + cn,
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def curl_tls(port, path, cacert, *extra, method="GET", body=None):
    """curl over TLS: (http_version, status, body)."""
    argv = ["curl", "-sS", "--max-time", "30", "--cacert", cacert, "-X", method, "-o", "-",
            "-w", "\n%{http_version} %{http_code}", "https://127.0.0.1:%d%s" % (port, path)]
    if body is not None:
        argv += ["-H", "Content-Type: application/json", "--data-binary", json.dumps(body)]
    r = subprocess.run(argv + list(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError("curl failed (%d): %s" % (r.returncode, r.stderr.decode()))
    out, _, tail = r.stdout.rpartition(b"\n")
    v, s = tail.decode().split()
    return v, int(s), out


def served_cert(port):
    """The PEM certificate a new TLS connection gets (not verified)."""
    return ssl.get_server_certificate(("127.0.0.1", port))


def same_cert(pem, path):
    """Whether pem is the certificate in the file at path."""
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(pem) == ssl.PEM_cert_to_DER_cert(f.read())


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="gw-tls-")
        cls.cert_a = make_cert(cls.dir, "a", "gw-a")
        cls.cert_b = make_cert(cls.dir, "b", "gw-b")
        # The gateway reads these paths; tests swap their contents.
        cls.cert = os.path.join(cls.dir, "live.pem")
        cls.key = os.path.join(cls.dir, "live.key")
        shutil.copy(cls.cert_a[0], cls.cert)
        shutil.copy(cls.cert_a[1], cls.key)
        cls.tls_port = harness.free_port()
        cls.up = harness.start_fake_qdrant()
        cls.gw = harness.start_gateway(cls.up.port, "tls.listen=127.0.0.1:%d" % cls.tls_port,
                                       "tls.cert=" + cls.cert, "tls.key=" + cls.key)
        harness.wait_port(cls.tls_port)
        harness.curl(cls.up.port, "PUT", "/collections/c", {"vectors": {"size": 2, "distance": "Dot"}})
        harness.curl(cls.up.port, "PUT", "/collections/c/points?wait=true",
                     {"points": [{"id": 1, "vector": [1, 0]}, {"id": 2, "vector": [0, 1]}]})

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.up.cleanup()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def tearDown(self):
        self.assertTrue(self.gw.alive(), self.gw.log())

    def test_h2_and_http11_by_alpn(self):
        q = {"query": [1, 0], "limit": 1}
        v, s, b = curl_tls(self.tls_port, "/collections/c/points/query", self.cert, "--http2",
                           method="POST", body=q)
        self.assertEqual((v, s), ("2", 200))
        self.assertEqual(json.loads(b)["result"]["points"][0]["id"], 1)
        v, s, b = curl_tls(self.tls_port, "/collections/c/points/query", self.cert, "--http1.1",
                           method="POST", body=q)
        self.assertEqual((v, s), ("1.1", 200))
        self.assertEqual(json.loads(b)["result"]["points"][0]["id"], 1)
        v, s, b = curl_tls(self.tls_port, "/api/v1/nope", self.cert, "--http2")
        self.assertEqual((v, s), ("2", 404))
        self.assertIn("Not found", json.loads(b)["status"]["error"])
        # The cleartext listener is unchanged.
        self.assertEqual(harness.curl(self.gw.port, "GET", "/collections")[0], 200)

    def test_nghttp_and_h2load_over_tls(self):
        uris = ["https://127.0.0.1:%d/collections/c/points/%d?i=%d" % (self.tls_port, 1 + i % 2, i)
                for i in range(10)]
        r = subprocess.run(["nghttp", "-n", "-s", "-t", "30"] + uris, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        out = r.stdout.decode()
        self.assertEqual(r.returncode, 0, out)
        self.assertEqual(re.findall(r"^\s*\d+\s+\+\S+\s+\+\S+\s+\S+\s+(\d{3})\s", out, re.M),
                         ["200"] * 10, out)
        r = subprocess.run(["h2load", "-n", "300", "-c", "2", "-m", "30",
                            "https://127.0.0.1:%d/collections/c/exists" % self.tls_port],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        out = r.stdout.decode()
        self.assertIn("Application protocol: h2", out)
        self.assertIn("300 succeeded, 0 failed", out)

    def test_protocol_versions(self):
        v, s, _ = curl_tls(self.tls_port, "/healthz", self.cert, "--tlsv1.2", "--tls-max", "1.2")
        self.assertEqual(s, 200)
        with self.assertRaises(RuntimeError):
            curl_tls(self.tls_port, "/healthz", self.cert, "--tlsv1.1", "--tls-max", "1.1")
        ctx = ssl.create_default_context(cafile=self.cert)
        with socket.create_connection(("127.0.0.1", self.tls_port)) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                self.assertEqual(s.version(), "TLSv1.3")

    def test_no_alpn_is_sniffed(self):
        ctx = ssl.create_default_context(cafile=self.cert)  # offers no ALPN
        with socket.create_connection(("127.0.0.1", self.tls_port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                self.assertIsNone(s.selected_alpn_protocol())
                s.sendall(b"GET /collections/c/exists HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                out = harness.recv_all(s)
        self.assertTrue(out.startswith(b"HTTP/1.1 200 "), out)
        raw = socket.create_connection(("127.0.0.1", self.tls_port), timeout=10)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        c = H2Client(self.tls_port, sock=s)  # HTTP/2 by prior knowledge inside TLS
        try:
            st = c.request("GET", "/collections/c/exists")
            self.assertTrue(c.wait([st]))
            self.assertEqual(st.status, 200)
        finally:
            c.close()

    def test_sighup_reloads_certificate(self):
        self.assertTrue(same_cert(served_cert(self.tls_port), self.cert_a[0]))
        # A connection opened before the reload keeps working after it.
        ctx = ssl.create_default_context(cafile=self.cert_a[0])
        ctx.set_alpn_protocols(["h2"])
        raw = socket.create_connection(("127.0.0.1", self.tls_port), timeout=10)
        early = H2Client(self.tls_port, sock=ctx.wrap_socket(raw, server_hostname="localhost"))
        try:
            shutil.copy(self.cert_b[0], self.cert)
            shutil.copy(self.cert_b[1], self.key)
            self.gw.p.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while not same_cert(served_cert(self.tls_port), self.cert_b[0]):
                self.assertLess(time.monotonic(), deadline, "certificate not reloaded")
                time.sleep(0.1)
            v, s, _ = curl_tls(self.tls_port, "/healthz", self.cert_b[0], "--http2")
            self.assertEqual((v, s), ("2", 200))
            st = early.request("GET", "/collections")
            self.assertTrue(early.wait([st]))
            self.assertEqual(st.status, 200)
        finally:
            early.close()
        # A broken pair: the error is logged and the previous certificate stays.
        with open(self.cert, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
        self.gw.p.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "reload failed" not in self.gw.log():
            self.assertLess(time.monotonic(), deadline, self.gw.log())
            time.sleep(0.1)
        self.assertTrue(same_cert(served_cert(self.tls_port), self.cert_b[0]))
        self.assertEqual(curl_tls(self.tls_port, "/healthz", self.cert_b[0])[1], 200)
        # Mismatched key and certificate are refused too.
        shutil.copy(self.cert_a[0], self.cert)
        self.gw.p.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while self.gw.log().count("reload failed") < 2:
            self.assertLess(time.monotonic(), deadline, self.gw.log())
            time.sleep(0.1)
        self.assertTrue(same_cert(served_cert(self.tls_port), self.cert_b[0]))
        shutil.copy(self.cert_b[0], self.cert)


class TlsStartupTest(unittest.TestCase):
    def run_gw(self, *sets):
        argv = [harness.GW_BIN, "--set", "server.listen=127.0.0.1:%d" % harness.free_port(),
                "--set", "server.workers=1"]
        for s in sets:
            argv += ["--set", s]
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)

    def test_missing_files_and_keys(self):
        r = self.run_gw("tls.listen=127.0.0.1:%d" % harness.free_port())
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"tls.cert and tls.key", r.stderr)
        r = self.run_gw("tls.listen=127.0.0.1:%d" % harness.free_port(), "tls.cert=/nonexistent.pem",
                        "tls.key=/nonexistent.key")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"tls.cert /nonexistent.pem", r.stderr)
        r = self.run_gw("tls.listen=8443")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"tls.listen", r.stderr)

    def test_port_in_use(self):
        d = tempfile.mkdtemp(prefix="gw-tls-")
        try:
            cert, key = make_cert(d, "c", "gw")
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                s.listen(1)
                r = self.run_gw("tls.listen=127.0.0.1:%d" % s.getsockname()[1], "tls.cert=" + cert,
                                "tls.key=" + key)
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"cannot listen", r.stderr)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    harness.main()

# Process harness for integration tests: starts real fake_qdrant, qdrant-gateway (and later
# redis-server) on free loopback ports, waits until they answer, and stops them by PID.
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

GW_BIN = os.path.abspath(os.environ.get("GW_BIN", "build/qdrant-gateway"))
FAKE_QDRANT_BIN = os.path.abspath(
    os.environ.get("FAKE_QDRANT_BIN", "build/test/fake_qdrant/fake_qdrant"))
SOURCE_DIR = os.path.abspath(os.environ.get("GW_SOURCE_DIR", os.getcwd()))
# protoc + grpc_python_plugin output for ../shared/qdrant/proto (built by CMake's qdrant_py_stubs).
GRPC_STUBS = os.path.abspath(os.environ.get("GW_GRPC_STUBS", "build/test/grpc_stubs"))
LOOPBACK = "127.0.0.1"
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def grpc_stubs():
    """Makes the generated Qdrant stubs importable (points_service_pb2_grpc, ...)."""
    path = os.path.abspath(GRPC_STUBS)
    if not os.path.exists(os.path.join(path, "qdrant_pb2.py")):
        raise RuntimeError("no gRPC stubs in %s: build the qdrant_py_stubs target" % path)
    if path not in sys.path:
        sys.path.insert(0, path)


def free_port():
    """A TCP port that is free on loopback right now (bound then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def wait_port(port, proc=None, timeout=15.0, host=LOOPBACK):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited with %s before listening on %d" % (proc.returncode, port))
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on %s:%d after %.1fs" % (host, port, timeout))


class Proc:
    """One child process with its stderr captured to a temp file (shown when a test fails)."""

    def __init__(self, argv, port, name, host=LOOPBACK):
        self.argv = argv
        self.port = port
        self.name = name
        self.errfile = tempfile.NamedTemporaryFile(prefix=name + "-", suffix=".log", delete=False)
        # Each child runs in its own directory: whatever it writes there (a Redis replica's
        # dump.rdb after a full sync) never lands in the checkout the tests run from.
        self.rundir = tempfile.mkdtemp(prefix=name + "-run-")
        env = dict(os.environ)
        # Under ASan a small quarantine keeps RSS meaningful for the memory-bound tests.
        env.setdefault("ASAN_OPTIONS", "quarantine_size_mb=16:detect_leaks=1")
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.errfile,
                                  stderr=subprocess.STDOUT, env=env, cwd=self.rundir)
        try:
            wait_port(port, self.p, host=host)
        except Exception:
            self.stop()
            sys.stderr.write(self.log())
            raise

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p.poll() is None

    def log(self):
        try:
            with open(self.errfile.name, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        """Stops the process and returns its exit code (SIGKILL after timeout)."""
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        return self.p.returncode

    def kill(self):
        return self.stop(signal.SIGKILL)

    def sanitized(self):
        """True for a sanitizer build (its shadow memory and redzones inflate RSS)."""
        with open("/proc/%d/maps" % self.p.pid) as f:
            return "libasan" in f.read()

    def rss_kb(self):
        with open("/proc/%d/status" % self.p.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cleanup(self):
        """Stops the process; fails the calling test if a sanitizer reported anything."""
        self.stop()
        self.errfile.close()
        log = self.log()
        try:
            os.unlink(self.errfile.name)
        except OSError:
            pass
        shutil.rmtree(self.rundir, ignore_errors=True)
        for marker in SANITIZER_MARKERS:
            if marker in log:
                raise AssertionError("%s reported a sanitizer error:\n%s" % (self.name, log))


def start_fake_qdrant(*args, port=None):
    port = port or free_port()
    return Proc([FAKE_QDRANT_BIN, "--listen", "%s:%d" % (LOOPBACK, port)] + list(args), port,
                "fake_qdrant")


def start_fake_qdrant_grpc(*args):
    """fake_qdrant serving gRPC as well as REST, once both listen: (Proc, gRPC port)."""
    gport = free_port()
    up = start_fake_qdrant("--grpc-listen", "%s:%d" % (LOOPBACK, gport), *args)
    wait_port(gport, up.p)
    return up, gport


def fake_stats(port):
    """fake_qdrant's /__fake/stats counters."""
    s, _, b = curl(port, "GET", "/__fake/stats")
    assert s == 200, b
    return json.loads(b)


def start_redis(port=None):
    """A throwaway redis-server on loopback: no persistence, no config file."""
    port = port or free_port()
    return Proc(["redis-server", "--port", str(port), "--bind", LOOPBACK, "--save", "",
                 "--appendonly", "no", "--protected-mode", "yes"], port, "redis")


def start_gateway(upstream_port, *sets, port=None, config=None, workers=2):
    """Starts qdrant-gateway with --set overrides only (no YAML written)."""
    port = port or free_port()
    argv = [GW_BIN]
    if config:
        argv += ["-c", config]
    argv += ["--set", "server.listen=%s:%d" % (LOOPBACK, port),
             "--set", "server.workers=%d" % workers,
             "--set", "upstream.url=http://%s:%d" % (LOOPBACK, upstream_port)]
    for s in sets:
        argv += ["--set", s]
    return Proc(argv, port, "gateway")


def curl(port, method, path, body=None, headers=(), extra=(), host=LOOPBACK, timeout=30):
    """Runs the curl CLI; returns (status, headers dict lowercased (last wins), body bytes)."""
    with tempfile.NamedTemporaryFile() as hdr:
        argv = ["curl", "-sS", "--max-time", str(timeout), "-X", method, "-D", hdr.name,
                "-o", "-", "http://%s:%d%s" % (host, port, path)]
        if method == "HEAD":  # headers go to -D; a HEAD answer has no body to print
            argv[argv.index("-X"):argv.index("-X") + 2] = ["-I"]
            argv[argv.index("-o") + 1] = "/dev/null"
        for h in headers:
            argv += ["-H", h]
        if body is not None:
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
                argv += ["-H", "Content-Type: application/json"]
            argv += ["--data-binary", "@-"]
        argv += list(extra)
        inp = body.encode() if isinstance(body, str) else body
        r = subprocess.run(argv, input=inp, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise RuntimeError("curl %s %s failed (%d): %s" % (method, path, r.returncode,
                                                             r.stderr.decode(errors="replace")))
        with open(hdr.name, "rb") as f:
            raw = f.read().decode("latin-1")
    # The last header block is the final response (skips 100 Continue).
    blocks = [b for b in raw.split("\r\n\r\n") if b.strip()]
    lines = blocks[-1].split("\r\n") if blocks else [""]
    status = int(lines[0].split()[1]) if lines[0] else 0
    hdrs = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, r.stdout


def recv_all(sock, timeout=5.0):
    """Returns everything read from sock until close or until timeout passes without data."""
    sock.settimeout(timeout)
    chunks = []
    try:
        while True:
            b = sock.recv(65536)
            if not b:
                break
            chunks.append(b)
    except socket.timeout:
        pass
    return b"".join(chunks)


def raw_exchange(port, data, read_timeout=5.0, host=LOOPBACK):
    """Sends raw bytes on a new connection and returns everything read until close or timeout."""
    with socket.create_connection((host, port), timeout=read_timeout) as s:
        if data:
            s.sendall(data)
        return recv_all(s, read_timeout)


def main():
    unittest.main(verbosity=2)


# ---- Qdrant REST helpers (added with fake_qdrant's own tests; any test may use them) ----------

QDRANT_OPENAPI = os.environ.get(
    "QDRANT_OPENAPI", os.path.join(SOURCE_DIR, "test", "fake_qdrant", "openapi.json"))


def _openapi_to_jsonschema(node):
    """OpenAPI 3.0 → JSON Schema: `nullable: true` becomes a "null" type (or an anyOf branch)."""
    if isinstance(node, list):
        return [_openapi_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _openapi_to_jsonschema(v) for k, v in node.items()}
    if node.pop("nullable", False) is True:
        t = node.get("type")
        if isinstance(t, str):
            node["type"] = [t, "null"]
            if "enum" in node:
                node["enum"] = list(node["enum"]) + [None]
        elif not (set(node) - {"description", "default", "example", "deprecated"}):
            node["type"] = "null"
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


class QdrantSpec:
    """Qdrant 1.19's openapi.json as Draft 7 JSON Schema; validates bodies per operation."""

    def __init__(self, path=QDRANT_OPENAPI):
        import jsonschema  # Debian's python3-jsonschema
        self._js = jsonschema
        with open(path) as f:
            self.doc = _openapi_to_jsonschema(json.load(f))
        self.resolver = jsonschema.RefResolver.from_schema(self.doc)

    def response_schema(self, method, template, status):
        op = self.doc["paths"][template][method.lower()]
        responses = op["responses"]
        resp = responses.get(str(status))
        if resp is None and 400 <= status < 500:
            resp = responses.get("4XX")
        if resp is None:
            resp = responses["default"]
        return resp["content"]["application/json"]["schema"]

    def validate(self, method, template, status, body):
        """Raises jsonschema.ValidationError when body does not match the documented response."""
        schema = self.response_schema(method, template, status)
        self._js.Draft7Validator(schema, resolver=self.resolver).validate(body)

    def validate_schema(self, name, value):
        """Validates value against components.schemas[name]."""
        schema = {"$ref": "#/components/schemas/" + name}
        self._js.Draft7Validator(schema, resolver=self.resolver).validate(value)


class HttpClient:
    """One keep-alive HTTP/1.1 connection (http.client); reconnects when the server closed it."""

    def __init__(self, port, host=LOOPBACK, timeout=30, headers=None):
        import http.client
        self._http = http.client
        self.port, self.host, self.timeout = port, host, timeout
        self.headers = dict(headers or {})
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        """Returns (status, headers dict lowercased, body bytes). A dict/list body is sent as JSON;
        bytes/str as is; an iterator of bytes chunked."""
        hdrs = dict(self.headers)
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = self._http.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                resp = self.conn.getresponse()
                data = resp.read()
                out = {k.lower(): v for k, v in resp.getheaders()}
                if resp.will_close:
                    self.close()
                return resp.status, out, data
            except (self._http.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt:
                    raise

    def json(self, method, path, body=None, headers=None):
        """Like request() but parses the body as JSON (None when empty)."""
        status, hdrs, data = self.request(method, path, body, headers)
        return status, (json.loads(data) if data else None), hdrs

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class CacheClient:
    """One keep-alive connection returning (status, X-Cache, parsed body, headers): for tests of
    answers that may come from the gateway's cache."""

    def __init__(self, port, headers=None):
        self.c = HttpClient(port, headers=headers)

    def req(self, method, path, body=None, headers=None):
        s, h, b = self.c.request(method, path, body, headers)
        try:
            doc = json.loads(b) if b else None
        except ValueError:
            doc = b
        return s, h.get("x-cache"), doc, h

    def close(self):
        self.c.close()


def wait_caching(port, coll="c", headers=None):
    """After a gateway starts, or after a collection was created or deleted or the cache purged,
    reads bypass the cache until the alias list has (re)loaded: a probe search on `coll` that no
    test repeats shows when that is done. Raises after 5 s."""
    c = CacheClient(port, headers=headers)
    probe = {"query": [0, 0, 0, 1], "limit": 1, "offset": 99}
    try:
        for _ in range(500):
            if c.req("POST", "/collections/%s/points/query" % coll, probe)[1] != "BYPASS":
                return
            time.sleep(0.01)
    finally:
        c.close()
    raise AssertionError("reads still bypass the cache")


def load_big_answers(qdrant_port, coll, points, blob):
    """A 2-dimension collection on fake_qdrant whose points each carry `blob` as payload, so a
    query with limit=points and with_payload answers about points * len(blob) bytes."""
    c = HttpClient(qdrant_port)
    s, _, b = c.request("PUT", "/collections/" + coll, {"vectors": {"size": 2, "distance": "Dot"}})
    assert s == 200, b
    pts = [{"id": i, "vector": [1, i + 1], "payload": {"blob": blob}} for i in range(points)]
    s, _, b = c.request("PUT", "/collections/%s/points?wait=true" % coll, {"points": pts})
    assert s == 200, b
    c.close()


def without_time(doc):
    """A Qdrant envelope without its "time" member, for comparisons modulo timing."""
    if isinstance(doc, (bytes, str)):
        doc = json.loads(doc)
    return {k: v for k, v in doc.items() if k != "time"} if isinstance(doc, dict) else doc

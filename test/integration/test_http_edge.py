# HTTP/1.1 front door over raw sockets: framing, pipelining, 100-continue, HEAD, HTTP/1.0,
# and every bad input answered with the right status and a Qdrant-style JSON error, while the
# gateway keeps serving other clients.
import json
import socket
import time
import unittest

import harness

LIMITS = ["limits.max_header_bytes=4KiB", "limits.max_body_bytes=64KiB",
          "limits.header_timeout=1s", "server.keepalive_timeout=2s", "server.max_connections=8"]


def parse_responses(data):
    """Splits a byte stream into [(status, headers, body)] using Content-Length/chunked."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        if status == 100:
            out.append((status, hdrs, b""))
            data = rest
            continue
        if "content-length" in hdrs:
            n = int(hdrs["content-length"])
            body, data = rest[:n], rest[n:]
        elif hdrs.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                size_line, _, rest = rest.partition(b"\r\n")
                n = int(size_line, 16)
                body += rest[:n]
                rest = rest[n + 2:]
                if n == 0:
                    break
            data = rest
        else:
            body, data = rest, b""
        out.append((status, hdrs, body))
    return out


class HttpEdgeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up = harness.start_fake_qdrant()
        cls.gw = harness.start_gateway(cls.up.port, *LIMITS)
        harness.curl(cls.up.port, "PUT", "/collections/c", {"vectors": {"size": 2, "distance": "Dot"}})

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.up.cleanup()

    def tearDown(self):
        # Whatever a test did, the gateway still serves everyone else.
        self.assertTrue(self.gw.alive(), self.gw.log())
        s, _, _ = harness.curl(self.gw.port, "GET", "/collections")
        self.assertEqual(s, 200)

    def exchange(self, data, timeout=5.0):
        return parse_responses(harness.raw_exchange(self.gw.port, data, timeout))

    def assert_json_error(self, resp, status, fragment):
        st, hdrs, body = resp
        self.assertEqual(st, status, body)
        self.assertEqual(hdrs.get("content-type"), "application/json")
        doc = json.loads(body)
        self.assertIn(fragment, doc["status"]["error"])
        self.assertIsInstance(doc["time"], float)

    def test_pipelined_requests_answered_in_order(self):
        reqs = b"".join(b"GET /collections/c/exists HTTP/1.1\r\nHost: x\r\n\r\n"
                        b"GET /nope%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(5))
        reqs += b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        out = self.exchange(reqs)
        self.assertEqual([r[0] for r in out], [200, 404] * 5 + [200])
        self.assertIn(b"qdrant", out[-1][2])

    def test_chunked_request_body(self):
        body = b'{"points":[{"id":1,"vector":[1,2]}]}'
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 7]), body[i:i + 7])
                          for i in range(0, len(body), 7)) + b"0\r\n\r\n"
        out = self.exchange(b"PUT /collections/c/points?wait=true HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                            b"Connection: close\r\n\r\n" + chunks)
        self.assertEqual(out[0][0], 200, out)
        self.assertEqual(json.loads(out[0][2])["result"]["status"], "completed")

    def test_expect_100_continue(self):
        with socket.create_connection(("127.0.0.1", self.gw.port), timeout=5) as s:
            body = b'{"exact":true}'
            s.sendall(b"POST /collections/c/points/count HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % len(body))
            first = s.recv(100)
            self.assertTrue(first.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), first)
            s.sendall(body)
            time.sleep(0.3)
            rest = first[25:] + s.recv(65536)
        out = parse_responses(rest)
        self.assertEqual(out[0][0], 200)
        self.assertEqual(json.loads(out[0][2])["result"], {"count": 1})

    def test_expect_100_over_limit_gets_413_without_continue(self):
        out = self.exchange(b"POST /collections/c/points/count HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Length: 1000000\r\nExpect: 100-continue\r\n\r\n")
        self.assertEqual(len(out), 1)
        self.assert_json_error(out[0], 413, "larger than allowed")

    def test_unknown_expectation(self):
        out = self.exchange(b"POST /collections/c/points/count HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Length: 2\r\nExpect: magic\r\n\r\n{}")
        self.assert_json_error(out[0], 417, "Expectation failed")

    def test_head(self):
        # The gateway's own routes answer HEAD like GET, without a body.
        out = self.exchange(b"HEAD /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(out[0][0], 200)
        self.assertGreater(int(out[0][1]["content-length"]), 0)
        self.assertEqual(out[0][2], b"")

    def test_http10_close_and_keepalive(self):
        out = self.exchange(b"GET /healthz HTTP/1.0\r\n\r\n")
        self.assertEqual(out[0][0], 200)
        self.assertEqual(out[0][2], b"healthz check passed")
        raw = harness.raw_exchange(self.gw.port, b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                                   b"GET /livez HTTP/1.0\r\n\r\n")
        self.assertEqual(raw.count(b"healthz check passed"), 2)

    def test_malformed_request_line(self):
        out = self.exchange(b"GARBAGE\r\n\r\n")
        self.assert_json_error(out[0], 400, "Bad request")
        out = self.exchange(b"GET /x HTTP/1.1\r\nBad Header\r\n\r\n")
        self.assert_json_error(out[0], 400, "Bad request")

    def test_header_section_too_large(self):
        out = self.exchange(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n")
        self.assert_json_error(out[0], 431, "too large")

    def test_body_over_limit_content_length(self):
        out = self.exchange(b"POST /collections/c/points/count HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Length: 70000\r\n\r\n" + b" " * 70000)
        self.assert_json_error(out[0], 413, "larger than allowed")

    def test_body_over_limit_chunked(self):
        chunk = b"%x\r\n%s\r\n" % (16384, b" " * 16384)
        out = self.exchange(b"POST /collections/c/points/count HTTP/1.1\r\nHost: x\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n" + chunk * 5 + b"0\r\n\r\n")
        self.assert_json_error(out[0], 413, "larger than allowed")

    def test_no_request_smuggling(self):
        out = self.exchange(b"POST /collections/c/points/count HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        self.assert_json_error(out[0], 400, "Bad request")
        out = self.exchange(b"POST /collections/c/points/count HTTP/1.1\r\nHost: x\r\n"
                            b"Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}")
        self.assert_json_error(out[0], 400, "Bad request")
        out = self.exchange(b"POST /collections/c/points/count HTTP/1.1\r\nHost: x\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n")
        self.assert_json_error(out[0], 400, "Bad request")

    def test_slow_headers_get_408(self):
        with socket.create_connection(("127.0.0.1", self.gw.port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finished
            data = b""
            while True:
                b = s.recv(4096)
                if not b:
                    break
                data += b
        self.assert_json_error(parse_responses(data)[0], 408, "timeout")

    def test_idle_keepalive_closed(self):
        with socket.create_connection(("127.0.0.1", self.gw.port), timeout=10) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            s.recv(4096)
            start = time.monotonic()
            self.assertEqual(s.recv(4096), b"")  # closed by the gateway, not by us
            self.assertLess(time.monotonic() - start, 9)

    def test_connections_over_limit_refused_others_unharmed(self):
        held = [socket.create_connection(("127.0.0.1", self.gw.port)) for _ in range(8)]
        try:
            time.sleep(0.3)
            extra = harness.raw_exchange(self.gw.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertIn(b"503", extra.split(b"\r\n")[0])
            self.assertIn(b"max_connections", extra)
            held[0].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertIn(b"healthz check passed", held[0].recv(4096))
        finally:
            for s in held:
                s.close()
        time.sleep(0.3)

    def test_absolute_form_accepted_connect_rejected(self):
        # RFC 9112 3.2.2: a server accepts the absolute form and serves its path.
        out = self.exchange(b"GET http://example.com/collections HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(out[0][0], 200, out[0][2])
        self.assertIn(b'"collections"', out[0][2])
        out = self.exchange(b"GET http:///collections HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assert_json_error(out[0], 400, "needs a host")
        out = self.exchange(b"CONNECT example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertIn(out[0][0], (400, 405))

    def test_bad_framing_is_refused_before_it_runs(self):
        # A DELETE whose Transfer-Encoding is not exactly chunked gets 400 and never reaches
        # Qdrant (it used to be dispatched when its headers ended, then refused by the parser).
        harness.curl(self.up.port, "PUT", "/collections/te", {"vectors": {"size": 2, "distance": "Dot"}})
        for te in (b"gzip", b"identity", b"xchunked", b'"chunked"', b"chunked;q=1"):
            out = self.exchange(b"DELETE /collections/te HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te
                                + b"\r\n\r\n")
            self.assert_json_error(out[0], 400, "Transfer-Encoding")
        out = self.exchange(b"DELETE /collections/te HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        self.assert_json_error(out[0], 400, "Transfer-Encoding")  # llhttp or ours
        out = self.exchange(b"DELETE /collections/te HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        self.assert_json_error(out[0], 400, "HTTP/1.0")
        out = self.exchange(b"DELETE /collections/te HTTP/1.1\r\n\r\n")
        self.assert_json_error(out[0], 400, "missing Host")
        out = self.exchange(b"DELETE /collections/te HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
        self.assert_json_error(out[0], 400, "more than one Host")
        out = self.exchange(b"DELETE /collections/te HTTP/2.0\r\nHost: x\r\n\r\n")
        self.assert_json_error(out[0], 505, "HTTP version not supported")
        s, _, _ = harness.curl(self.up.port, "GET", "/collections/te")
        self.assertEqual(s, 200, "a refused DELETE ran upstream")

    def test_upgrade_h2c_answered_in_http11(self):
        out = self.exchange(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                            b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n")
        self.assertEqual(out[0][0], 200)
        self.assertEqual(out[0][2], b"healthz check passed")

    def test_gateway_api_unknown_route(self):
        s, h, b = harness.curl(self.gw.port, "GET", "/api/v1/nope")
        self.assertEqual(s, 404)
        self.assertIn("Not found", json.loads(b)["status"]["error"])


if __name__ == "__main__":
    harness.main()

# What a shared cache may keep (issue 19, items 5 and 6): an answer with Set-Cookie,
# Cache-Control private/no-store/no-cache, a Vary on a header the key does not cover, or a body
# that is not Qdrant's JSON envelope, or a body delimited by the close of the connection (it may
# have been cut short) is relayed but never stored; Vary: Origin (Qdrant's CORS) is
# honoured by keying on Origin, so one origin's Access-Control-Allow-Origin is never replayed to
# another. The upstream is a real HTTP/1.1 server on loopback written here, since fake_qdrant
# answers none of these.
import http.server
import json
import threading
import unittest

import harness

ENVELOPE = b'{"result":{"points":[]},"status":"ok","time":0.0001}'


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, body, headers=(), ctype="application/json"):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/aliases"):
            return self.answer(b'{"result":{"aliases":[]},"status":"ok","time":0.0}')
        return self.answer(b'{"title":"odd","version":"1.19.0"}')

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(n)
        self.server.hits += 1
        mode = self.path.split("/")[2]
        origin = self.headers.get("Origin")
        body, hdrs, ctype = ENVELOPE, [], "application/json"
        if mode == "cookie":
            hdrs = [("Set-Cookie", "session=%d" % self.server.hits)]
        elif mode == "private":
            hdrs = [("Cache-Control", "private, max-age=60")]
        elif mode == "nostore":
            hdrs = [("Cache-Control", "no-store")]
        elif mode == "varyx":
            hdrs = [("Vary", "X-Tenant")]
        elif mode == "varystar":
            hdrs = [("Vary", "*")]
        elif mode == "cors":
            hdrs = [("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")]
            if origin:
                hdrs.append(("Access-Control-Allow-Origin", origin))
        elif mode == "html":
            body, ctype = b"<html>busy</html>", "text/html"
        elif mode == "cut":
            body = b'{"result":{"points":['
        elif mode == "eof":
            # A whole envelope, but delimited by the close: nothing tells it from a cut one.
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(ENVELOPE)
            self.close_connection = True
            return
        self.answer(body, hdrs, ctype)


class Upstream(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__((harness.LOOPBACK, 0), Handler)
        self.hits = 0
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, daemon=True).start()


class ShareableTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up = Upstream()
        cls.gw = harness.start_gateway(cls.up.port, "cache.enabled=true", workers=1)
        harness.wait_caching(cls.gw.port, coll="plain")
        cls.cl = harness.CacheClient(cls.gw.port)

    @classmethod
    def tearDownClass(cls):
        cls.cl.close()
        cls.gw.cleanup()
        cls.up.shutdown()

    def tearDown(self):
        self.assertTrue(self.gw.alive(), self.gw.log())

    def read(self, mode, headers=None, body=None):
        return self.cl.req("POST", "/collections/%s/points/query" % mode,
                           body or {"query": [0.1, 0.2], "limit": 1}, headers)

    def test_plain_answers_are_stored(self):
        self.read("plain", body={"query": [9, 9]})
        self.assertEqual(self.read("plain", body={"query": [9, 9]})[1], "HIT")

    def test_unshareable_answers_are_relayed_never_stored(self):
        for mode in ("cookie", "private", "nostore", "varyx", "varystar", "html", "cut", "eof"):
            before = self.up.hits
            for _ in range(3):
                s, x, _, h = self.read(mode)
                self.assertEqual(s, 200, mode)
                self.assertNotEqual(x, "HIT", mode)
            self.assertEqual(self.up.hits - before, 3, "%s: every read reached Qdrant" % mode)
        # the answer itself is relayed untouched
        s, x, body, h = self.read("eof")
        self.assertEqual(body["status"], "ok")
        s, x, _, h = self.read("cookie")
        self.assertTrue(h.get("set-cookie", "").startswith("session="))

    def test_vary_origin_is_honoured(self):
        a = {"Origin": "https://a.example"}
        b = {"Origin": "https://b.example"}
        self.assertEqual(self.read("cors", a)[1], "MISS")
        s, x, _, h = self.read("cors", a)
        self.assertEqual((x, h.get("access-control-allow-origin")), ("HIT", "https://a.example"))
        s, x, _, h = self.read("cors", b)
        self.assertEqual(x, "MISS", "another origin got the first one's entry")
        self.assertEqual(h.get("access-control-allow-origin"), "https://b.example")
        s, x, _, h = self.read("cors")
        self.assertEqual(x, "MISS")
        self.assertNotIn("access-control-allow-origin", h)


if __name__ == "__main__":
    harness.main()

#!/usr/bin/env python3
"""Writes the hand-made seed corpora of the fuzz targets under test/fuzz/corpus/<name>/.

Run from anywhere: test/fuzz/seeds.py. Files are named after their content's purpose; existing
files are overwritten, others (e.g. inputs a fuzzing run added) are left alone. The HTTP/2 seeds
are frames built here (HPACK literals without Huffman coding), the rest is text."""
import os
import re
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- router: byte 0 = method length, then method, then path ---------------------------------
def route(method, path):
    return bytes([len(method)]) + method.encode() + path.encode()


for name, m, p in [
    ("search", "POST", "/collections/docs/points/search"),
    ("query_batch", "POST", "/collections/my%20coll/points/query/batch"),
    ("scroll_pct", "POST", "/collections/c/points/%73croll"),
    ("get_point", "GET", "/collections/c/points/42"),
    ("upsert", "PUT", "/collections/c/points?wait=true"),
    ("delete_coll", "DELETE", "/collections//c/"),
    ("aliases", "POST", "/collections/aliases"),
    ("snapshot", "GET", "/collections/c/snapshots/s.snapshot"),
    ("gateway_api", "GET", "/api/v1/models"),
    ("health", "GET", "/api/v1/health"),
    ("metrics", "GET", "/metrics"),
    ("root", "GET", "/"),
    ("absolute", "GET", "http://x/collections"),
    ("star", "OPTIONS", "*"),
    ("slash2f", "POST", "/collections/a%2Fb/points/count"),
    ("head", "HEAD", "/collections/c"),
    ("cluster", "POST", "/collections/c/cluster"),
]:
    write("router", name, route(m, p))

# ---- header blocks, as upstream heads and cache entries store them --------------------------
write("hdr_block", "upstream_head",
      "content-type: application/json\r\ncontent-length: 42\r\nvary: Origin, Access-Control-Request-Method\r\n"
      "x-cache: MISS\r\n")
write("hdr_block", "lf_only", "Content-Type: text/plain\nSet-Cookie: a=b\n\nTrailing: x")
write("hdr_block", "odd_lines", ":no-name\r\nno colon here\r\n  Spaced :  value \t \r\nEmpty:\r\nk:v")
write("hdr_block", "cr_runs", "a: b\r\r\nc:\td\t\r\n\r\n\n")

# ---- redis URLs ---------------------------------------------------------------------------
for i, u in enumerate([
    "redis://127.0.0.1:6379/0",
    "redis://:s3cr%2Ft@127.0.0.5:6380/2",
    "redis://[::1]:6379",
    "redis://localhost",
    "redis://[fe80::1]:65535/15",
    "rediss://127.0.0.1:6379",
    "redis://user:pw@127.0.0.1",
    "redis://::1:6379",
    "redis://127.0.0.1:0",
    "redis://127.0.0.1:6379?db=1",
    "redis://:%zz@127.0.0.1",
    "redis://redis.internal:6379",
]):
    write("redis_url", "url%02d" % i, u)

# ---- Prometheus exposition text, as Qdrant and other exporters write it ---------------------
write("prom_merge", "qdrant",
      "# HELP app_info information about qdrant server\n# TYPE app_info gauge\n"
      "app_info{name=\"qdrant\",version=\"1.12.0\"} 1\n"
      "# HELP collections_total number of collections\n# TYPE collections_total gauge\n"
      "collections_total 3\n"
      "# HELP rest_responses_duration_seconds response duration histogram\n"
      "# TYPE rest_responses_duration_seconds histogram\n"
      "rest_responses_duration_seconds_bucket{method=\"POST\",endpoint=\"/collections/{name}/points/search\",le=\"0.005\"} 10\n"
      "rest_responses_duration_seconds_bucket{method=\"POST\",endpoint=\"/collections/{name}/points/search\",le=\"+Inf\"} 12\n"
      "rest_responses_duration_seconds_sum{method=\"POST\",endpoint=\"/collections/{name}/points/search\"} 0.0312\n"
      "rest_responses_duration_seconds_count{method=\"POST\",endpoint=\"/collections/{name}/points/search\"} 12\n")
write("prom_merge", "process",
      "# HELP process_cpu_seconds_total Total user and system CPU time.\n"
      "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 12.47\n"
      "# TYPE qdrant_gateway_requests_total counter\nqdrant_gateway_requests_total 5\n"
      "go_gc_duration_seconds{quantile=\"0.5\"} 4.1e-05 1700000000000\r\n"
      "weird{label=\"with \\\"quotes\\\" and } brace\"} -Inf\n")
write("prom_merge", "broken",
      "# HELP\n# TYPE x\nno_value\nname{unclosed=\"x} 1\nname{} NaN\n1bad 2\nok 1 2 3\n"
      "# comment only\nname{a=\"b\"}1\n")

# ---- requests for the cache key: "METHOD TARGET\nheaders\n\nbody" --------------------------
write("cache_key", "search",
      "POST /collections/docs/points/search?timeout=5&consistency=majority\n"
      "Content-Type: application/json\nApi-Key: k1\n\n"
      "{\"vector\":[0.1,0.2,0.3],\"limit\":10,\"with_payload\":true}")
write("cache_key", "query_lookup",
      "POST /collections/c/points/query\nContent-Type: application/json\nAccept-Encoding: gzip\n\n"
      "{\"query\":{\"recommend\":{\"positive\":[1,2]}},\"lookup_from\":{\"collection\":\"other\"},"
      "\"with_lookup\":\"third\",\"limit\":5}")
write("cache_key", "scroll_empty", "POST /collections/my%20coll/points/scroll\n\n")
write("cache_key", "get_point", "GET /collections/c/points/7?with_vector=true&b=2&a=1\nAuthorization: Bearer t\n\n")
write("cache_key", "bad_json", "POST /collections/c/points/count\n\n{\"exact\":true,}")
write("cache_key", "groups",
      "POST /collections/c//points/search/groups/\n\n"
      "{ \"vector\" : [1, 2.50, -1e-3], \"group_by\":\"doc\", \"limit\":3, \"group_size\":2,"
      " \"with_lookup\":{\"collection\":\"docs\",\"with_payload\":[\"title\"]} }")

# ---- model API: byte 0 flags, client body, NUL, Qdrant's answer ------------------------------
ANS = ("{\"result\":{\"points\":[{\"id\":4,\"version\":2,\"score\":0.9,\"payload\":{\"city\":\"London\"}},"
       "{\"id\":\"2b0c8a5e-0b7f-4e0e-9a53-16ea1d5bd1a1\",\"version\":0,\"score\":-1.25}]},"
       "\"status\":\"ok\",\"time\":0.001}")
BATCH_ANS = ("{\"result\":[{\"points\":[{\"id\":1,\"score\":1.0,\"payload\":{\"a\":1}}]},"
             "{\"points\":[]}],\"status\":\"ok\",\"time\":0.002}")
write("models", "search", b"\x00" + b"{\"query_vector\":[0.1,0.2,0.3,0.4],\"limit\":3,\"with_payload\":true}"
      + b"\x00" + ANS.encode())
write("models", "search_named", b"\x02" + b"{\"query_vector\":[1,2,3],\"filter\":{\"must\":[]},"
      b"\"score_threshold\":0.5,\"offset\":1}" + b"\x00" + ANS.encode())
write("models", "batch", b"\x01" + b"{\"searches\":[{\"query_vector\":[0.1,0.2,0.3,0.4]},"
      b"{\"query_vector\":[1e-3,2,3,4],\"with_payload\":[\"a\"],\"limit\":100}]}" + b"\x00"
      + BATCH_ANS.encode())
write("models", "bad_dims", b"\x00{\"query_vector\":[1,2],\"limit\":0}")
write("models", "bad_field", b"\x03{\"searches\":[{\"query_vector\":[1,2,3],\"lmit\":4}]}")
write("models", "not_object", b"\x00[1,2,3]")
write("models", "answer_only", b"\x05 \x00" + BATCH_ANS.encode())

# ---- configuration files: the shipped ones live in conf/, copied here ------------------------
conf = os.path.join(HERE, "..", "..", "conf")
for f in sorted(os.listdir(conf)):
    if f.endswith(".yaml"):
        with open(os.path.join(conf, f), "rb") as fh:
            # Production addresses stay in the production profile (ground rule 1): loopback here.
            write("config", f, re.sub(rb"192\.168\.10\.(\d+)", rb"127.0.10.\1", fh.read()))
write("config", "includes", "include: [performance.yaml, models.yaml]\nserver:\n  workers: 4\n")
write("config", "include_loop", "include: loop.yaml\n")
write("config", "include_bad", "include:\n  - bad.yaml\n")
write("config", "errors",
      "server:\n  workers: yes\n  listen: \"[::1]:80\"\ncache:\n  ttl: 1.5s\n  local:\n    max_bytes: 1GB\n"
      "models:\n  mini:\n    collection: docs\n    dimension: 4\n    max_limit: 5\n    default_limit: 10\n")
write("config", "anchors", "a: &x 1\nb: *x\n---\nc: 2\n")

# ---- HTTP/1.1 requests ----------------------------------------------------------------------
H1 = {
    "get_health": "GET /api/v1/health HTTP/1.1\r\nHost: gw\r\n\r\n",
    "search_cl": "POST /collections/docs/points/search HTTP/1.1\r\nHost: gw\r\n"
                 "Content-Type: application/json\r\nContent-Length: 35\r\n\r\n"
                 "{\"vector\":[0.1,0.2,0.3],\"limit\":10}",
    "chunked": "POST /collections/c/points/query HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n"
               "Content-Type: application/json\r\n\r\n5\r\n{\"lim\r\n9;ext=1\r\nit\":1}   \r\n0\r\nTrailer: x\r\n\r\n",
    "pipelined": "GET /api/v1/health HTTP/1.1\r\nHost: gw\r\n\r\n"
                 "GET /api/v1/models HTTP/1.1\r\nHost: gw\r\n\r\n"
                 "GET /api/v1/nope HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n",
    "te_gzip": "DELETE /collections/x HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: gzip\r\n\r\n",
    "te_cl": "POST /collections/c/points HTTP/1.1\r\nHost: gw\r\nContent-Length: 4\r\n"
             "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "te_http10": "POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "dash_header": "GET /metrics HTTP/1.1\r\nHost: gw\r\n-: dash\r\nX-Request-Id: abc-123\r\n\r\n",
    "http2_line": "GET / HTTP/2.0\r\nHost: gw\r\n\r\n",
    "no_host": "GET /collections HTTP/1.1\r\n\r\n",
    "two_hosts": "GET /collections HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "absolute": "GET http://gw/collections/c HTTP/1.1\r\nHost: gw\r\n\r\n",
    "connect": "CONNECT gw:443 HTTP/1.1\r\nHost: gw:443\r\n\r\n",
    "expect": "PUT /collections/c/points?wait=true HTTP/1.1\r\nHost: gw\r\nExpect: 100-continue\r\n"
              "Content-Length: 2\r\n\r\n{}",
    "purge": "POST /api/v1/cache/purge HTTP/1.1\r\nHost: gw\r\nApi-Key: admin\r\nContent-Length: 0\r\n\r\n",
    "model_search": "POST /api/v1/models/minilm/vectors/search HTTP/1.1\r\nHost: gw\r\n"
                    "Content-Type: application/json\r\nContent-Length: 26\r\n\r\n{\"query_vector\":[1,2,3]}\r\n",
    "too_big": "POST /collections/c/points/search HTTP/1.1\r\nHost: gw\r\nContent-Length: 99999\r\n\r\n",
    "head": "HEAD /api/v1/health HTTP/1.1\r\nHost: gw\r\n\r\n",
    "keepalive10": "GET /api/v1/health HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /api/v1/health HTTP/1.0\r\n\r\n",
    "bare_lf": "GET /api/v1/health HTTP/1.1\nHost: gw\n\n",
    "obs_fold": "GET /api/v1/health HTTP/1.1\r\nHost: gw\r\nX-A: a\r\n b\r\n\r\n",
    "h2c_upgrade": "GET / HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                   "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
}
for k, v in H1.items():
    write("h1", k, v)


# ---- HTTP/2: frames after the preface --------------------------------------------------------
def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def settings(*pairs, ack=False):
    return frame(4, 1 if ack else 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def hpack_str(s):
    b = s.encode()
    assert len(b) < 127
    return bytes([len(b)]) + b


def hpack(headers):
    out = b""
    for k, v in headers:
        out += b"\x00" + hpack_str(k) + hpack_str(v)  # literal without indexing, new name
    return out


def req(sid, method, path, extra=(), end_stream=True):
    hs = [(":method", method), (":scheme", "http"), (":authority", "gw"), (":path", path)] + list(extra)
    return frame(1, 0x4 | (0x1 if end_stream else 0), sid, hpack(hs))


SET = settings((3, 100), (4, 65535))
H2 = {
    "get_health": SET + req(1, "GET", "/api/v1/health"),
    "two_streams": SET + settings(ack=True) + req(1, "GET", "/api/v1/models") + req(3, "GET", "/metrics"),
    "post_body": SET + req(1, "POST", "/collections/c/points/search",
                           [("content-type", "application/json"), ("content-length", "13")], end_stream=False)
    + frame(0, 0, 1, b"{\"limit\":") + frame(0, 1, 1, b"10}\n"),
    "ping_wu": SET + frame(6, 0, 0, b"12345678") + frame(8, 0, 0, struct.pack(">I", 1 << 20)),
    "rst": SET + req(1, "POST", "/collections/c/points", end_stream=False) + frame(3, 0, 1, struct.pack(">I", 8)),
    "goaway": SET + frame(7, 0, 0, struct.pack(">II", 0, 0)),
    "continuation": SET + frame(1, 0x1, 1, hpack([(":method", "GET"), (":scheme", "http")]))
    + frame(9, 0x4, 1, hpack([(":authority", "gw"), (":path", "/api/v1/health")])),
    "bad_even_stream": SET + req(2, "GET", "/"),
    "priority": SET + frame(2, 0, 3, struct.pack(">IB", 1, 16)) + req(3, "GET", "/api/v1/health"),
    "padded": SET + frame(1, 0x4 | 0x1 | 0x8, 1, b"\x03" + hpack([(":method", "GET"), (":scheme", "http"),
                                                                  (":authority", "gw"), (":path", "/")]) + b"\0\0\0"),
    "connect": SET + frame(1, 0x5, 1, hpack([(":method", "CONNECT"), (":authority", "gw:443")])),
    "te_header": SET + req(1, "GET", "/api/v1/health", [("te", "trailers"), ("connection", "close")]),
    "empty": b"",
}
for k, v in H2.items():
    write("h2", k, v)

# ---- sniffer -------------------------------------------------------------------------------
write("sniff", "preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + SET)
write("sniff", "h1", "GET / HTTP/1.1\r\nHost: gw\r\n\r\n")
write("sniff", "pri_h1", "PRI * HTTP/1.1\r\n\r\n")
write("sniff", "broken_preface", "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n")
write("sniff", "tls", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")

# ---- JWTs: byte 0 = secret index (0: "s3cret"), byte 1 = clock offset, then the token -----
import base64 as _b64
import hashlib as _hl
import hmac as _hmac
import json as _json


def _b64u(b):
    return _b64.urlsafe_b64encode(b).rstrip(b"=")


def jwt(header, claims, key=b"s3cret"):
    msg = _b64u(_json.dumps(header).encode()) + b"." + _b64u(_json.dumps(claims).encode())
    return msg + b"." + _b64u(_hmac.new(key, msg, _hl.sha256).digest())


HS = {"alg": "HS256", "typ": "JWT"}
for name, tok in {
    "global_r": jwt(HS, {"access": "r"}),
    "global_m_exp": jwt(HS, {"access": "m", "exp": 1700000100}),
    "coll_rw": jwt(HS, {"access": [{"collection": "a", "access": "rw"}, {"collection": "b", "access": "prw"}]}),
    "value_exists": jwt(HS, {"value_exists": {"collection": "v", "matches": [{"key": "k", "value": 1}]}}),
    "expired": jwt(HS, {"exp": 1600000000}),
    "nbf": jwt(HS, {"nbf": 1800000000}),
    "wrong_key": jwt(HS, {"access": "r"}, b"nope"),
    "alg_none": jwt({"alg": "none"}, {"access": "m"}),
    "hs512": jwt({"alg": "HS512"}, {"access": "m"}),
    "payload": jwt(HS, {"access": [{"collection": "a", "access": "r", "payload": {"u": 1}}]}),
    "dup": jwt(HS, {"access": [{"collection": "a", "access": "r"}, {"collection": "a", "access": "r"}]}),
    "two_dots": b"a.b",
}.items():
    write("jwt", name, b"\x00\x00" + tok)

# ---- gateway keys: YAML under "auth:\n  keys:\n" ----------------------------------------------
H = "0123456789abcdef" * 4
write("auth_keys", "reader", "    reader:\n      sha256: %s\n      role: read\n" % H)
write("auth_keys", "allowlist", "    w:\n      sha256: %s\n      role: write\n      collections: [a, b]\n" % H)
write("auth_keys", "tenant", "    t:\n      sha256: %s\n      tenant:\n        field: group_id\n        value: acme\n" % H)
write("auth_keys", "bad_role", "    x:\n      sha256: %s\n      role: root\n" % H)
write("auth_keys", "dup_hash", "    a:\n      sha256: %s\n    b:\n      sha256: %s\n" % (H, H.upper()))
write("auth_keys", "no_hash", "    a:\n      role: admin\n")

# ---- L2 entries, generations and invalidation messages, as Redis holds them ---------------------
def l2_entry(inst, key, created_ms, status, gens, hdrs, body):
    hdrs, body = hdrs.encode(), body.encode()
    return (b"QGW1" + inst.encode() + key + struct.pack("<QII", created_ms, status, len(gens))
            + b"".join(struct.pack("<Q", g) for g in gens)
            + struct.pack("<II", len(hdrs), len(body)) + hdrs + body)


L2_HDRS = "content-type: application/json\r\nvary: Origin\r\n"
L2_BODY = '{"result":{"points":[{"id":1,"score":0.9}]},"status":"ok","time":0.001}'
write("l2_entry", "search", l2_entry("00000000deadbeef", bytes(range(32)), 1764000000000, 200,
                                     [1764000000000001, 1764000000000042], L2_HDRS, L2_BODY))
write("l2_entry", "no_deps", l2_entry("0123456789abcdef", b"\xff" * 32, 1, 200, [7], "", "{}"))
write("l2_entry", "status_404", l2_entry("0123456789abcdef", b"\x00" * 32, 5, 404, [1, 2, 3], L2_HDRS, ""))
write("l2_entry", "gen_text", "1764000000000123")
write("l2_entry", "gen_max", "18446744073709551615")
write("l2_entry", "inval", "0123456789abcdef docs")
write("l2_entry", "inval_all", "0123456789abcdef *")
write("l2_entry", "inval_self", "00000000deadbeef docs")

# ---- the alias list, as Qdrant answers GET /aliases ------------------------------------------
write("alias_list", "qdrant",
      '{"result":{"aliases":[{"alias_name":"prod","collection_name":"docs_v2"},'
      '{"alias_name":"staging","collection_name":"docs_v3"}]},"status":"ok","time":0.000012}')
write("alias_list", "empty", '{"result":{"aliases":[]},"status":"ok","time":0}')
write("alias_list", "duplicate", '{"result":{"aliases":[{"alias_name":"a","collection_name":"c1"},'
      '{"alias_name":"a","collection_name":"c2"},{"alias_name":"c2","collection_name":"c2"}]}}')
write("alias_list", "odd_items", '{"result":{"aliases":[1,null,{"alias_name":"a"},'
      '{"alias_name":"b","collection_name":7},{"collection_name":"c","alias_name":"\\u00e9\\ud83d\\ude00"}]}}')
write("alias_list", "no_list", '{"result":{"collections":[]},"status":"ok"}')
write("alias_list", "error", '{"status":{"error":"Forbidden: missing api-key"},"time":0}')
write("alias_list", "not_json", "<html>502 Bad Gateway</html>")

# ---- Redis replies: byte 0 = flags (bit 0 subscribed, bits 1-2 read size, bits 3-5 bound) ----
def bulk(b):
    b = b.encode() if isinstance(b, str) else b
    return b"$%d\r\n" % len(b) + b + b"\r\n"


def arr(*items):
    return b"*%d\r\n" % len(items) + b"".join(items)


ENTRY = l2_entry("0123456789abcdef", bytes(range(32)), 1764000000000, 200, [1764000000000001, 5],
                 "content-type: application/json\r\n", '{"result":[],"status":"ok"}')
CMD_BIG = 7 << 3  # max_reply_bytes 8 KiB
REDIS = {
    "handshake": (0, b"+OK\r\n+OK\r\n+PONG\r\n"),
    "mget": (CMD_BIG, arr(bulk("1764000000000001"), bulk("5"), bulk(ENTRY))),
    "mget_split": (CMD_BIG | 2, arr(bulk("1764000000000001"), b"$-1\r\n", bulk(ENTRY))),
    "mget_missing": (CMD_BIG | 4, arr(b"$-1\r\n", b"$-1\r\n", b"$-1\r\n")),
    "incr_set": (0, b":1764000000000002\r\n+OK\r\n:0\r\n"),
    "error": (0, b"-ERR value is not an integer or out of range\r\n"),
    "role": (0, arr(bulk("master"), b":123\r\n", arr())),
    "subscribe": (1, arr(bulk("subscribe"), bulk("qgw:inval"), b":1\r\n")
                  + arr(bulk("message"), bulk("qgw:inval"), bulk("0123456789abcdef docs"))),
    "message_split": (1 | 6, arr(bulk("message"), bulk("qgw:inval"), bulk("0123456789abcdef *"))),
    "pubsub_junk": (1, arr(bulk("unsubscribe"), bulk("x"), bulk("y")) + b"+PONG\r\n"),
    "huge_array": (0, b"*2000000000\r\n"),
    "huge_bulk": (2, b"$300000000\r\nabc"),
    "nested": (0, arr(arr(arr(arr(arr(arr(arr(b":1\r\n")))))))),
    "resp3": (0, b"%1\r\n+a\r\n+b\r\n,3.14\r\n#t\r\n"),
    "negative": (0, b"$-5\r\n*-3\r\n"),
    "long_line": (2 | (1 << 3), b"+" + b"a" * 300),
}
for k, (flags, v) in REDIS.items():
    write("redis_reply", k, bytes([flags]) + v)

# ---- upstream answers: byte 0 = request (bits 0-1: search, point GET, HEAD, write) and write
# size (bits 2-3: whole, 1, 7, 100 bytes), then what "Qdrant" answers -------------------------
def answer(status, headers, body=b"", reason="OK"):
    body = body.encode() if isinstance(body, str) else body
    head = "HTTP/1.1 %d %s\r\n" % (status, reason) + "".join("%s: %s\r\n" % h for h in headers)
    return head.encode() + b"\r\n" + body


SEARCH = '{"result":[{"id":1,"version":0,"score":0.99}],"status":"ok","time":0.000123}'
JSON_CL = [("content-type", "application/json"), ("content-length", str(len(SEARCH))),
           ("vary", "accept-encoding, Origin, Access-Control-Request-Method")]
UPSTREAM = {
    "search": (0, answer(200, JSON_CL, SEARCH)),
    "search_split": (1 << 2, answer(200, JSON_CL, SEARCH)),
    "point_chunked": (1 | (2 << 2), answer(200, [("content-type", "application/json"),
                                                 ("transfer-encoding", "chunked")],
                                           "1a\r\n" + SEARCH[:26] + "\r\n%x\r\n" % (len(SEARCH) - 26)
                                           + SEARCH[26:] + "\r\n0\r\n\r\n")),
    "continue_then_ok": (0, b"HTTP/1.1 100 Continue\r\n\r\n" + answer(200, JSON_CL, SEARCH)),
    "close_delimited": (1, answer(200, [("content-type", "application/json")], SEARCH)),
    "gzip": (0, answer(200, [("content-type", "application/json"), ("content-encoding", "gzip"),
                             ("vary", "accept-encoding"), ("content-length", "10")],
                       b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03")),
    "private": (0, answer(200, [("cache-control", "private, max-age=0"), ("set-cookie", "a=b"),
                                ("content-length", "2")], "{}")),
    "head": (2, answer(200, [("content-type", "application/json"), ("content-length", "120")])),
    "write": (3, answer(200, [("content-type", "application/json"), ("content-length", "57")],
                        '{"result":{"operation_id":7,"status":"completed"},"time":0}')),
    "hop_by_hop": (0, answer(200, [("connection", "keep-alive, x-secret"), ("x-secret", "1"),
                                   ("keep-alive", "timeout=5"), ("proxy-authenticate", "x"),
                                   ("te", "trailers"), ("upgrade", "h2c"), ("content-length", "2")],
                             "{}")),
    "no_content": (3, answer(204, [("content-length", "0")])),
    "not_found": (1, answer(404, [("content-type", "application/json"), ("content-length", "62")],
                            '{"status":{"error":"Not found: Collection `al` doesn\'t exist!"}}')),
    "cut_body": (0, answer(200, [("content-length", "500")], SEARCH)),
    "leftover": (1 | (3 << 2), answer(200, [("content-length", "2")], "{}") + b"HTTP/1.1 200 OK\r\n\r\n"),
    "two_lengths": (0, answer(200, [("content-length", "2"), ("content-length", "3")], "{}")),
    "te_and_cl": (0, answer(200, [("transfer-encoding", "chunked"), ("content-length", "3")],
                            "2\r\n{}\r\n0\r\n\r\n")),
    "obs_fold": (0, b"HTTP/1.1 200 OK\r\nx-a: b\r\n  folded\r\ncontent-length: 2\r\n\r\n{}"),
    "lf_only": (0, b"HTTP/1.1 200 OK\ncontent-length: 2\n\n{}"),
    "status_999": (0, answer(999, [("content-length", "2")], "{}", "Odd")),
    "http10": (0, b"HTTP/1.0 200 OK\r\ncontent-type: application/json\r\n\r\n{}"),
    "garbage": (0, b"SSH-2.0-OpenSSH_9.2\r\n"),
    "empty": (0, b""),
}
for k, (flags, v) in UPSTREAM.items():
    write("upstream", k, bytes([flags]) + v)

# ---- graphql: byte 0 = limits (fuzz_graphql.c), then the document ----------------------------
GQL = {
    "shorthand": "{ collections { name pointsCount } }",
    "search_vars": "query Find($v: [Float!]! = [0.1, 0.2], $n: Int = 3, $f: JSON) {\n"
    "  hits: search(collection: \"docs\", vector: $v, limit: $n, filter: $f) { id score payload }\n}",
    "fragments": "query { ...Q } fragment Q on Query { collections { ...C ... on Collection { status } } }"
    " fragment C on Collection { name __typename }",
    "directives": "query ($x: Boolean!) { collections { name @include(if: $x) status @skip(if: true) } }",
    "mutation": "mutation { upsertPoints(collection: \"c\", points: [{id: 1, vector: [1, 2], payload: {a: \"b\"}}])"
    " { status operationId } deletePoints(collection: \"c\", ids: [\"6a1a4d2c-9a6e-4ef3-8a3b-0b1c2d3e4f50\"]) { status } }",
    "introspection": "{ __schema { queryType { name } types { name kind fields(includeDeprecated: true)"
    " { name args { name defaultValue type { kind name ofType { kind name ofType { name } } } } } } } }",
    "strings": "{ count(collection: \"\\u00e9\\u{1F600}\\uD83D\\uDE00\\n\", filter: {a: \"\"\"\n  block\n   \\\"\"\"\n\"\"\"}) }",
    "conflict": "{ collections { name: status } collections { name } a: count(collection: \"x\") a: count(collection: \"y\") }",
    "cycle": "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
    "bad_number": "{ count(collection: \"c\", limit: 01.e) }",
    "unterminated": "{ count(collection: \"c",
    "nested_lists": "{ f(a: [[[[[[[[{x: [[[1]]]}]]]]]]]]) }",
}
for i, (k, v) in enumerate(GQL.items()):
    write("graphql", k, bytes([i * 7 & 0x3F]) + v.encode())

# ---- grpc_frame: options, chunk size, max message (u16 BE), then the stream ----------------
def grpc(payload, compressed=0):
    return bytes([compressed]) + struct.pack(">I", len(payload)) + payload


GRPC = {
    "one": b"\x00\x07\x10\x00" + grpc(b"\x0a\x03abc"),
    "three": b"\x00\x01\x10\x00" + grpc(b"hello") + grpc(b"") + grpc(b"x" * 300),
    "too_large": b"\x00\x40\x00\x10" + grpc(b"y" * 17),
    "compressed": b"\x00\x03\x10\x00" + grpc(b"zz", 1),
    "compressed_ok": b"\x01\x03\x10\x00" + grpc(b"zz", 1),
    "bad_flag": b"\x00\x05\x10\x00" + b"\x02" + struct.pack(">I", 1) + b"q",
    "truncated_prefix": b"\x00\x02\x10\x00\x00\x00\x00",
    "truncated_message": b"\x00\x02\x10\x00" + grpc(b"abcdef")[:8],
    "timeout": b"\x00\x01\x10\x00" + b"500m",
    "timeout_hours": b"\x00\x01\x10\x00" + b"99999999H",
}
for k, v in GRPC.items():
    write("grpc_frame", k, v)

# ---- grpc_canon: method selector byte, then a request message ------------------------------
def pb_str(field, v):
    return bytes([field << 3 | 2, len(v)]) + v


GCANON = {
    # Search: collection_name, vector (packed), limit
    "search": b"\x00" + pb_str(1, b"c") + b"\x12\x08" + struct.pack("<2f", 1, 0) + b"\x20\x03",
    # the same, fields reversed and the vector unpacked
    "search_reordered": b"\x00\x20\x03" + b"\x15" + struct.pack("<f", 1) + b"\x15" +
                        struct.pack("<f", 0) + pb_str(1, b"c"),
    "count": b"\x03" + pb_str(1, b"coll") + b"\x18\x01",
    "scroll_twice_named": b"\x02" + pb_str(1, b"a") + pb_str(1, b"b"),
    "query_lookup": b"\x07" + pb_str(1, b"c") + b"\x6a\x03\x0a\x01x",
    "upsert": b"\x08" + pb_str(1, b"c"),
    "truncated": b"\x00\x0a\x09ab",
    "bad_wire_type": b"\x00\x0f",
    "empty": b"\x04",
    # found by the fuzzer: a NUL inside collection_name (protoc-c cuts it: two names, one key)
    "nul_in_string": b"\x03\x0a\x0a\x04ol\x00\x01j\x11` l\x18\x01",
    "field_zero": b"\x06\x82\x00\x00",  # field number 0 in a non-minimal varint key
}
for k, v in GCANON.items():
    write("grpc_canon", k, v)

# ---- tenant: byte 0 = route index in fuzz_tenant.c's table, then the body -------------------
TENANT_OPS = ["search_points", "search_batch_points", "search_point_groups", "search_matrix_pairs",
              "query_points", "query_batch_points", "query_points_groups", "recommend_points",
              "recommend_batch_points", "discover_points", "discover_batch_points", "facet",
              "scroll_points", "count_points", "upsert_points", "delete_points", "update_vectors",
              "delete_vectors", "set_payload", "overwrite_payload", "delete_payload",
              "clear_payload", "batch_update"]
for name, op, body in [
    ("search", "search_points", '{"vector":[1,2],"filter":{"must":[{"key":"c","match":{"value":1}}]}}'),
    ("query_prefetch", "query_points",
     '{"prefetch":[{"query":[1],"prefetch":{"query":[2]}}],"query":{"fusion":"rrf"}}'),
    ("query_id", "query_points", '{"query":{"nearest":7}}'),
    ("batch", "search_batch_points", '{"searches":[{"vector":[1]},{"vector":[2],"filter":{}}]}'),
    ("escape", "scroll_points",
     '{"filter":{"should":[{"key":"group_id","match":{"value":"other"}}]}}'),
    ("min_should", "count_points",
     '{"filter":{"min_should":{"conditions":[{"is_empty":{"key":"group_id"}}],"min_count":1}}}'),
    ("recommend", "recommend_points", '{"positive":[[1]],"negative":[3]}'),
    ("discover", "discover_points", '{"target":[1],"context":[{"positive":[1],"negative":[2]}]}'),
    ("upsert", "upsert_points",
     '{"points":[{"id":1,"vector":[1],"payload":{"group_id":"acme"}}]}'),
    ("upsert_batch", "upsert_points",
     '{"batch":{"ids":[1],"vectors":[[1]],"payloads":[{"group_id":"acme"}]}}'),
    ("delete_ids", "delete_points", '{"points":[1,"5c56c793-69f3-4fbf-87e6-c4bf54c28c26"]}'),
    ("set_payload", "set_payload", '{"payload":{"c":1},"key":"meta","points":[1]}'),
    ("delete_payload", "delete_payload", '{"keys":["c"],"filter":{}}'),
    ("batch_update", "batch_update",
     '{"operations":[{"delete":{"points":[2]}},{"update_vectors":{"points":[{"id":1,"vector":[1]}]}}]}'),
]:
    write("tenant", name, bytes([TENANT_OPS.index(op)]) + body.encode())

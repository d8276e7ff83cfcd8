#!/usr/bin/env python3
"""Opens N keep-alive connections to 127.0.0.1:PORT one after the other: each sends one request
and reads its whole answer before the next connection opens (so the server never has more than
one request in flight and what it keeps afterwards is what an idle connection costs), then all
stay open and idle. Prints "ready N" once every connection has its answer (or "failed ..." and
exits 1), then waits until its standard input closes, closes everything and exits.
loadtest/run measures the target's RSS before and after to get the memory per idle connection."""
import argparse
import resource
import socket
import sys


def read_answer(s):
    """Reads one HTTP/1.1 answer with a Content-Length body (what every target sends here)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = s.recv(65536)
        if not data:
            raise OSError("connection closed before the answer's head")
        buf += data
    head, _, body = buf.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0]
    length = None
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    if length is None:
        raise OSError("answer without Content-Length: %r" % status)
    while len(body) < length:
        data = s.recv(65536)
        if not data:
            raise OSError("connection closed in the answer's body")
        body += data
    if not status.split()[1].startswith(b"2"):
        raise OSError("answer %r" % status)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("-n", type=int, default=1000)
    p.add_argument("--path", default="/")
    a = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < a.n + 64:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, a.n + 64), hard))
    req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % (a.path, a.port)).encode()
    socks = []
    try:
        for _ in range(a.n):
            s = socket.create_connection(("127.0.0.1", a.port), timeout=10)
            s.sendall(req)
            read_answer(s)
            socks.append(s)
    except OSError as e:
        print("failed after %d connections: %s" % (len(socks), e), flush=True)
        return 1
    print("ready %d" % len(socks), flush=True)
    sys.stdin.read()  # until loadtest/run closes our stdin
    for s in socks:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

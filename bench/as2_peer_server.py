#!/usr/bin/env python3
"""A minimal pyas2lib AS2 receiver: the "peer" flux-gateway's AS2 intake is benchmarked against.

For each POST it runs pyas2lib's Message().parse() (decrypt, verify, decompress, duplicate check),
writes the payload durably (temp file, fsync, rename, fsync of the directory; the file name is
derived from (AS2-From, Message-ID), which is also the duplicate check), and answers with the
MDN pyas2lib builds (signed when the sender asked for it), headers and body in one write with
TCP_NODELAY (Nagle plus delayed ACK would add ~40 ms per request otherwise). An async MDN request
is acknowledged at once and the MDN POSTed to its Receipt-Delivery-Option (loopback only).

Pre-forks --workers processes (default: one per core) that share one listening socket, each a
stdlib ThreadingHTTPServer with HTTP/1.1 keep-alive. Stops on SIGTERM/SIGINT or after
--max-seconds. Prints {"listening": URL, ...} on stdout once it accepts connections.

    .venv/bin/python bench/as2_peer_server.py --port 0 --key srv.key.pem --cert srv.cert.pem \
        --partner ACME=partner.cert.pem --out /tmp/peer-out
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pyas2lib import Message, Organization, Partner


def post_async_mdn(mdn) -> None:
    u = urllib.parse.urlsplit(mdn.mdn_url)
    if u.hostname not in ("127.0.0.1", "localhost", "::1"):
        print(f"as2_peer_server: refusing async MDN URL off loopback: {mdn.mdn_url}", file=sys.stderr)
        return
    body = mdn.content
    headers = {k: " ".join(str(v).split()) for k, v in mdn.headers.items()}
    headers["Content-Length"] = str(len(body))
    for attempt in range(3):
        try:
            c = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=10)
            c.request("POST", (u.path or "/") + (("?" + u.query) if u.query else ""), body=body, headers=headers)
            r = c.getresponse()
            r.read()
            c.close()
            if 200 <= r.status < 300:
                return
        except OSError:
            pass
        time.sleep(0.5 * (attempt + 1))
    print(f"as2_peer_server: async MDN to {mdn.mdn_url} not delivered", file=sys.stderr)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 = any free port (printed)")
    ap.add_argument("--as2-id", default="PEER", help="our AS2 id (AS2-To of incoming messages)")
    ap.add_argument("--key", required=True, help="our private key PEM (decrypts, signs MDNs)")
    ap.add_argument("--cert", required=True, help="our certificate PEM")
    ap.add_argument("--partner", action="append", required=True, metavar="AS2ID=CERT.pem",
                    help="a sending partner and its certificate (repeatable)")
    ap.add_argument("--out", required=True, help="directory for received payloads")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--max-seconds", type=float, default=3600)
    ap.add_argument("--no-fsync", action="store_true", help="skip fsync (not durable; for comparison only)")
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM) ...")
    ap.add_argument("--tls-key", help="... and this key (PEM)")
    a = ap.parse_args()
    # a failed message is answered with an error MDN; pyas2lib would also log its traceback
    logging.getLogger("pyas2lib").setLevel(logging.CRITICAL)

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    key = Path(a.key).read_bytes() + b"\n" + Path(a.cert).read_bytes()
    org = Organization(as2_name=a.as2_id, sign_key=key, decrypt_key=key)
    partners = {}
    for p in a.partner:
        pid, _, cert = p.partition("=")
        pem = Path(cert).read_bytes()
        partners[pid] = Partner(as2_name=pid, verify_cert=pem, encrypt_cert=pem)

    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((a.host, a.port))
    lsock.listen(256)
    port = lsock.getsockname()[1]
    if a.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        lsock = ctx.wrap_socket(lsock, server_side=True)

    def payload_path(partner_id: str, message_id: str) -> Path:
        return out / (hashlib.sha256(f"{partner_id}\0{message_id}".encode()).hexdigest()[:32] + ".msg")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, fmt, *args):
            pass

        def _read_body(self) -> bytes:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def _reply(self, code: int, reason: str, headers: list, body: bytes):
            head = [f"HTTP/1.1 {code} {reason}", f"Content-Length: {len(body)}"]
            head += [f"{k}: {' '.join(str(v).split())}" for k, v in headers if k.lower() != "content-length"]
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)   # one write

        def do_POST(self):
            body = self._read_body()
            raw = "".join(f"{k}: {v}\r\n" for k, v in self.headers.items()).encode() + b"\r\n" + body
            msg = Message()
            try:
                status, (exc, _tb), mdn = msg.parse(
                    raw,
                    find_org_cb=lambda as2_to: org if as2_to == org.as2_name else None,
                    find_partner_cb=lambda as2_from: partners.get(as2_from),
                    find_message_cb=lambda mid, pid: payload_path(pid, mid).exists())
            except Exception as e:  # noqa: BLE001 - malformed beyond what pyas2lib reports
                self._reply(400, "Bad Request", [("Content-Type", "text/plain")], f"{e!r}\n".encode())
                return
            if status == "processed":
                final = payload_path(msg.sender.as2_name, msg.message_id)
                tmp = final.with_name(final.name + f".tmp{os.getpid()}.{threading.get_ident()}")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                try:
                    os.write(fd, msg.content)
                    if not a.no_fsync:
                        os.fsync(fd)
                finally:
                    os.close(fd)
                os.rename(tmp, final)
                if not a.no_fsync:
                    dfd = os.open(out, os.O_RDONLY)
                    try:
                        os.fsync(dfd)
                    finally:
                        os.close(dfd)
            if mdn is None:
                if status == "processed":
                    self._reply(200, "OK", [("Content-Type", "text/plain")], b"")
                else:
                    self._reply(400, "Bad Request", [("Content-Type", "text/plain")], f"{status}: {exc}\n".encode())
                return
            if mdn.mdn_mode == "ASYNC":
                # acknowledge now, POST the MDN to Receipt-Delivery-Option afterwards (3 tries)
                self._reply(200, "OK", [("Content-Type", "text/plain")], b"")
                threading.Thread(target=post_async_mdn, args=(mdn,), daemon=True).start()
                return
            self._reply(200, "OK", list(mdn.headers.items()), mdn.content)

    class Server(ThreadingHTTPServer):
        daemon_threads = True

    children = []
    for _ in range(max(1, a.workers)):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
            signal.signal(signal.SIGINT, lambda *_: os._exit(0))
            srv = Server((a.host, port), Handler, bind_and_activate=False)
            srv.socket.close()
            srv.socket = lsock
            try:
                srv.serve_forever(poll_interval=0.5)
            finally:
                os._exit(0)
        children.append(pid)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    scheme = "https" if a.tls_cert else "http"
    print(json.dumps({"listening": f"{scheme}://{a.host}:{port}/", "port": port, "workers": len(children),
                      "pid": os.getpid()}), flush=True)
    stop.wait(a.max_seconds)
    for pid in children:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.time() + 10
    for pid in children:
        while time.time() < deadline:
            if os.waitpid(pid, os.WNOHANG)[0]:
                break
            time.sleep(0.05)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

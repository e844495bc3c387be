#!/usr/bin/env python3
"""sftp_hostile: the SFTP rows of the hostile-input test (Tests/IntegrationTests/HostileInputTests).

Logs in with paramiko as a partner and tries what an attacker (or a broken client) would: path
traversal, absolute paths, a symlink planted in the drop zone, very long names, NUL bytes,
SYMLINK requests, an unknown request type, an oversized packet. Prints one JSON object:
{case: {"observed": "...", "seconds": t}}. Every wait is bounded.
"""
from __future__ import annotations

import argparse
import json
import socket
import struct
import sys
import time

import paramiko
from paramiko import sftp as sftp_const


def connect(a):
    t = paramiko.Transport(("127.0.0.1", a.port))
    t.banner_timeout = 10
    t.connect(username=a.user, pkey=paramiko.Ed25519Key.from_private_key_file(a.key))
    return t


def status_of(fn) -> str:
    try:
        r = fn()
        return f"ok {r!r}"[:200]
    except IOError as e:  # paramiko maps SFTP status codes to IOError/OSError subclasses
        return f"{type(e).__name__}: {e}"[:300]
    except Exception as e:  # noqa: BLE001
        return f"{type(e).__name__}: {e}"[:300]


def raw_packet(t: paramiko.Transport, payload: bytes, declared_len: int | None = None, wait: float = 10) -> str:
    """Opens an sftp subsystem channel, sends INIT, then `payload` framed (or a bare length
    header claiming `declared_len`), and reports what came back: a STATUS, or a closed channel."""
    ch = t.open_session(timeout=10)
    ch.settimeout(wait)
    ch.invoke_subsystem("sftp")
    ch.sendall(struct.pack(">IBI", 5, sftp_const.CMD_INIT, 3))
    hdr = ch.recv(4)
    n = struct.unpack(">I", hdr)[0]
    while n > 0:
        n -= len(ch.recv(n))
    start = time.monotonic()
    if declared_len is not None:
        ch.sendall(struct.pack(">I", declared_len) + payload)
    else:
        ch.sendall(struct.pack(">I", len(payload)) + payload)
    try:
        head = b""
        while len(head) < 4:
            chunk = ch.recv(4 - len(head))
            if not chunk:
                return f"channel closed by the server after {time.monotonic() - start:.2f} s"
            head += chunk
        n = struct.unpack(">I", head)[0]
        body = b""
        while len(body) < n:
            chunk = ch.recv(n - len(body))
            if not chunk:
                break
            body += chunk
        ptype = body[0]
        if ptype == sftp_const.CMD_STATUS:
            rid, code = struct.unpack(">II", body[1:9])
            mlen = struct.unpack(">I", body[9:13])[0]
            msg = body[13:13 + mlen].decode(errors="replace")
            return f"STATUS id={rid} code={code} {msg}"
        return f"packet type {ptype}"
    except socket.timeout:
        return f"no answer within {wait} s"
    finally:
        ch.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--key", required=True)
    a = ap.parse_args()
    out: dict = {}

    def case(name, fn):
        t0 = time.monotonic()
        obs = fn()
        out[name] = {"observed": obs, "seconds": round(time.monotonic() - t0, 3)}

    t = connect(a)
    s = paramiko.SFTPClient.from_transport(t)
    s.get_channel().settimeout(15)
    case("dotdot", lambda: status_of(lambda: s.open("/inbox/../../../../etc/passwd", "r").read(64)))
    case("absolute", lambda: status_of(lambda: s.open("/etc/passwd", "r").read(64)))
    case("dotdot-write", lambda: status_of(lambda: s.open("/inbox/../outbox/../../escape.xml", "w").write(b"x")))
    # the test plants outbox/planted -> /etc and outbox/planted-file -> /etc/passwd on disk
    case("planted-symlink-dir", lambda: status_of(lambda: s.open("/outbox/planted/passwd", "r").read(64)))
    case("planted-symlink-file", lambda: status_of(lambda: s.open("/outbox/planted-file", "r").read(64)))
    case("planted-symlink-list", lambda: status_of(lambda: sorted(x for x in s.listdir("/outbox") if x.startswith("planted"))))
    case("long-name", lambda: status_of(lambda: s.open("/inbox/" + "a" * 5000 + ".xml", "w").write(b"x")))
    case("nul-byte", lambda: status_of(lambda: s.open("/inbox/evil\x00.xml", "w").write(b"x")))
    case("symlink-request", lambda: status_of(lambda: s.symlink("/etc/passwd", "/inbox/link")))
    # raw packets on a second channel of the same connection
    case("unknown-type", lambda: raw_packet(t, bytes([250]) + struct.pack(">I", 77) + b"junk"))
    case("oversized-packet", lambda: raw_packet(t, bytes([sftp_const.CMD_WRITE]) + b"\0" * 64, declared_len=100_000_000))
    try:
        s.close()
        t.close()
    except Exception:  # noqa: BLE001
        pass
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

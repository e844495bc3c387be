#!/usr/bin/env python3
"""torture load: the senders of the crash-consistency test (Tests/IntegrationTests/TortureTests).

Drives every input of a running flux-gateway at once while the test kills and restarts it, and
behaves like real, careful senders: a message that was not acknowledged is sent again, the same
bytes under the same identity, until it is. Runs until STOP_FILE exists, then finishes what is in
flight and writes one JSON report:

  as2_sync    pyas2lib, signed + AES-256-CBC, signed sync MDN; acknowledged = positive MDN
  as2_async   same with an async MDN to the test's mdn-server; acknowledged = HTTP 200
  sftp        paramiko put into /inbox; acknowledged = the put (CLOSE) succeeded
  dropzone    temp file + rename into the inbox; acknowledged when the rename is done
  queue       a consumer claiming sealed batches and acking them; acked = HTTP 200 on ack

Every invoice carries a unique number (TORT-<channel>-<n>) so the test can count each one in the
database. Nothing here retries forever: each message has a deadline, and a message that misses it
is reported as "gave_up" (which the test treats as a failure).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "as2peer"))
import as2peer  # noqa: E402

logging.getLogger("pyas2lib").setLevel(logging.CRITICAL)
logging.getLogger("paramiko").setLevel(logging.CRITICAL)

PER_MESSAGE_DEADLINE = 120.0   # seconds a sender keeps retrying one message
# as2peer captures the entities pyas2lib signs by patching module functions for the duration of a
# build: two threads building at once would see each other's entities (and MICs).
BUILD_LOCK = threading.Lock()


class Report:
    def __init__(self):
        self.lock = threading.Lock()
        self.data: dict[str, list] = {"as2_sync": [], "as2_async": [], "sftp": [], "dropzone": [], "queue_acked": [],
                                      "gave_up": [], "errors": []}

    def add(self, key: str, item):
        with self.lock:
            self.data[key].append(item)


def invoice(template: bytes, number: str) -> bytes:
    return template.replace(b"FA-2026-000123", number.encode())


def as2_sender(a, mode: str, stop: threading.Event, report: Report, template_path: str):
    base = ["send", "--url", a.as2_url, "--from", "ACME", "--to", "GATEWAY", "--partner-key", a.partner_key,
            "--partner-cert", a.partner_cert, "--server-cert", a.server_cert, "--sign", "sha256", "--encrypt", "aes_256_cbc",
            "--signed-mdn", "--mdn-micalg", "sha256", "--file", template_path]
    if mode == "async":
        base += ["--mdn", "async", "--mdn-url", a.mdn_url, "--state-dir", a.mdn_state]
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd")
    as2peer.add_build_args(sub.add_parser("send"))
    n = 0
    while not stop.is_set():
        n += 1
        number = f"TORT-AS2{mode[0].upper()}-{n:05d}"
        args = ap.parse_args(base + ["--invoice-number", number, "--message-id", f"<torture-{mode}-{n}@acme.test>"])
        with BUILD_LOCK:
            built = as2peer.build_from_args(args)
        deadline = time.monotonic() + PER_MESSAGE_DEADLINE
        attempts = 0
        while True:
            attempts += 1
            outcome = None
            try:
                status, _, headers, body = as2peer.post(a.as2_url, built, None, 15)
                if mode == "sync" and status == 200:
                    v = as2peer.analyze_mdn(headers, body, built.state(), built.pyas2lib_message)
                    disp = v.get("disposition") or v.get("status")
                    if v.get("processed") and v.get("signature_ok") and v.get("mic_ok"):
                        outcome = "processed"
                    else:
                        outcome = (f"not verified: {disp} signature_ok={v.get('signature_ok')} {v.get('signature_detail')} "
                                   f"mic_ok={v.get('mic_ok')} {v.get('error', '')}")
                elif mode == "async" and status == 200:
                    outcome = "accepted"
                # 5xx: the gateway said it did not take the message; try again
            except Exception as e:  # noqa: BLE001 - connection refused/reset while the gateway is down
                outcome = None
                last = repr(e)
            if outcome is not None:
                report.add(f"as2_{mode}", {"number": number, "message_id": built.message_id, "outcome": outcome, "attempts": attempts})
                break
            if time.monotonic() > deadline:
                report.add("gave_up", {"channel": f"as2_{mode}", "number": number, "last": locals().get("last")})
                break
            time.sleep(0.2)
        time.sleep(a.pause)


def sftp_sender(a, stop: threading.Event, report: Report, template: bytes):
    import paramiko
    key = paramiko.Ed25519Key.from_private_key_file(a.sftp_key)
    n = 0
    while not stop.is_set():
        n += 1
        number = f"TORT-SFTP-{n:05d}"
        data = invoice(template, number)
        deadline = time.monotonic() + PER_MESSAGE_DEADLINE
        attempts = 0
        while True:
            attempts += 1
            ok = False
            t = None
            try:
                t = paramiko.Transport(("127.0.0.1", a.sftp_port))
                t.banner_timeout = 5
                t.auth_timeout = 5
                t.connect(username="acme", pkey=key)
                s = paramiko.SFTPClient.from_transport(t)
                s.get_channel().settimeout(15)
                f = s.open(f"/inbox/tort-sftp-{n:05d}.xml", "wb")
                f.write(data)
                f.flush()
                # paramiko's close() swallows a failed status: send CLOSE here and check it,
                # as the acknowledgement is the CLOSE status
                f._closed = True
                s._request(paramiko.sftp.CMD_CLOSE, f.handle)
                ok = True
                s.close()
            except Exception as e:  # noqa: BLE001
                last = repr(e)
            finally:
                if t is not None:
                    try:
                        t.close()
                    except Exception:  # noqa: BLE001
                        pass
            if ok:
                report.add("sftp", {"number": number, "attempts": attempts})
                break
            if time.monotonic() > deadline:
                report.add("gave_up", {"channel": "sftp", "number": number, "last": locals().get("last")})
                break
            time.sleep(0.3)
        time.sleep(a.pause)


def dropzone_sender(a, stop: threading.Event, report: Report, template: bytes):
    n = 0
    while not stop.is_set():
        n += 1
        number = f"TORT-DZ-{n:05d}"
        name = f"tort-dz-{n:05d}.xml"
        tmp = Path(a.inbox) / (name + ".part")
        tmp.write_bytes(invoice(template, number))
        os.rename(tmp, Path(a.inbox) / name)
        report.add("dropzone", {"number": number, "name": name})
        time.sleep(a.pause)


def queue_consumer(a, stop: threading.Event, report: Report):
    token = Path(a.token_file).read_text().strip()

    def call(method: str, path: str):
        req = urllib.request.Request(a.admin_url + path, method=method, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"null")

    while not stop.is_set():
        try:
            status, batches = call("POST", "/v1/batches/claim?max=4&lease=3&consumer=torture")
            for b in batches or []:
                st, acked = call("POST", f"/v1/batches/{b['id']}/ack")
                if st == 200:
                    report.add("queue_acked", b["id"])
        except Exception:  # noqa: BLE001 - down, or a lease that expired during a kill (409)
            pass
        time.sleep(0.3)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--as2-url", required=True)
    ap.add_argument("--partner-key", required=True)
    ap.add_argument("--partner-cert", required=True)
    ap.add_argument("--server-cert", required=True)
    ap.add_argument("--mdn-url", required=True)
    ap.add_argument("--mdn-state", required=True)
    ap.add_argument("--sftp-port", type=int, required=True)
    ap.add_argument("--sftp-key", required=True)
    ap.add_argument("--inbox", required=True)
    ap.add_argument("--admin-url", required=True)
    ap.add_argument("--token-file", required=True)
    ap.add_argument("--template", required=True, help="the invoice; FA-2026-000123 is replaced by each number")
    ap.add_argument("--stop-file", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--pause", type=float, default=0.05, help="seconds between two messages of one sender")
    ap.add_argument("--max-seconds", type=float, default=600)
    a = ap.parse_args()
    template = Path(a.template).read_bytes()
    if b"FA-2026-000123" not in template:
        print("template lacks FA-2026-000123", file=sys.stderr)
        return 2
    if as2peer.SAMPLE_INVOICE_NUMBER != "FA-2026-000123":
        print("as2peer replaces another sample number", file=sys.stderr)
        return 2
    Path(a.mdn_state).mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    report = Report()
    threads = [
        threading.Thread(target=as2_sender, args=(a, "sync", stop, report, a.template), daemon=True),
        threading.Thread(target=as2_sender, args=(a, "async", stop, report, a.template), daemon=True),
        threading.Thread(target=sftp_sender, args=(a, stop, report, template), daemon=True),
        threading.Thread(target=dropzone_sender, args=(a, stop, report, template), daemon=True),
        threading.Thread(target=queue_consumer, args=(a, stop, report), daemon=True),
    ]
    for t in threads:
        t.start()
    end = time.monotonic() + a.max_seconds
    while not Path(a.stop_file).exists() and time.monotonic() < end:
        time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join(PER_MESSAGE_DEADLINE + 30)
        if t.is_alive():
            report.add("errors", f"sender {t.name} did not finish")
    Path(a.out).write_text(json.dumps(report.data, indent=1))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"error": repr(e)}), file=sys.stderr)
        raise

#!/usr/bin/env python3
"""Intake benchmark: N invoices (UBL, CII and Factur-X PDF, a third each, every one with its own
number) dropped into a drop zone, through claim, spool, inspection, rules, one transaction and the
signed receipts.

Starts the gateway (release build) on a fresh state directory with its production defaults
(SQLite synchronous=FULL, fsync of every original and receipt, intake concurrency as configured),
renames the files into the inbox as fast as it can, waits until every one has its invoice receipt,
and prints invoices/s, the close -> receipt latency (p50/p99) and the daemon's peak RSS.
The Factur-X PDFs are made with pikepdf (the embedded factur-x.xml rewritten per number).

    .venv/bin/python bench/intake_bench.py [--bin .build/release/flux-gateway] [-n 10000] [--json-out F]

Loopback and a temporary directory only; bounded by --timeout.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

repo = pathlib.Path(__file__).resolve().parent.parent


def peak_rss_mb(pid: int) -> float:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def make_inputs(shared: pathlib.Path, staged: pathlib.Path, n: int) -> list[str]:
    import pikepdf
    cii = (shared / "corpus/invoices/fr-generated/FR-CII-EN16931-B2B-simple.xml").read_bytes()
    ubl = (shared / "corpus/invoices/fr-generated/FR-UBL-EN16931-B2B-simple.xml").read_bytes()
    pdf_path = shared / "corpus/facturx-pdf/generated/facturx-FR-EN16931.pdf"
    names = []
    pdf = pikepdf.open(pdf_path)
    stream = pdf.attachments["factur-x.xml"].obj.EF.F
    pdf_xml = stream.read_bytes()
    for i in range(n):
        kind = i % 3
        number = f"BENCH-{i:07d}"
        if kind == 0:
            name = f"inv{i:06d}.xml"
            (staged / name).write_bytes(cii.replace(b"FA-2026-000123", number.encode()))
        elif kind == 1:
            name = f"inv{i:06d}.ubl.xml"
            (staged / name).write_bytes(ubl.replace(b"FA-2026-000124", number.encode()))
        else:
            name = f"inv{i:06d}.pdf"
            data = pdf_xml.replace(b"FA-2026-000123", number.encode())
            stream.write(data)
            if "/Params" in stream:
                stream.Params.Size = len(data)
            pdf.save(staged / name)
        names.append(name)
    return names


def commit_groups(port: int) -> tuple[int, int] | None:
    """(transactions, writes) from the gateway's metrics, once its maintenance pass (every 0.1-1 s) has
    published them; None when the endpoint does not answer."""
    time.sleep(1.2)
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return None
    vals = {}
    for line in text.splitlines():
        for k in ("flux_store_commits_total", "flux_store_committed_writes_total"):
            if line.startswith(k + " ") or line.startswith(k + "{"):
                vals[k] = vals.get(k, 0) + int(float(line.rsplit(" ", 1)[1]))
    if len(vals) < 2:
        return None
    return vals["flux_store_commits_total"], vals["flux_store_committed_writes_total"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=str(repo / ".build/release/flux-gateway"))
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--shared", default=os.environ.get("FLUX_SHARED", str(repo.parent / "shared")))
    ap.add_argument("--json-out")
    ap.add_argument("--receipt-key", choices=["separate", "identity"], default="separate",
                    help="the receipts' signing key: a separate ECDSA P-256 key the gateway generates (receipt_key, as in the "
                         "example config), or the RSA-2048 gateway identity")
    ap.add_argument("--concurrency", type=int, help="[intake] concurrency of the gateway (default: its own default)")
    ap.add_argument("--tmp-dir", help="parent of the scratch directory")
    ap.add_argument("--keep-scratch", action="store_true", help="leave the scratch directory for the caller to remove (bench/run removes all of them at the end: a mass deletion on this journal-less ext4 slows every file creation of the next scenario)")
    a = ap.parse_args()
    root = pathlib.Path(tempfile.mkdtemp(prefix="flux-intake-bench-", dir=a.tmp_dir))
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    (root / "etc/partners.d").mkdir(parents=True)
    receipt_key = 'receipt_key = "keys/receipts.key.pem"\nreceipt_cert = "keys/receipts.cert.pem"\n'
    (root / "etc/gateway.toml").write_text('[gateway]\nstate_dir = "../var"\n'
                                           + (receipt_key if a.receipt_key == "separate" else "")
                                           + f'[admin]\nlisten = "127.0.0.1:{port}"\n[logging]\nlevel = "warning"\n'
                                           + (f"[intake]\nconcurrency = {a.concurrency}\n" if a.concurrency else ""))
    (root / "etc/partners.d/bench.toml").write_text('name = "VENDEUR EXEMPLE SAS"\naddress = "1 rue X, Paris"\nsiren = "100000009"\n'
                                                     '[dropzone]\ncompletion = "rename"\n')
    staged = root / "staged"
    staged.mkdir()
    t = time.time()
    names = make_inputs(pathlib.Path(a.shared), staged, a.n)
    print(f"made {a.n} invoices in {time.time() - t:.1f}s", file=sys.stderr)
    proc = subprocess.Popen([a.bin, "serve", "--config", str(root / "etc/gateway.toml")], stderr=open(root / "log", "w"))
    try:
        inbox = root / "var/dropzones/bench/inbox"
        outbox = root / "var/dropzones/bench/outbox"
        deadline = time.time() + 30
        while not inbox.is_dir() and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        closed: dict[str, float] = {}
        seen: dict[str, float] = {}
        t0 = time.time()
        for name in names:
            os.rename(staged / name, inbox / name)
            closed[name] = time.time()
        # the invoice receipt (one CDAR per invoice) is the "-001" document; its mtime is when it landed
        deadline = t0 + a.timeout
        while len(seen) < a.n and time.time() < deadline and proc.poll() is None:
            scan = time.time()
            for e in os.scandir(outbox):
                if e.name.endswith("-001.cdar.xml"):
                    src = e.name.split(".")[0]
                    if src not in seen:
                        seen[src] = e.stat().st_mtime
            # Times come from the receipts' mtimes, so polling less often changes no figure; it
            # keeps this scan of a growing outbox (40,000 files at the end) under a fifth of a
            # core instead of taking up to a third of one from the gateway on the same 2 cores.
            time.sleep(max(0.05, 4 * (time.time() - scan)))
        rss = peak_rss_mb(proc.pid)
        groups = commit_groups(port)
        done = {n.split(".")[0]: closed[n] for n in names}
        if len(seen) < a.n:
            print(f"only {len(seen)}/{a.n} receipts within {a.timeout}s", file=sys.stderr)
            return 1
        t1 = max(seen.values())
        lat = sorted(seen[k] - done[k] for k in seen)
        res = {"invoices": a.n, "seconds": t1 - t0, "invoices_per_s": a.n / (t1 - t0),
               "p50_ms": lat[len(lat) // 2] * 1000, "p99_ms": lat[int(len(lat) * 0.99) - 1] * 1000, "peak_rss_mb": rss}
        print(f"intake: {a.n} invoices (UBL, CII, Factur-X PDF) in {res['seconds']:.1f}s: {res['invoices_per_s']:.0f} invoices/s; "
              f"close->receipt p50 {res['p50_ms']:.0f} ms, p99 {res['p99_ms']:.0f} ms; peak RSS {rss:.0f} MB")
        if groups:
            res["commits"], res["committed_writes"] = groups
            print(f"group commits: {groups[0]} transactions for {groups[1]} writes ({groups[1] / max(1, groups[0]):.2f} per commit)")
        if a.json_out:
            pathlib.Path(a.json_out).write_text(json.dumps(res, indent=1))
        return 0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        if not a.keep_scratch:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

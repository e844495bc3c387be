#!/usr/bin/env python3
"""AS2 receive benchmark: flux-gateway against a pyas2lib peer, side by side, plus the RSA bound.

For each target (the gateway at --gateway-url, and the pyas2lib server bench/as2_peer_server.py
that this script starts itself) it:
  1. prebuilds N (+ warm-up) AS2 messages with pyas2lib BEFORE timing: the French CII sample
     invoice (~8 KB, its number varied per message so none is a duplicate), signed sha256,
     AES-256-CBC encrypted, signed sync MDN requested (micalg sha256);
  2. sends them over --connections keep-alive HTTP/1.1 connections from one asyncio loop (raw
     sockets: the client stays cheap so the servers get the CPU);
  3. checks every response is HTTP 200 + multipart/signed MDN + "Disposition: ...; processed";
  4. after the timed region, verifies every --sample-every'th MDN fully (pyas2lib Mdn.parse, openssl
     cms -verify against the server cert, Received-content-MIC vs the MIC of the signed entity).
Then `openssl speed rsa2048` gives the RSA bound: each message costs two RSA private operations
on the receiver (decrypt the CEK, sign the MDN), so bound = private ops/s over all cores / 2.

    .venv/bin/python bench/as2_bench.py                        # peer only (proves the harness)
    .venv/bin/python bench/as2_bench.py --gateway-url http://127.0.0.1:PORT/as2 \
        --gateway-cert GW.cert.pem --partner-key ACME.key.pem --partner-cert ACME.cert.pem \
        [--gateway-as2-id GATEWAY] [--partner-as2-id ACME] [--gateway-pid PID]

Everything stays on 127.0.0.1; every loop is bounded by --timeout.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts/as2peer"))
import as2peer  # noqa: E402


# ---------------------------------------------------------------------------------------------
# prebuilding (2 processes: RSA signing dominates)

_W: dict = {}


def _init_worker(key, cert, server_cert):
    import logging
    logging.getLogger("pyas2lib").setLevel(logging.CRITICAL)
    _W["sender"] = as2peer.Sender(key, cert, server_cert)
    _W["tmpl"] = padded(as2peer.load_payload(None, None)[0], int(os.environ.get("FLUX_BENCH_PAYLOAD_KB", "0")))


def padded(invoice: bytes, kb: int) -> bytes:
    """The sample invoice grown to about `kb` KB with a free-text note (BT-22), still valid CII."""
    if kb * 1024 <= len(invoice):
        return invoice
    filler = (b"Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * (kb * 1024 // 57 + 1))[: kb * 1024 - len(invoice) - 80]
    note = b"<ram:IncludedNote><ram:Content>" + filler + b"</ram:Content></ram:IncludedNote>"
    return invoice.replace(b"</rsm:ExchangedDocument>", note + b"</rsm:ExchangedDocument>", 1)


def _build_one(job):
    i, opts, number, url, keep_state = job
    data = _W["tmpl"].replace(as2peer.SAMPLE_INVOICE_NUMBER.encode(), number.encode())
    b = _W["sender"].build(opts, data, None)
    return i, b.message_id, b.http_request(url), (b.state() if keep_state else None)


def prebuild(n, url, as2_from, as2_to, key, cert, server_cert, tag, sample_every, procs):
    opts = as2peer.BuildOptions(as2_from=as2_from, as2_to=as2_to, partner_key=key, partner_cert=cert,
                                server_cert=server_cert, sign="sha256", encrypt="aes_256_cbc", mdn="sync",
                                signed_mdn=True, mdn_micalg="sha256", content_type="application/xml", url=url)
    jobs = [(i, opts, f"AS2B-{tag}-{i:06d}", url, i % sample_every == 0) for i in range(n)]
    out = [None] * n
    with multiprocessing.get_context("fork").Pool(procs, _init_worker, (key, cert, server_cert)) as pool:
        for i, mid, req, st in pool.imap_unordered(_build_one, jobs, chunksize=32):
            out[i] = (mid, req, st)
    return out


# ---------------------------------------------------------------------------------------------
# the load client

DISP = re.compile(rb"\r?\nDisposition:[^\r\n;]*;\s*([^\r\n]*)", re.I)


async def _read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    hdrs = []
    for ln in lines[1:]:
        if ln:
            k, _, v = ln.partition(":")
            hdrs.append((k.strip(), v.strip()))
    h = {k.lower(): v for k, v in hdrs}
    if "chunked" in h.get("transfer-encoding", "").lower():
        parts = []
        while True:
            size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b""):
                    pass
                break
            parts.append(await reader.readexactly(size))
            await reader.readline()
        body = b"".join(parts)
    else:
        body = await reader.readexactly(int(h.get("content-length", "0")))
    return status, hdrs, h, body


def classify(status, h, body) -> str | None:
    """None when the response is a positive signed MDN, else a failure category."""
    if status != 200:
        return f"http-{status}"
    if not h.get("content-type", "").lower().startswith("multipart/signed"):
        return "mdn-not-signed"
    m = DISP.search(body)
    if not m:
        return "no-disposition"
    d = m.group(1).strip().lower()
    return None if d == b"processed" else "disposition:" + d.decode(errors="replace")[:60]


async def run_load(url, requests, connections, deadline, keep):
    """Sends requests[i] in order of availability over `connections` keep-alive connections.
    Returns per-request (latency, failure) plus the raw responses of the indices in `keep`."""
    u = urllib.parse.urlsplit(url)
    host, port = u.hostname, u.port or 80
    results = [None] * len(requests)
    kept = {}
    next_i = iter(range(len(requests)))

    async def conn_loop():
        reader = writer = None
        for i in next_i:
            if time.time() > deadline:
                results[i] = (None, "not-sent-timeout")
                continue
            for attempt in (1, 2):
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
                    t0 = time.perf_counter()
                    writer.write(requests[i])
                    status, hdrs, h, body = await asyncio.wait_for(_read_response(reader),
                                                                   max(1.0, deadline - time.time()))
                    dt = time.perf_counter() - t0
                    results[i] = (dt, classify(status, h, body))
                    if i in keep or (results[i][1] and len(kept) < 20):
                        kept[i] = (status, hdrs, body)
                    if h.get("connection", "").lower() == "close":
                        writer.close()
                        reader = writer = None
                    break
                except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError) as e:
                    if writer is not None:
                        writer.close()
                    reader = writer = None
                    if attempt == 2 or isinstance(e, asyncio.TimeoutError):
                        results[i] = (None, f"io:{type(e).__name__}")
                        break
        if writer is not None:
            writer.close()

    await asyncio.gather(*(conn_loop() for _ in range(connections)))
    return results, kept


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = min(len(sorted_vals) - 1, max(0, int(round(p / 100 * len(sorted_vals))) - 1))
    return sorted_vals[k]


def proc_cpu(pid) -> float | None:
    """utime+stime of a process and its waited-for children, seconds (Linux /proc)."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(x) for x in f[11:15]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def bench_target(name, url, built, a, server_pid_cpu=None):
    """Warm-up, timed run, sample verification. built: [(message_id, request, state|None)]."""
    w = a.warmup
    reqs = [r for _, r, _ in built]
    deadline = time.time() + a.timeout
    if w:
        asyncio.run(run_load(url, reqs[:w], a.connections, deadline, set()))
    timed = reqs[w:]
    keep = {i for i in range(len(timed)) if built[w + i][2] is not None}
    cpu0 = server_pid_cpu() if server_pid_cpu else None
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    results, kept = asyncio.run(run_load(url, timed, a.connections, deadline, keep))
    elapsed = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu1 = server_pid_cpu() if server_pid_cpu else None
    lat = sorted(r[0] for r in results if r and r[0] is not None)
    fails: dict = {}
    for r in results:
        f = "missing" if r is None else r[1]
        if f:
            fails[f] = fails.get(f, 0) + 1
    ok = len(timed) - sum(fails.values())
    # full verification of the sampled MDNs, outside the timed region
    verified, vfail = 0, []
    for i in sorted(keep):
        if i not in kept:
            vfail.append((i, "no response kept"))
            continue
        status, hdrs, body = kept[i]
        st = built[w + i][2]
        if status != 200:
            vfail.append((i, f"http {status}"))
            continue
        v = as2peer.analyze_mdn(hdrs, body, st)
        good = (v["status"] == "processed" and v["signed"] and v["signature_ok"] and v["mic_ok"]
                and v["original_message_id_ok"] and v["processed"])
        if good:
            verified += 1
        else:
            vfail.append((i, {k: v.get(k) for k in ("status", "detailed_status", "signature_ok", "signature_detail",
                                                   "mic_ok", "mic", "mic_alg", "original_message_id_ok", "disposition")}))
    first_fail = None
    for i, (status, hdrs, body) in kept.items():
        if results[i] and results[i][1]:
            first_fail = {"index": i, "failure": results[i][1], "status": status,
                          "body": body[:1500].decode("utf-8", errors="replace")}
            break
    return {"target": name, "url": url, "n": len(timed), "connections": a.connections, "seconds": elapsed,
            "msgs_per_s": ok / elapsed if elapsed else 0.0, "ok": ok, "failures": fails,
            "p50_ms": pct(lat, 50) * 1000, "p99_ms": pct(lat, 99) * 1000, "max_ms": (lat[-1] * 1000) if lat else None,
            "client_cpu_s": (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime),
            "server_cpu_s": (cpu1 - cpu0) if cpu0 is not None and cpu1 is not None else None,
            "sample_verified": verified, "sample_size": len(keep), "sample_failures": vfail[:5],
            "first_failure": first_fail}


# ---------------------------------------------------------------------------------------------
# openssl speed

SPEED_RE = re.compile(r"^rsa\s+2048 bits\s+([\d.]+)s\s+([\d.]+)s\s+([\d.]+)\s+([\d.]+)", re.M)


def openssl_speed(seconds: int, multi: int | None) -> float | None:
    args = ["openssl", "speed", "-seconds", str(seconds)]
    if multi and multi > 1:
        args += ["-multi", str(multi)]
    r = subprocess.run(args + ["rsa2048"], capture_output=True, text=True, timeout=seconds * 4 + 60)
    m = SPEED_RE.findall(r.stdout)
    return float(m[-1][2]) if m else None


# ---------------------------------------------------------------------------------------------

def start_peer(a, tmp, partner_as2_id, partner_cert):
    keys = as2peer.make_keys(tmp / "peer-keys", "server", "PEER")
    out = tmp / "peer-out"
    cmd = [sys.executable, str(REPO / "bench/as2_peer_server.py"), "--port", "0", "--as2-id", "PEER",
           "--key", keys["key"], "--cert", keys["cert"], "--partner", f"{partner_as2_id}={partner_cert}",
           "--out", str(out), "--workers", str(a.peer_workers), "--max-seconds", str(a.timeout * 3 + 600)]
    if a.peer_no_fsync:
        cmd.append("--no-fsync")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise SystemExit("as2_peer_server did not start")
    info = json.loads(line)
    return proc, info["listening"] + "as2", keys["cert"]


def stop(proc):
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=2000, help="timed messages per target")
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--timeout", type=float, default=600, help="bound for each target's run, seconds")
    ap.add_argument("--sample-every", type=int, default=50, help="fully verify every K-th MDN")
    ap.add_argument("--gateway-bin", help="start this flux-gateway binary on a fresh state directory (release build: "
                    ".build/release/flux-gateway) and benchmark it; sets --gateway-url/--gateway-cert/--gateway-pid")
    ap.add_argument("--gateway-workers", type=int, help="[as2] workers of the started gateway (default: its own default)")
    ap.add_argument("--gateway-url", help="the gateway's AS2 URL (omit to run the peer only)")
    ap.add_argument("--gateway-as2-id", default="GATEWAY")
    ap.add_argument("--gateway-cert", help="the gateway's certificate (encryption + MDN signature)")
    ap.add_argument("--gateway-pid", type=int, help="read the gateway's CPU time from /proc")
    ap.add_argument("--partner-as2-id", default="ACME")
    ap.add_argument("--partner-key", help="our signing key (generated when omitted; the gateway must know the cert)")
    ap.add_argument("--partner-cert")
    ap.add_argument("--no-peer", action="store_true", help="skip the pyas2lib peer")
    ap.add_argument("--peer-workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--peer-no-fsync", action="store_true")
    ap.add_argument("--no-openssl-speed", action="store_true")
    ap.add_argument("--speed-seconds", type=int, default=3)
    ap.add_argument("--build-procs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--json-out", help="also write the results as JSON here")
    ap.add_argument("--tmp-dir", help="parent of the scratch directory (peer keys and received payloads)")
    ap.add_argument("--keep-scratch", action="store_true", help="leave the scratch directory for the caller to remove (bench/run removes all of them at the end: a mass deletion on this journal-less ext4 slows every file creation of the next scenario)")
    ap.add_argument("--payload-kb", type=int, default=0, help="grow the invoice to about this many KB (0: the ~8 KB sample)")
    a = ap.parse_args()
    os.environ["FLUX_BENCH_PAYLOAD_KB"] = str(a.payload_kb)  # read by the prebuild workers
    import logging
    logging.getLogger("pyas2lib").setLevel(logging.CRITICAL)

    if a.gateway_url and not a.gateway_bin and not (a.gateway_cert and a.partner_key and a.partner_cert):
        ap.error("--gateway-url needs --gateway-cert, --partner-key and --partner-cert")
    tmp = Path(tempfile.mkdtemp(prefix="as2-bench-", dir=a.tmp_dir))
    tag = f"{int(time.time()) % 0xFFFFFF:06X}"
    results, peer, gateway = [], None, None
    cores = os.cpu_count() or 1
    try:
        if a.partner_key:
            pkey, pcert = a.partner_key, a.partner_cert
        else:
            k = as2peer.make_keys(tmp / "partner-keys", "partner", a.partner_as2_id)
            pkey, pcert = k["key"], k["cert"]
        if a.gateway_bin:
            gateway, a.gateway_url, a.gateway_cert = start_gateway(a, tmp, pcert)
            a.gateway_pid = gateway.pid

        speed1 = speed_multi = None
        if not a.no_openssl_speed:   # before any server runs, so nothing competes with it
            speed1 = openssl_speed(a.speed_seconds, None)
            speed_multi = openssl_speed(a.speed_seconds, cores) if cores > 1 else speed1

        total = a.n + a.warmup
        if a.gateway_url:
            t0 = time.time()
            built = prebuild(total, a.gateway_url, a.partner_as2_id, a.gateway_as2_id, pkey, pcert,
                             a.gateway_cert, tag + "G", a.sample_every, a.build_procs)
            print(f"prebuilt {total} gateway messages in {time.time() - t0:.1f}s", file=sys.stderr)
            cpu = (lambda: proc_cpu_tree(a.gateway_pid)) if a.gateway_pid else None
            results.append(bench_target("flux-gateway", a.gateway_url, built, a, cpu))
            del built
        if not a.no_peer:
            peer, peer_url, peer_cert = start_peer(a, tmp, a.partner_as2_id, pcert)
            t0 = time.time()
            built = prebuild(total, peer_url, a.partner_as2_id, "PEER", pkey, pcert, peer_cert,
                             tag + "P", a.sample_every, a.build_procs)
            print(f"prebuilt {total} peer messages in {time.time() - t0:.1f}s", file=sys.stderr)
            results.append(bench_target("pyas2lib-peer", peer_url, built, a, lambda: proc_cpu_tree(peer.pid)))
            del built
    finally:
        stop(peer)
        if gateway:
            db = tmp / "gateway/var/gateway.sqlite"
            stop(gateway)
            try:
                import sqlite3
                c = sqlite3.connect(str(db))
                n = c.execute("SELECT COUNT(*) FROM invoices WHERE status = 'accepted'").fetchone()[0]
                m = c.execute("SELECT COUNT(*) FROM as2_messages WHERE disposition = 'processed'").fetchone()[0]
                print(f"gateway store after the run: {m} AS2 messages processed, {n} invoices accepted (durable)", file=sys.stderr)
            except Exception as e:  # noqa: BLE001
                print(f"cannot read the gateway store: {e}", file=sys.stderr)
        if not a.keep_scratch:
            shutil.rmtree(tmp, ignore_errors=True)

    bound = (speed_multi / 2) if speed_multi else None
    print()
    print(f"AS2 receive: {a.n} msgs/target (+{a.warmup} warm-up), signed sha256 + AES-256-CBC, "
          f"{len(as2peer.load_payload(None, None)[0]) / 1000:.1f} kB CII invoice (~11 kB on the wire), signed sync MDN, "
          f"{a.connections} keep-alive connections, {cores} cores")
    hdr = f"{'target':<15} {'msgs/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'fail':>5} {'verified':>9} {'srv cpu s':>9} {'cli cpu s':>9}"
    print(hdr)
    print("-" * len(hdr))
    for r in results:
        sc = f"{r['server_cpu_s']:.1f}" if r["server_cpu_s"] is not None else "-"
        print(f"{r['target']:<15} {r['msgs_per_s']:>8.1f} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} "
              f"{(r['max_ms'] or 0):>8.1f} {sum(r['failures'].values()):>5} "
              f"{r['sample_verified']:>4}/{r['sample_size']:<4} {sc:>9} {r['client_cpu_s']:>9.1f}")
        if r["failures"]:
            print(f"  failures: {r['failures']}")
        if r["sample_failures"]:
            print(f"  sample verification failures: {r['sample_failures'][:2]}")
        if r["first_failure"]:
            print(f"  first failed response: {json.dumps(r['first_failure'])[:600]}")
    if speed1:
        print(f"openssl speed rsa2048: {speed1:.0f} private ops/s on 1 core"
              + (f", {speed_multi:.0f} on {cores} cores" if speed_multi and cores > 1 else ""))
        print(f"RSA bound (2 private ops per message): {bound:.0f} msgs/s")
    by = {r["target"]: r for r in results}
    g, p = by.get("flux-gateway"), by.get("pyas2lib-peer")
    if g and p and p["msgs_per_s"]:
        print(f"gateway / peer: {g['msgs_per_s'] / p['msgs_per_s']:.2f}x")
    if g and bound:
        print(f"gateway / RSA bound: {g['msgs_per_s'] / bound:.2f}")
    if p and bound:
        print(f"peer / RSA bound: {p['msgs_per_s'] / bound:.2f}")
    if a.json_out:
        Path(a.json_out).write_text(json.dumps({"results": results, "openssl_rsa2048_sign_per_s_1core": speed1,
                                                "openssl_rsa2048_sign_per_s_all_cores": speed_multi,
                                                "rsa_bound_msgs_per_s": bound}, indent=1, default=str))
    bad = any(sum(r["failures"].values()) or r["sample_verified"] != r["sample_size"] for r in results)
    return 1 if bad else 0


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gateway(a, tmp: Path, partner_cert: str):
    """flux-gateway on a fresh state directory with durable intake as configured by default
    (SQLite synchronous=FULL, fsync of every spooled original), ACME as a strict partner."""
    import socket
    root = tmp / "gateway"
    (root / "etc/partners.d").mkdir(parents=True)
    as2_port, admin_port = free_port(), free_port()
    (root / "etc/gateway.toml").write_text(f"""
[gateway]
state_dir = "../var"
name = "flux-gateway bench"
[admin]
listen = "127.0.0.1:{admin_port}"
[batching]
max_invoices = 500
max_age = "5m"
[logging]
level = "warning"
[as2]
listen = "127.0.0.1:{as2_port}"
path = "/as2"
as2_id = "{a.gateway_as2_id}"
{f"workers = {a.gateway_workers}" if a.gateway_workers else ""}
""")
    (root / "etc/partners.d/acme.toml").write_text(f"""
name = "VENDEUR EXEMPLE SAS"
address = "1 rue de l'Exemple, 75001 Paris, FR"
siren = "100000009"
[as2]
as2_id = "{a.partner_as2_id}"
certificates = ["{Path(partner_cert).resolve()}"]
require_signature = true
require_encryption = true
""")
    log = open(root / "gateway.log", "wb")
    proc = subprocess.Popen([a.gateway_bin, "serve", "--config", str(root / "etc/gateway.toml")], stdout=log, stderr=log)
    cert = root / "var/keys/gateway.cert.pem"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the gateway exited: {(root / 'gateway.log').read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", as2_port), timeout=1):
                if cert.exists():
                    break
        except OSError:
            time.sleep(0.1)
    else:
        raise SystemExit("the gateway did not start within 60 s")
    return proc, f"http://127.0.0.1:{as2_port}/as2", str(cert)


def proc_cpu_tree(pid) -> float | None:
    """CPU seconds of pid and its live children (the peer's pre-forked workers)."""
    total = proc_cpu(pid)
    if total is None:
        return None
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        kids = []
    for k in kids:
        total += proc_cpu(int(k)) or 0.0
    return total


if __name__ == "__main__":
    sys.exit(main())

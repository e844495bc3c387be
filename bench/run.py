#!/usr/bin/env python3
"""The benchmark run behind `bench/run`: runs each scenario's script (they start the gateway and
its peer themselves, side by side), collects their JSON and prints one table: absolute figures,
ours / peer, ours / bound, and the issue's targets. Writes the table to --out (Markdown) too."""
from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

repo = Path(__file__).resolve().parent.parent
py = str(repo / ".venv/bin/python")


def run(name: str, args: list[str], timeout: float) -> tuple[dict | None, float]:
    out = Path(tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".json")[1])
    t0 = time.time()
    print(f"== {name}: {' '.join(args[1:])}", file=sys.stderr, flush=True)
    try:
        r = subprocess.run(args + ["--json-out", str(out)], timeout=timeout, stdout=sys.stderr)
        ok = r.returncode == 0
    except subprocess.TimeoutExpired:
        ok = False
        print(f"== {name}: timed out after {timeout:.0f}s", file=sys.stderr)
    data = json.loads(out.read_text()) if out.stat().st_size else None
    out.unlink(missing_ok=True)
    if not ok:
        print(f"== {name}: FAILED (see its output above)", file=sys.stderr)
    return (data if ok else None), time.time() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gateway-bin", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=str(repo / "bench/last-run.md"))
    a = ap.parse_args()
    q = a.quick
    t_start = time.time()
    # One scratch directory for every scenario, removed only at the end: this VM's ext4 has no
    # journal, and without one its inode allocator skips every inode freed in the last 5 s (300 s
    # while the inode table block is dirty) one by one, so a scenario that deleted its thousands
    # of files made each file creation of the next one cost up to 0.8 ms instead of 30-70 µs.
    scratch = Path(tempfile.mkdtemp(prefix="flux-bench-run-"))
    keep = ["--keep-scratch", "--tmp-dir", str(scratch)]
    try:
        return scenarios(a, q, t_start, keep)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def scenarios(a, q: bool, t_start: float, keep: list[str]) -> int:
    as2_small, t1 = run("as2-10kB", [py, "bench/as2_bench.py", "--gateway-bin", a.gateway_bin, "--payload-kb", "10",
                                     "-n", "200" if q else "1500", "--connections", "8"] + keep, 900)
    as2_big, t2 = run("as2-1MB", [py, "bench/as2_bench.py", "--gateway-bin", a.gateway_bin, "--payload-kb", "1024",
                                  "-n", "20" if q else "150", "--warmup", "5", "--connections", "8", "--sample-every", "10"] + keep, 900)
    sftp, t3 = run("sftp", [py, "bench/sftp_bench.py", "--gateway-bin", a.gateway_bin, "--big-mib", "64" if q else "1024",
                            "--small", "100" if q else "1000"] + keep, 900)
    intake, t4 = run("intake", [py, "bench/intake_bench.py", "--bin", a.gateway_bin, "-n", "600" if q else "10000"] + keep, 900)
    # The same disk's bound for the intake's durability protocol (its file operations alone).
    fs_bound, t5 = run("intake-fs-bound", [py, "bench/intake_fs_bound.py", "-n", "600" if q else "4000"] + keep, 300)

    rows: list[tuple[str, str, str, str, str, str]] = []

    def ratio(x, y):
        return f"{x / y:.2f}" if x and y else "n/a"

    def verdict(x, target):
        return "n/a" if x is None else ("met" if x >= target else "not met")

    for label, res in (("AS2 10 kB", as2_small), ("AS2 1 MB", as2_big)):
        if not res:
            rows.append((label, "failed", "", "", "", ""))
            continue
        by = {r["target"]: r for r in res["results"]}
        g, p, bound = by.get("flux-gateway"), by.get("pyas2lib-peer"), res.get("rsa_bound_msgs_per_s")
        gv = g["msgs_per_s"] if g else None
        pv = p["msgs_per_s"] if p else None
        rows.append((f"{label}: msgs/s (p50 / p99 ms)",
                     f"{gv:.1f} ({g['p50_ms']:.0f} / {g['p99_ms']:.0f})" if g else "failed",
                     f"pyas2lib {pv:.1f} ({p['p50_ms']:.0f} / {p['p99_ms']:.0f})" if p else "failed",
                     f"{ratio(gv, pv)}x peer", "≥ 10x", verdict(gv / pv if gv and pv else None, 10)))
        rows.append((f"{label}: vs RSA bound", f"{gv:.1f}" if gv else "failed", f"bound {bound:.0f}" if bound else "n/a",
                     f"{ratio(gv, bound)} of bound", "≥ 0.60", verdict(gv / bound if gv and bound else None, 0.6)))
    if sftp:
        rs = sftp["results"]
        g = next(r for r in rs if r["target"] == "flux-gateway")
        o = [r for r in rs if r["target"].startswith("openssh")]
        ob = sum(r["big_mib_s"] for r in o) / len(o)
        osm = sum(r["small_files_s"] for r in o) / len(o)
        orss = max(r["peak_rss_mb"] for r in o)
        rows.append((f"SFTP 1 x {sftp['big_mib']} MiB: MiB/s", f"{g['big_mib_s']:.0f}", f"OpenSSH {ob:.0f} (mean of 2 passes)",
                     f"{ratio(g['big_mib_s'], ob)}x", "≥ 0.90x", verdict(g["big_mib_s"] / ob, 0.9)))
        rows.append((f"SFTP {sftp['small']} x {sftp['small_kb']} kB, {sftp['sessions']} sessions: files/s", f"{g['small_files_s']:.0f}",
                     f"OpenSSH {osm:.0f}", f"{ratio(g['small_files_s'], osm)}x", "≥ 1.00x", verdict(g["small_files_s"] / osm, 1.0)))
        lag = g.get("receipts_after_s")
        rows.append((f"SFTP small files: all receipts in /outbox, seconds after the last upload (the intake yields to clients)",
                     f"{lag:.1f}" if lag is not None else "not all within 300 s", "", "", "", ""))
        rows.append(("Peak RSS during the SFTP runs (MB)", f"{g['peak_rss_mb']:.0f}", f"sshd {orss:.0f}", "", "< 200 MB",
                     "met" if g["peak_rss_mb"] < 200 else "not met"))
    else:
        rows.append(("SFTP", "failed", "", "", "", ""))
    if intake:
        rows.append((f"Intake {intake['invoices']} invoices (UBL/CII/Factur-X): invoices/s (p50 / p99 ms close→receipt)",
                     f"{intake['invoices_per_s']:.0f} ({intake['p50_ms']:.0f} / {intake['p99_ms']:.0f})", "target 2,000",
                     f"{intake['invoices_per_s'] / 2000:.2f} of target", "≥ 2,000/s", verdict(intake["invoices_per_s"], 2000)))
        if fs_bound:
            fb = fs_bound["deposits_per_s"]
            rows.append(("Intake vs its file-system bound (the same file operations and fsyncs, nothing else; 4 threads)",
                         f"{intake['invoices_per_s']:.0f}", f"bound {fb:.0f}", f"{intake['invoices_per_s'] / fb:.2f} of bound",
                         "", "target above bound" if fb < 2000 else ""))
        rows.append(("Peak RSS during the intake run (MB)", f"{intake['peak_rss_mb']:.0f}", "", "", "< 200 MB",
                     "met" if intake["peak_rss_mb"] < 200 else "not met"))
    else:
        rows.append(("Intake", "failed", "", "", "", ""))

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    head = (f"flux-gateway benchmark, {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores ({cpu}), "
            f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, {platform.platform()}"
            + (" — QUICK run, not for the record" if q else ""))
    table = [head, "", "| scenario | flux-gateway | peer / bound | ratio | target | |", "|---|---|---|---|---|---|"]
    table += [f"| {' | '.join(r)} |" for r in rows]
    table.append("")
    table.append(f"run time: {time.time() - t_start:.0f}s (AS2 10 kB {t1:.0f}s, AS2 1 MB {t2:.0f}s, SFTP {t3:.0f}s, intake {t4:.0f}s, "
                 f"intake bound {t5:.0f}s)")
    text = "\n".join(table)
    print("\n" + text)
    Path(a.out).write_text(text + "\n")
    return 0 if all([as2_small, as2_big, sftp, intake, fs_bound]) else 1


if __name__ == "__main__":
    sys.exit(main())

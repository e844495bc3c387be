#!/usr/bin/env python3
"""Intake smoke benchmark: N small invoices through the whole drop-zone path.

Starts the gateway on a temporary state directory (loopback admin port, rename-mode partner),
renames N distinct French sample invoices into the inbox as fast as it can, and waits until every
deposit has its signed receipt. Prints deposits/s and the latency from the rename (file complete)
to the receipt's appearance in the outbox (p50/p99). Bounded: gives up after --timeout seconds.

    python3 bench/intake_smoke.py [--bin .build/release/flux-gateway] [-n 1000]
"""
import argparse, os, pathlib, shutil, signal, socket, subprocess, sys, tempfile, time

repo = pathlib.Path(__file__).resolve().parent.parent
ap = argparse.ArgumentParser()
ap.add_argument("--bin", default=str(repo / ".build/release/flux-gateway"))
ap.add_argument("-n", type=int, default=1000)
ap.add_argument("--timeout", type=float, default=300)
ap.add_argument("--concurrency", type=int, default=2)
ap.add_argument("--sequential", action="store_true", help="one deposit at a time: unloaded latency")
ap.add_argument("--shared", default=os.environ.get("FLUX_SHARED", str(repo.parent / "shared")))
a = ap.parse_args()

sample = pathlib.Path(a.shared, "corpus/invoices/fr-generated/FR-CII-EN16931-B2B-simple.xml").read_text()
root = pathlib.Path(tempfile.mkdtemp(prefix="flux-bench-"))
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
(root / "etc/partners.d").mkdir(parents=True)
(root / "etc/gateway.toml").write_text(f'''[gateway]
state_dir = "../var"
[admin]
listen = "127.0.0.1:{port}"
[batching]
max_invoices = 500
max_age = "10m"
[intake]
concurrency = {a.concurrency}
[logging]
level = "warning"
''')
(root / "etc/partners.d/bench.toml").write_text('name = "VENDEUR EXEMPLE SAS"\naddress = "1 rue X, Paris"\nsiren = "100000009"\n[dropzone]\ncompletion = "rename"\n')
proc = subprocess.Popen([a.bin, "serve", "--config", str(root / "etc/gateway.toml")], stderr=open(root / "log", "w"))
try:
    inbox = root / "var/dropzones/bench/inbox"
    outbox = root / "var/dropzones/bench/outbox"
    deadline = time.time() + 30
    while not inbox.is_dir() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    staged = root / "staged"; staged.mkdir()
    for i in range(a.n):
        (staged / f"inv{i:05d}.xml").write_text(sample.replace("FA-2026-000123", f"BENCH-{i:06d}"))
    closed = {}
    t0 = time.time()
    seen = {}
    for i in range(a.n):
        name = f"inv{i:05d}.xml"
        os.rename(staged / name, inbox / name)
        closed[name] = time.time()
        if a.sequential:
            while name not in seen and time.time() < t0 + a.timeout:
                for e in os.scandir(outbox):
                    if e.name.startswith(name + ".") and e.name.endswith("-001.cdar.xml"):
                        seen[name] = time.time()
                time.sleep(0.001)
    deadline = t0 + a.timeout
    while len(seen) < a.n and time.time() < deadline:
        for e in os.scandir(outbox):
            if e.name.endswith("-001.cdar.xml"):
                src = e.name.split(".xml.")[0] + ".xml"
                if src not in seen:
                    seen[src] = time.time() if a.sequential else e.stat().st_mtime
        time.sleep(0.02)
    t1 = max(seen.values()) if seen else time.time()
    if len(seen) < a.n:
        print(f"only {len(seen)}/{a.n} receipts within {a.timeout}s"); sys.exit(1)
    lat = sorted(seen[k] - closed[k] for k in seen)
    print(f"{a.n} deposits in {t1 - t0:.2f}s: {a.n / (t1 - t0):.0f} deposits/s; "
          f"close->receipt p50 {lat[len(lat)//2]*1000:.0f} ms, p99 {lat[int(len(lat)*0.99)-1]*1000:.0f} ms, max {lat[-1]*1000:.0f} ms")
finally:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    shutil.rmtree(root, ignore_errors=True)

#!/usr/bin/env python3
"""SFTP upload benchmark: flux-gateway's embedded server against OpenSSH's own sftp-server (sshd on
a loopback port with a temporary config), same client (OpenSSH `sftp`), same cipher, same run.

Two workloads:
  * one large file (default 1 GiB of random bytes, `--big-mib`),
  * many small files (default 1,000 files of 20 KB, `--small`) over 4 concurrent sessions.
Reports MiB/s and files/s per target, the ratio gateway/OpenSSH, and the peak RSS of the server
process (the gateway's whole process; sshd's session process tree). Before each timed phase the
page cache is flushed and the server left to go idle (`settle`), so that one phase's leftovers
(OpenSSH's gigabyte of dirty pages, the gateway's intake of its upload) do not land in the next.

    python3 bench/sftp_bench.py --gateway-bin .build/release/flux-gateway [--cipher aes128-gcm@openssh.com]

Needs openssh-client and openssh-server (`apt-get install openssh-server`; the system sshd need not
run: a private one is started on a free loopback port). Everything stays on 127.0.0.1.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early ({proc.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


def rss_tree_kb(pid: int) -> int:
    total = 0
    pids = [pid]
    seen = set()
    while pids:
        p = pids.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for t in Path(f"/proc/{p}/task").iterdir():
                kids = (t / "children").read_text().split()
                pids += [int(k) for k in kids]
        except OSError:
            pass
    return total


class PeakRSS(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_tree_kb(self.pid))
            time.sleep(0.05)


def sftp(port, user, key, batch: str, cipher: str, timeout=900):
    f = tempfile.NamedTemporaryFile("w", delete=False, suffix=".batch")
    f.write(batch)
    f.close()
    try:
        r = subprocess.run(["sftp", "-b", f.name, "-i", key, "-P", str(port), "-c", cipher,
                            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                            "-o", "IdentitiesOnly=yes", f"{user}@127.0.0.1"], capture_output=True, text=True, timeout=timeout)
    finally:
        os.unlink(f.name)
    if r.returncode != 0:
        raise SystemExit(f"sftp failed on port {port}: {r.stdout[-800:]} {r.stderr[-800:]}")


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children so far (utime + stime + cutime + cstime)."""
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(x) for x in f[11:15]) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def settle(pid: int, timeout: float = 120.0) -> None:
    """Between two timed phases, outside the timing: flush the page cache (`sync`) and wait until
    the server is idle (under 5% of a core for 1 s), so that neither the previous server's dirty
    pages nor the gateway's own work on the previous phase (the intake of the 1 GiB upload)
    lands in the next measurement. Applied to both servers alike."""
    os.sync()
    deadline = time.time() + timeout
    last = cpu_seconds(pid)
    while time.time() < deadline:
        time.sleep(1.0)
        now = cpu_seconds(pid)
        if now - last < 0.05:
            break
        last = now
    os.sync()


FLUX_RECEIPT = re.compile(r"^(.*)\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.cdar\.xml$")


def receipts_lag(outbox: Path, names: set[str], timeout: float = 300.0) -> float | None:
    """Seconds from now until every file in `names` has its flux-level receipt in `outbox` (the
    gateway takes uploads in first and lets its intake catch up behind them); None on timeout."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        have = set()
        for e in os.scandir(outbox):
            m = FLUX_RECEIPT.match(e.name)
            if m:
                have.add(m.group(1))
        if names <= have:
            return time.time() - t0
        time.sleep(0.1)
    return None


def run_workloads(name, port, user, key, remote_dir, big: Path, smalls: list[Path], cipher, sessions, pid, outbox: Path | None = None):
    peak = PeakRSS(pid)
    peak.start()
    settle(pid)
    t0 = time.time()
    sftp(port, user, key, f"put {big} {remote_dir}/big.bin\n", cipher)
    big_s = time.time() - t0
    settle(pid)
    chunks = [smalls[i::sessions] for i in range(sessions)]
    errors = []

    def worker(files):
        try:
            sftp(port, user, key, "".join(f"put {f} {remote_dir}/{f.name}\n" for f in files), cipher)
        except SystemExit as e:
            errors.append(str(e))

    t1 = time.time()
    threads = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(900)
    small_s = time.time() - t1
    lag = receipts_lag(outbox, {f.name for f in smalls}) if outbox is not None and not errors else None
    peak.stop.set()
    if errors:
        raise SystemExit(errors[0])
    return {"target": name, "big_mib_s": big.stat().st_size / 2**20 / big_s, "big_s": big_s,
            "small_files_s": len(smalls) / small_s, "small_s": small_s, "peak_rss_mb": peak.peak / 1024,
            "receipts_after_s": lag}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gateway-bin", required=True)
    ap.add_argument("--big-mib", type=int, default=1024)
    ap.add_argument("--small", type=int, default=1000)
    ap.add_argument("--small-kb", type=int, default=20)
    ap.add_argument("--sessions", type=int, default=4)
    ap.add_argument("--cipher", default="aes128-gcm@openssh.com")
    ap.add_argument("--intake-concurrency", type=int, default=None, help="[intake] concurrency of the gateway (default: its own)")
    ap.add_argument("--tmp-dir", default=None)
    ap.add_argument("--keep-scratch", action="store_true", help="leave the scratch directory for the caller to remove (bench/run removes all of them at the end: a mass deletion on this journal-less ext4 slows every file creation of the next scenario)")
    ap.add_argument("--json-out", help="also write the results as JSON here")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sftp-bench-", dir=a.tmp_dir))
    procs = []
    try:
        key = tmp / "client_ed25519"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        pub = (tmp / "client_ed25519.pub").read_text().strip()
        big = tmp / "big.bin"
        with open(big, "wb") as f:
            for _ in range(a.big_mib):
                f.write(os.urandom(1 << 20))
        smalls = []
        (tmp / "small").mkdir()
        for i in range(a.small):
            p = tmp / "small" / f"inv-{i:05d}.xml"
            p.write_bytes(b"<Invoice>" + os.urandom(a.small_kb * 1024 - 20).hex()[: a.small_kb * 1024 - 20].encode() + b"</Invoice>")
            smalls.append(p)

        # OpenSSH: a private sshd with internal-sftp (the same sftp-server code, in process) as this user
        user = os.environ.get("USER") or subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
        sshd_dir = tmp / "sshd"
        sshd_dir.mkdir()
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(sshd_dir / "host_ed25519")], check=True)
        (sshd_dir / "authorized_keys").write_text(pub + "\n")
        os.chmod(sshd_dir / "authorized_keys", 0o600)
        target = tmp / "openssh-target"
        target.mkdir()
        sport = free_port()
        (sshd_dir / "sshd_config").write_text(f"""Port {sport}
ListenAddress 127.0.0.1
HostKey {sshd_dir / 'host_ed25519'}
AuthorizedKeysFile {sshd_dir / 'authorized_keys'}
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile {sshd_dir / 'sshd.pid'}
Subsystem sftp internal-sftp
""")
        os.makedirs("/run/sshd", exist_ok=True)
        sshd = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(sshd_dir / "sshd_config")], stderr=subprocess.DEVNULL)
        procs.append(sshd)
        wait_port(sport, sshd)

        # flux-gateway: the example layout, one partner with the bench key, a large file limit
        root = tmp / "gateway"
        (root / "etc/partners.d").mkdir(parents=True)
        gport, aport = free_port(), free_port()
        (root / "etc/gateway.toml").write_text(f"""[gateway]
state_dir = "../var"
receipt_key = "keys/receipts.key.pem"
receipt_cert = "keys/receipts.cert.pem"
[admin]
listen = "127.0.0.1:{aport}"
[intake]
max_flux_size = "2GB"
max_file_size = "2GB"
{f"concurrency = {a.intake_concurrency}" if a.intake_concurrency else ""}
[logging]
level = "warning"
[sftp]
listen = "127.0.0.1:{gport}"
min_free_disk = "64MiB"
""")
        (root / "etc/partners.d/bench.toml").write_text(f"""name = "BENCH SAS"
address = "1 rue du Banc, 75001 Paris"
[sftp]
authorized_keys = ["{pub}"]
max_file_size = "{a.big_mib + 64}MiB"
quota_bytes = "{a.big_mib + 256}MiB"
quota_files = 100000
""")
        gw = subprocess.Popen([a.gateway_bin, "serve", "--config", str(root / "etc/gateway.toml")], stdout=subprocess.DEVNULL,
                              stderr=open(tmp / "gateway.log", "wb"))
        procs.append(gw)
        wait_port(gport, gw, 60)

        results = [run_workloads("openssh", sport, user, str(key), str(target), big, smalls, a.cipher, a.sessions, sshd.pid)]
        results.append(run_workloads("flux-gateway", gport, "bench", str(key), "/inbox", big, smalls, a.cipher, a.sessions, gw.pid,
                                     outbox=root / "var/dropzones/bench/outbox"))
        # a second OpenSSH pass, so drift on this shared machine shows
        # into a fresh directory, not an emptied one: deleting the first pass's files right before
        # would slow this pass's file creations (see --keep-scratch)
        again = tmp / "openssh-target-2"
        again.mkdir()
        results.append(run_workloads("openssh (again)", sport, user, str(key), str(again), big, smalls, a.cipher, a.sessions, sshd.pid))
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        if not a.keep_scratch:
            shutil.rmtree(tmp, ignore_errors=True)

    print(f"\nSFTP upload, OpenSSH sftp client, cipher {a.cipher}: 1 x {a.big_mib} MiB, then {a.small} x {a.small_kb} KB over {a.sessions} sessions")
    print(f"{'server':<16} {'big MiB/s':>10} {'small files/s':>14} {'peak RSS MB':>12}")
    for r in results:
        print(f"{r['target']:<16} {r['big_mib_s']:>10.1f} {r['small_files_s']:>14.1f} {r['peak_rss_mb']:>12.1f}")
    o = [r for r in results if r["target"].startswith("openssh")]
    g = next(r for r in results if r["target"] == "flux-gateway")
    ob = sum(r["big_mib_s"] for r in o) / len(o)
    os_ = sum(r["small_files_s"] for r in o) / len(o)
    print(f"gateway / OpenSSH (mean of both passes): large file {g['big_mib_s'] / ob:.2f}x, small files {g['small_files_s'] / os_:.2f}x")
    print("(the gateway also fsyncs each upload and takes it through the intake: spool, inspection, journal, receipt)")
    lag = g.get("receipts_after_s")
    print(f"gateway: every small file's receipt in /outbox {lag:.1f} s after the last upload (the intake yields to waiting clients)"
          if lag is not None else "gateway: receipts of the small files not all seen within 300 s")
    if a.json_out:
        Path(a.json_out).write_text(json.dumps({"results": results, "cipher": a.cipher, "big_mib": a.big_mib, "small": a.small,
                                                "small_kb": a.small_kb, "sessions": a.sessions}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

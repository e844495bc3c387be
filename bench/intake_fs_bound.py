#!/usr/bin/env python3
"""The file-system bound of the intake: replays, with the gateway's worker count, exactly the
file operations the gateway performs for one single-invoice drop-zone deposit (as `strace -f`
shows them), with no parsing, no database and no signature. Whatever this reaches is the most
the intake could reach on this disk with its durability protocol unchanged.

Per deposit, in this order (see IntakeProcessor and DurableFile):
  1. rename inbox/NAME -> .claimed/ID__NAME; fsync(.claimed) once per GROUP deposits (the claim:
     since stop 23 the gateway fsyncs the claim directory once per group commit, before the
     transaction; GROUP is the group size it reaches on this disk, about 6)
  2. fsync(the claimed file)                                            (the original's bytes)
  3. link it into spool/XX/SHA256, fsync(spool/XX), unlink the claim    (the spooled original)
  4. four receipt files (two CDAR documents and their .p7s): each created under a temporary
     name and written, then the four renames, no fsync; a thread runs one syncfs(2) every 20 ms
     for every receipt written meanwhile (the gateway's OutboxSyncer, since stop 20; before, each
     receipt file and the outbox were fsynced: eight fsyncs per deposit in all)
The SQLite commit (one WAL fdatasync shared by a group of deposits) is left out, so the bound is
slightly optimistic."""
from __future__ import annotations

import argparse
import ctypes
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
import uuid


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


GROUP = 6


def deposit(root: str, name: str, index: int) -> None:
    inbox, claimed_dir = f"{root}/inbox", f"{root}/.claimed"
    mid = str(uuid.uuid4())
    claimed = f"{claimed_dir}/{mid}__{name}"
    os.rename(f"{inbox}/{name}", claimed)
    if index % GROUP == 0:
        fsync_dir(claimed_dir)
    fd = os.open(claimed, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    sha = hashlib.sha256(mid.encode()).hexdigest()
    spool_dir = f"{root}/spool/{sha[:2]}"
    os.link(claimed, f"{spool_dir}/{sha}")
    fsync_dir(spool_dir)
    os.unlink(claimed)
    outbox = f"{root}/outbox"
    base = f"{name}.{mid[:8]}"
    finals = [f"{base}.cdar.xml.p7s", f"{base}.cdar.xml", f"{base}-001.cdar.xml.p7s", f"{base}-001.cdar.xml"]
    temps = []
    for i, final in enumerate(finals):
        tmp = f"{outbox}/.{final}.{uuid.uuid4()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, b"x" * (1100 if final.endswith(".p7s") else 2800))
        finally:
            os.close(fd)
        temps.append((tmp, f"{outbox}/{final}"))
    for tmp, final in temps:
        os.rename(tmp, final)


def syncer(root: str, stop: threading.Event, counts: list[int]) -> None:
    """The gateway's OutboxSyncer: a round every 20 ms while receipts are written."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        while not stop.wait(0.02):
            if libc.syncfs(fd) != 0:
                raise OSError(ctypes.get_errno(), "syncfs")
            counts[0] += 1
        libc.syncfs(fd)
        counts[0] += 1
    finally:
        os.close(fd)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=4000)
    ap.add_argument("--threads", type=int, default=4, help="the gateway's [intake] concurrency (default 4)")
    ap.add_argument("--tmp-dir", default=None)
    ap.add_argument("--keep-scratch", action="store_true")
    ap.add_argument("--json-out")
    a = ap.parse_args()
    root = tempfile.mkdtemp(prefix="flux-intake-fs-bound-", dir=a.tmp_dir)
    try:
        for d in ("inbox", ".claimed", "outbox"):
            os.makedirs(f"{root}/{d}")
        for i in range(256):
            os.makedirs(f"{root}/spool/{i:02x}")
        names = [f"inv{i:06d}.xml" for i in range(a.n)]
        for n in names:  # written like a client would, not fsynced (the gateway does that)
            with open(f"{root}/inbox/{n}", "wb") as f:
                f.write(b"<Invoice/>" * 300)
        todo = list(reversed(names))
        lock = threading.Lock()
        errors: list[BaseException] = []

        def worker() -> None:
            while True:
                with lock:
                    if not todo or errors:
                        return
                    name = todo.pop()
                    index = len(todo)
                try:
                    deposit(root, name, index)
                except BaseException as e:  # reported below, never swallowed
                    with lock:
                        errors.append(e)
                    return

        threads = [threading.Thread(target=worker) for _ in range(a.threads)]
        stop, syncs = threading.Event(), [0]
        sync_thread = threading.Thread(target=syncer, args=(root, stop, syncs))
        t0 = time.monotonic()
        sync_thread.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - t0  # every receipt visible, as the intake benchmark counts
        stop.set()
        sync_thread.join()
        if errors:
            raise errors[0]
        rate = a.n / elapsed
        fsyncs = 2 * a.n + (a.n + GROUP - 1) // GROUP + syncs[0]
        print(f"intake file-system bound: {a.n} deposits, {a.threads} threads, {elapsed:.1f}s: "
              f"{rate:.0f} deposits/s ({fsyncs / elapsed:.0f} fsyncs and syncfs/s)")
        if a.json_out:
            with open(a.json_out, "w") as f:
                json.dump({"deposits": a.n, "threads": a.threads, "seconds": elapsed, "deposits_per_s": rate,
                           "fsyncs_per_s": fsyncs / elapsed}, f)
        return 0
    finally:
        if not a.keep_scratch:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python3
"""sftppeer: upload a file with paramiko or asyncssh (the SFTP interop tests' Python clients).

    sftppeer.py paramiko|asyncssh --port P --user U --key KEY --put FILE --remote /inbox/NAME
    sftppeer.py paramiko ... --die-mid-upload --remote /inbox/NAME   # writes 64 KiB, then the process dies

Exit 0 on success; prints the error and exits 1 otherwise. Host keys are not checked (loopback tests).
"""
import argparse
import os
import sys


def put_checked(sftp, local: str, remote: str):
    """sftp.put(), except that a failed CLOSE is an error: paramiko's SFTPFile.close() swallows
    the server's status, and the CLOSE status is where the gateway says whether it took the file."""
    import paramiko
    f = sftp.open(remote, "wb")
    with open(local, "rb") as src:
        while chunk := src.read(32768):
            f.write(chunk)
    f.flush()
    f._closed = True  # CLOSE is sent here, with its status checked
    sftp._request(paramiko.sftp.CMD_CLOSE, f.handle)


def with_paramiko(a):
    import paramiko
    t = paramiko.Transport(("127.0.0.1", a.port))
    t.banner_timeout = 10
    if a.password is not None:
        t.connect(username=a.user, password=a.password)
    else:
        key = paramiko.Ed25519Key.from_private_key_file(a.key) if "ed25519" in a.key else paramiko.RSAKey.from_private_key_file(a.key)
        t.connect(username=a.user, pkey=key)
    sftp = paramiko.SFTPClient.from_transport(t)
    if a.die_mid_upload:
        f = sftp.open(a.remote, "wb")
        f.write(b"<Invoice>" + b"x" * 65536)
        f.flush()
        os._exit(9)   # no close, no goodbye: the connection just dies
    put_checked(sftp, a.put, a.remote)
    st = sftp.stat("/inbox")
    assert st is not None
    sftp.close()
    t.close()


def with_asyncssh(a):
    import asyncio
    import asyncssh

    async def run():
        async with asyncssh.connect("127.0.0.1", port=a.port, username=a.user, client_keys=[a.key], known_hosts=None) as conn:
            async with conn.start_sftp_client() as sftp:
                await sftp.put(a.put, a.remote)
    asyncio.run(asyncio.wait_for(run(), 60))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lib", choices=["paramiko", "asyncssh"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--key", default="")
    ap.add_argument("--password", help="password login instead of a key (paramiko)")
    ap.add_argument("--put")
    ap.add_argument("--remote", required=True)
    ap.add_argument("--die-mid-upload", action="store_true")
    a = ap.parse_args()
    try:
        (with_paramiko if a.lib == "paramiko" else with_asyncssh)(a)
    except Exception as e:  # noqa: BLE001
        print(f"{a.lib}: {e!r}")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())

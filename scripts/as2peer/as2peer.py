#!/usr/bin/env python3
"""as2peer: an independent AS2 (RFC 4130) trading partner for flux-gateway's interop tests.

Built on pyas2lib (pinned in scripts/setup-venv) and the `openssl cms` command, never on the
gateway's own code. Run it with the repo's venv: `.venv/bin/python scripts/as2peer/as2peer.py ...`.

Subcommands (each prints one JSON object on stdout; exit 0 when the command ran, whatever the MDN
said; exit 2 on a tool error such as bad options or a refused connection, with {"error": ...}):

  keys        RSA-2048 key + self-signed certificate (PEM) for a test partner or server.
  send        build one AS2 message, POST it, and for a sync MDN verify the MDN.
  build       build one AS2 message and write the complete HTTP/1.1 request to a file (no network).
  mdn-server  receive async MDNs on 127.0.0.1, keep each raw request, verify it, write a verdict.

Two message engines:
  * pyas2lib (default): pyas2lib.Message.build(). pyas2lib compresses BEFORE signing, then
    encrypts (compress -> sign -> encrypt); MIC = digest of the signed entity with the signing
    digest; no MIC for unsigned messages.
  * openssl (--openssl-encrypt ALG, ALG may be "none"): the MIME entity is built here byte for
    byte (Content-Type + Content-Transfer-Encoding: binary + the file), optionally compressed with
    pyas2lib's CMS CompressedData builder (openssl here has no zlib), signed with
    `openssl cms -sign -binary` (detached, multipart/signed, micalg spelled "sha-256"),
    optionally compressed AFTER signing (--compress-after-sign), then encrypted with
    `openssl cms -encrypt -binary -outform DER` (CBC: enveloped-data, GCM: authEnveloped-data,
    --oaep: RSAES-OAEP key transport). --entity-headers replaces the payload entity's header block
    verbatim (missing CTE, odd spacing, folding: the canonicalization cases of docs AS2.md).

MIC expected from the receiver (RFC 4130 7.3.1, RFC 5402 4.1), computed here for every message:
  signed                -> the signed entity (first part of multipart/signed, its headers + body;
                           the compressed-data part when compressed before signing)
  encrypted, unsigned   -> the decrypted entity with headers (the uncompressed one if compressed)
  neither, compressed   -> the uncompressed entity with headers
  neither               -> the body bytes without headers
The MDN's Received-content-MIC is checked against a digest of those bytes with the algorithm the
MDN names (mic_ok), and that algorithm against the one asked for (mic_alg_ok).
"""
from __future__ import annotations

import argparse
import base64
import datetime
import email
import email.utils
import hashlib
import http.client
import json
import logging
import os
import random
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyas2lib.as2 as _as2
import pyas2lib.cms as _cms
from pyas2lib import Mdn, Message, Organization, Partner

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SHARED = Path(os.environ.get("FLUX_SHARED", str(REPO.parent / "shared")))
DEFAULT_FILE = DEFAULT_SHARED / "corpus/invoices/fr-generated/FR-CII-EN16931-B2B-simple.xml"
SAMPLE_INVOICE_NUMBER = "FA-2026-000123"
DEFAULT_DOMAIN = "as2peer.test"

PYAS2LIB_DIGESTS = ("sha1", "sha224", "sha256", "sha384", "sha512")   # + md5 in pyas2lib
PYAS2LIB_CIPHERS = ("tripledes_192_cbc", "rc2_128_cbc", "rc4_128_cbc",
                    "aes_128_cbc", "aes_192_cbc", "aes_256_cbc")
OPENSSL_CIPHERS = ("aes-128-gcm", "aes-192-gcm", "aes-256-gcm", "aes-128-cbc", "aes-192-cbc",
                   "aes-256-cbc", "des-ede3-cbc", "none")


class ToolError(Exception):
    """A failure of the tool itself (bad option, unreachable server): exit code 2."""


# --------------------------------------------------------------------------------------------
# small helpers

def norm_alg(alg: str | None) -> str | None:
    """'SHA-256', 'sha_256', 'sha256' -> 'sha256'."""
    if alg is None:
        return None
    return alg.strip().lower().replace("-", "").replace("_", "")


def hyphen_alg(alg: str) -> str:
    """'sha256' -> 'sha-256' (RFC 5751 spelling); md5 stays md5."""
    a = norm_alg(alg)
    return "sha-" + a[3:] if a.startswith("sha") else a


def b64digest(alg: str, data: bytes) -> str:
    return base64.b64encode(hashlib.new(norm_alg(alg), data).digest()).decode()


def unfold(v: str) -> str:
    return re.sub(r"\r?\n[ \t]*", " ", str(v))


def read_bytes(p) -> bytes:
    return Path(p).read_bytes()


def load_payload(path: str | None, invoice_number: str | None) -> tuple[bytes, str]:
    p = Path(path) if path else DEFAULT_FILE
    if not p.is_file():
        raise ToolError(f"payload file not found: {p}")
    data = p.read_bytes()
    if invoice_number:
        data = data.replace(SAMPLE_INVOICE_NUMBER.encode(), invoice_number.encode())
    return data, p.name


def run_openssl(args: list[str], stdin: bytes | None = None) -> bytes:
    r = subprocess.run(["openssl", *args], input=stdin, capture_output=True)
    if r.returncode != 0:
        raise ToolError(f"openssl {' '.join(args[:2])} failed: {r.stderr.decode(errors='replace').strip()}")
    return r.stdout


def split_message_id(mid: str | None) -> tuple[str | None, str]:
    """'<left@dom>' / 'left@dom' / 'left' -> (left, domain)."""
    if not mid:
        return None, DEFAULT_DOMAIN
    mid = mid.strip().lstrip("<").rstrip(">")
    if "@" in mid:
        left, dom = mid.rsplit("@", 1)
        return left, dom
    return mid, DEFAULT_DOMAIN


def new_boundary() -> str:
    return "----=_as2peer_" + "".join(random.choice("0123456789abcdef") for _ in range(24))


# --------------------------------------------------------------------------------------------
# keys

def make_keys(directory: str, name: str = "partner", cn: str | None = None, days: int = 3650) -> dict:
    """RSA-2048 + self-signed X.509 v3 (CA:TRUE, like `openssl req -x509`), PEM, unencrypted."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn or name),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "as2peer test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(ski, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
            .sign(key, hashes.SHA256()))
    kp, cp = d / f"{name}.key.pem", d / f"{name}.cert.pem"
    kp.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    os.chmod(kp, 0o600)
    cp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return {"key": str(kp), "cert": str(cp), "subject": subject.rfc4514_string()}


# --------------------------------------------------------------------------------------------
# building messages

@dataclass
class BuildOptions:
    as2_from: str
    as2_to: str
    partner_key: str            # our (sender's) private key, PEM
    partner_cert: str           # our certificate, PEM
    server_cert: str            # receiver's certificate: encrypt to it, verify its MDN signature
    sign: str = "sha256"        # digest or "none"
    encrypt: str = "aes_256_cbc"  # pyas2lib cipher or "none"
    compress: bool = False
    compress_after_sign: bool = False       # openssl engine only
    mdn: str = "sync"           # none | sync | async
    mdn_url: str | None = None
    signed_mdn: bool = False
    mdn_micalg: str | None = None           # spelling kept as given (sha256 / sha-256)
    content_type: str = "application/xml"
    filename: str | None = None
    message_id: str | None = None
    openssl_encrypt: str | None = None      # selects the openssl engine
    oaep: bool = False
    sign_alg: str = "rsassa_pkcs1v15"       # pyas2lib engine: rsassa_pkcs1v15 | rsassa_pss
    subject: str = "AS2 Message"
    extra_headers: list = field(default_factory=list)   # [(name, value)] added/replaced last
    drop_headers: list = field(default_factory=list)    # header names removed last
    url: str = "http://127.0.0.1/"
    entity_headers: str | None = None       # openssl engine: raw header block of the payload entity

    @property
    def engine(self) -> str:
        return "openssl" if self.openssl_encrypt else "pyas2lib"

    @property
    def signed(self) -> bool:
        return bool(self.sign) and self.sign != "none"

    @property
    def mdn_micalg_requested(self) -> str | None:
        if self.mdn == "none" or not (self.signed_mdn or self.mdn_micalg):
            return None
        return self.mdn_micalg or (self.sign if self.signed else "sha256")

    @property
    def mic_alg_expected(self) -> str | None:
        """The MIC algorithm the receiver should use: the requested micalg, else the signing
        digest (what pyas2lib and most receivers do), else unknown."""
        if self.mdn_micalg_requested:
            return norm_alg(self.mdn_micalg_requested)
        return norm_alg(self.sign) if self.signed else None


@dataclass
class Built:
    message_id: str                 # without <>
    headers: list                   # [(name, value)] HTTP headers (AS2 + MIME)
    body: bytes
    mic_entity: bytes               # the bytes the receiver must hash for Received-content-MIC
    mic_rule: str
    mic_sent: str | None            # pyas2lib's own MIC (pyas2lib engine) or ours (openssl engine)
    mic_sent_alg: str | None
    mic_alg_expected: str | None
    opts: BuildOptions
    pyas2lib_message: Message | None = None

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def summary(self) -> dict:
        o = self.opts
        return {"engine": o.engine, "signed": o.signed, "digest": o.sign if o.signed else None,
                "encrypted": (o.openssl_encrypt or o.encrypt) not in (None, "none"),
                "cipher": (o.openssl_encrypt if o.engine == "openssl" else o.encrypt),
                "key_transport": "rsaes_oaep" if o.oaep else "rsaes_pkcs1v15",
                "compressed": ("after-signing" if o.compress_after_sign else "before-signing") if o.compress else None,
                "mdn": o.mdn, "mdn_micalg_requested": o.mdn_micalg_requested,
                "headers": dict(self.headers), "body_len": len(self.body)}

    def state(self) -> dict:
        """What mdn-server needs to verify an async MDN for this message."""
        return {"message_id": self.message_id, "mic_entity_b64": base64.b64encode(self.mic_entity).decode(),
                "mic_rule": self.mic_rule, "mic_sent": self.mic_sent, "mic_sent_alg": self.mic_sent_alg,
                "mic_alg_expected": self.mic_alg_expected,
                "mdn_signed_requested": self.opts.mdn_micalg_requested is not None,
                "server_cert": str(Path(self.opts.server_cert).resolve()),
                "as2_from": self.opts.as2_from, "as2_to": self.opts.as2_to, "engine": self.opts.engine,
                "built_at": time.time()}

    def http_request(self, url: str | None = None) -> bytes:
        """The complete HTTP/1.1 request, as bytes."""
        u = urllib.parse.urlsplit(url or self.opts.url)
        path = (u.path or "/") + (("?" + u.query) if u.query else "")
        lines = [f"POST {path} HTTP/1.1", f"Host: {u.netloc}", f"Content-Length: {len(self.body)}"]
        for k, v in self.headers:
            if k.lower() not in ("host", "content-length"):
                lines.append(f"{k}: {unfold(v)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body


class _Capture:
    """Records the inputs pyas2lib passes to its CMS helpers during Message.build(): they are the
    exact entities the MIC rules name (pyas2lib keeps none of them)."""

    def __init__(self):
        self.compress_in = self.sign_in = self.encrypt_in = None

    def __enter__(self):
        self._orig = (_as2.compress_message, _as2.sign_message, _as2.encrypt_message)

        def compress(data):
            self.compress_in = data
            return self._orig[0](data)

        def sign(data, *a, **kw):
            self.sign_in = data
            return self._orig[1](data, *a, **kw)

        def encrypt(data, *a, **kw):
            self.encrypt_in = data
            return self._orig[2](data, *a, **kw)

        _as2.compress_message, _as2.sign_message, _as2.encrypt_message = compress, sign, encrypt
        return self

    def __exit__(self, *exc):
        _as2.compress_message, _as2.sign_message, _as2.encrypt_message = self._orig


def _apply_header_overrides(headers: list, o: BuildOptions) -> list:
    drop = {h.lower() for h in o.drop_headers} | {k.lower() for k, _ in o.extra_headers}
    out = [(k, v) for k, v in headers if k.lower() not in drop]
    out += list(o.extra_headers)
    return out


class Sender:
    """Caches the parsed keys so that building thousands of messages stays cheap."""

    def __init__(self, partner_key: str, partner_cert: str, server_cert: str):
        self.partner_key_pem = read_bytes(partner_key)
        self.partner_cert_pem = read_bytes(partner_cert)
        self.server_cert_pem = read_bytes(server_cert)
        self.paths = (partner_key, partner_cert, server_cert)
        self._orgs: dict = {}

    def org(self, as2_from: str, domain: str, mdn_url: str | None) -> Organization:
        k = (as2_from, domain, mdn_url)
        if k not in self._orgs:
            key = self.partner_key_pem + b"\n" + self.partner_cert_pem
            o = Organization(as2_name=as2_from, sign_key=key, decrypt_key=key, mdn_url=mdn_url, domain=domain)
            self._orgs[k] = o
        return self._orgs[k]

    def build(self, o: BuildOptions, data: bytes, filename: str | None = None) -> Built:
        if o.mdn == "async" and not o.mdn_url:
            raise ToolError("--mdn async needs --mdn-url")
        if o.mdn_micalg_requested and norm_alg(o.mdn_micalg_requested) not in (*PYAS2LIB_DIGESTS, "md5"):
            raise ToolError(f"unsupported --mdn-micalg {o.mdn_micalg_requested}")
        if o.engine == "openssl":
            return self._build_openssl(o, data, filename)
        return self._build_pyas2lib(o, data, filename)

    # ---- pyas2lib engine
    def _build_pyas2lib(self, o: BuildOptions, data: bytes, filename: str | None) -> Built:
        if o.entity_headers is not None:
            raise ToolError("--entity-headers needs the openssl engine (--openssl-encrypt ALG|none)")
        if o.compress_after_sign:
            raise ToolError("--compress-after-sign needs the openssl engine (--openssl-encrypt ALG|none): "
                            "pyas2lib always compresses before signing")
        if o.oaep:
            raise ToolError("--oaep needs --openssl-encrypt: pyas2lib 1.4.4's Message.build ignores "
                            "Partner.key_enc_alg and always uses PKCS#1 v1.5")
        if o.signed and norm_alg(o.sign) not in PYAS2LIB_DIGESTS:
            raise ToolError(f"unsupported --sign {o.sign}")
        if o.encrypt != "none" and o.encrypt not in PYAS2LIB_CIPHERS:
            raise ToolError(f"unsupported --encrypt {o.encrypt} (pyas2lib offers {', '.join(PYAS2LIB_CIPHERS)})")
        left, domain = split_message_id(o.message_id)
        org = self.org(o.as2_from, domain, o.mdn_url)
        micalg = o.mdn_micalg_requested
        partner = Partner(
            as2_name=o.as2_to, verify_cert=self.server_cert_pem, encrypt_cert=self.server_cert_pem,
            compress=o.compress, sign=o.signed, digest_alg=norm_alg(o.sign) if o.signed else "sha256",
            encrypt=o.encrypt != "none", enc_alg=o.encrypt if o.encrypt != "none" else "tripledes_192_cbc",
            mdn_mode={"none": None, "sync": "SYNC", "async": "ASYNC"}[o.mdn],
            mdn_digest_alg=norm_alg(micalg) if micalg else None, sign_alg=o.sign_alg)
        m = Message(org, partner)
        with _Capture() as cap:
            try:
                m.build(data, filename=filename, subject=o.subject, content_type=o.content_type,
                        message_id=left)
            except OSError as e:   # oscrypto: "OpenSSL has been compiled without RC2 support"
                raise ToolError(f"pyas2lib cannot build this message here: {e}") from e
        headers = [(k, unfold(v)) for k, v in m.payload.items()]
        if micalg and norm_alg(micalg) != micalg:
            # keep the spelling the caller asked for (e.g. sha-256); pyas2lib only knows "sha256"
            headers = [(k, v.replace(f"signed-receipt-micalg=optional, {norm_alg(micalg)}",
                                     f"signed-receipt-micalg=optional, {micalg}"))
                       if k.lower() == "disposition-notification-options" else (k, v) for k, v in headers]
        headers = _apply_header_overrides(headers, o)
        if o.signed:
            entity, rule = cap.sign_in, "signed entity (first part of multipart/signed, headers+body)"
        elif cap.compress_in is not None:
            entity, rule = cap.compress_in, "uncompressed entity with headers (RFC 5402)"
        elif cap.encrypt_in is not None:
            entity, rule = cap.encrypt_in, "decrypted entity with headers"
        else:
            entity, rule = m.content, "body without headers"
        return Built(message_id=m.message_id, headers=headers, body=m.content, mic_entity=entity,
                     mic_rule=rule, mic_sent=m.mic.decode() if m.mic else None,
                     mic_sent_alg=m.digest_alg if m.mic else None, mic_alg_expected=o.mic_alg_expected,
                     opts=o, pyas2lib_message=m)

    # ---- openssl engine
    def _build_openssl(self, o: BuildOptions, data: bytes, filename: str | None) -> Built:
        if o.openssl_encrypt not in OPENSSL_CIPHERS:
            raise ToolError(f"unsupported --openssl-encrypt {o.openssl_encrypt}")
        if o.compress_after_sign and not o.compress:
            raise ToolError("--compress-after-sign needs --compress")
        left, domain = split_message_id(o.message_id)
        if not left:
            left = f"{time.time_ns()}.{os.getpid()}.{random.getrandbits(40):x}"
        message_id = f"{left}@{domain}"
        hdr = f"Content-Type: {o.content_type}\r\nContent-Transfer-Encoding: binary\r\n"
        if filename:
            hdr += f'Content-Disposition: attachment; filename="{filename}"\r\n'
        if o.entity_headers is not None:
            # verbatim (tests: missing CTE, odd spacing, folding); lines joined with CRLF
            lines = o.entity_headers.replace("\\r\\n", "\n").replace("\\n", "\n").split("\n")
            hdr = "".join(ln.rstrip("\r") + "\r\n" for ln in lines if ln.rstrip("\r") != "")
        original = hdr.encode() + b"\r\n" + data
        entity = original
        if o.compress and not o.compress_after_sign:
            entity = _compressed_entity(entity)
        mic_entity, rule = None, None
        with tempfile.TemporaryDirectory(prefix="as2peer-") as tmp:
            if o.signed:
                if norm_alg(o.sign) not in PYAS2LIB_DIGESTS:
                    raise ToolError(f"unsupported --sign {o.sign}")
                Path(tmp, "entity").write_bytes(entity)
                sig = run_openssl(["cms", "-sign", "-binary", "-in", f"{tmp}/entity", "-signer", self.paths[1],
                                   "-inkey", self.paths[0], "-md", norm_alg(o.sign), "-outform", "DER"])
                mic_entity, rule = entity, "signed entity (first part of multipart/signed, headers+body)"
                entity = _multipart_signed(entity, sig, hyphen_alg(o.sign))
            if o.compress and o.compress_after_sign:
                entity = _compressed_entity(entity)
            if mic_entity is None:
                if o.compress:
                    mic_entity, rule = original, "uncompressed entity with headers (RFC 5402)"
                elif o.openssl_encrypt != "none":
                    mic_entity, rule = entity, "decrypted entity with headers"
            if o.openssl_encrypt != "none":
                Path(tmp, "plain").write_bytes(entity)
                args = ["cms", "-encrypt", "-binary", "-outform", "DER", "-in", f"{tmp}/plain",
                        f"-{o.openssl_encrypt}", "-recip", self.paths[2]]
                if o.oaep:
                    args += ["-keyopt", "rsa_padding_mode:oaep"]
                der = run_openssl(args)
                stype = "authEnveloped-data" if o.openssl_encrypt.endswith("gcm") else "enveloped-data"
                top = [("Content-Type", f'application/pkcs7-mime; smime-type={stype}; name="smime.p7m"'),
                       ("Content-Transfer-Encoding", "binary"),
                       ("Content-Disposition", 'attachment; filename="smime.p7m"')]
                body = der
            else:
                top, body = _split_entity(entity)
        if mic_entity is None:
            mic_entity, rule = body, "body without headers"
        micalg = o.mdn_micalg_requested
        as2 = [("AS2-Version", "1.2"), ("ediint-features", "CMS"), ("Message-ID", f"<{message_id}>"),
               ("AS2-From", _as2.quote_as2name(o.as2_from)), ("AS2-To", _as2.quote_as2name(o.as2_to)),
               ("Subject", o.subject), ("Date", email.utils.formatdate(localtime=True))]
        if o.mdn != "none":
            as2.append(("Disposition-Notification-To", "no-reply@as2peer.test"))
            if micalg:
                as2.append(("Disposition-Notification-Options",
                            f"signed-receipt-protocol=required, pkcs7-signature; "
                            f"signed-receipt-micalg=optional, {micalg}"))
            if o.mdn == "async":
                as2.append(("Receipt-Delivery-Option", o.mdn_url))
        headers = _apply_header_overrides(top + as2, o)
        mic_alg = o.mic_alg_expected
        return Built(message_id=message_id, headers=headers, body=body, mic_entity=mic_entity, mic_rule=rule,
                     mic_sent=b64digest(mic_alg, mic_entity) if mic_alg else None, mic_sent_alg=mic_alg,
                     mic_alg_expected=mic_alg, opts=o)


def _compressed_entity(inner: bytes) -> bytes:
    return (b"Content-Type: application/pkcs7-mime; smime-type=compressed-data; name=\"smime.p7z\"\r\n"
            b"Content-Transfer-Encoding: binary\r\n"
            b"Content-Disposition: attachment; filename=\"smime.p7z\"\r\n\r\n" + _cms.compress_message(inner))


def _multipart_signed(entity: bytes, sig_der: bytes, micalg: str) -> bytes:
    b = new_boundary()
    sig_b64 = base64.encodebytes(sig_der).replace(b"\n", b"\r\n")
    return (f'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg={micalg}; '
            f'boundary="{b}"\r\n\r\n--{b}\r\n').encode() + entity + (
            f'\r\n--{b}\r\nContent-Type: application/pkcs7-signature; name="smime.p7s"; smime-type=signed-data\r\n'
            f'Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="smime.p7s"\r\n\r\n'
            ).encode() + sig_b64 + f"--{b}--\r\n".encode()


def _split_entity(entity: bytes) -> tuple[list, bytes]:
    head, _, body = entity.partition(b"\r\n\r\n")
    headers = []
    for line in head.decode().split("\r\n"):
        k, _, v = line.partition(":")
        headers.append((k.strip(), v.strip()))
    return headers, body


def write_state(built: Built, state_dir: str | None):
    if not state_dir:
        return
    d = Path(state_dir)
    d.mkdir(parents=True, exist_ok=True)
    p = d / f"msg-{hashlib.sha1(built.message_id.encode()).hexdigest()}.json"
    p.write_text(json.dumps(built.state(), indent=1))


def read_state(state_dir: str, message_id: str) -> dict | None:
    p = Path(state_dir) / f"msg-{hashlib.sha1(message_id.strip('<>').encode()).hexdigest()}.json"
    return json.loads(p.read_text()) if p.is_file() else None


# --------------------------------------------------------------------------------------------
# MDN analysis

def _first_part_and_signature(raw_body: bytes, boundary: str) -> tuple[bytes, bytes | None]:
    """Raw bytes of the first part of a multipart/signed body (exactly what the signature covers)
    and the decoded signature. Boundary lines are found on the raw bytes, so nothing is
    re-serialized."""
    delim = b"--" + boundary.encode()
    parts = re.split(rb"(?:^|\r?\n)" + re.escape(delim) + rb"(?=--|[ \t]*\r?\n)", raw_body)
    # parts[0] = preamble, parts[1] = "\r\n<first part>", parts[2] = "\r\n<signature part>", last = "--..."
    if len(parts) < 3:
        raise ValueError("multipart/signed with fewer than two parts")
    first = parts[1]
    first = first[2:] if first.startswith(b"\r\n") else first[1:] if first.startswith(b"\n") else first
    sigpart = parts[2].lstrip(b"\r\n")
    sig_msg = email.message_from_bytes(sigpart)
    return first, sig_msg.get_payload(decode=True)


def _openssl_verify(content: bytes, sig_der: bytes, cert_path: str) -> tuple[bool, str]:
    with tempfile.TemporaryDirectory(prefix="as2peer-v-") as tmp:
        Path(tmp, "c").write_bytes(content)
        Path(tmp, "s").write_bytes(sig_der)
        r = subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", f"{tmp}/s",
                            "-content", f"{tmp}/c", "-CAfile", cert_path, "-certfile", cert_path,
                            "-purpose", "any", "-signer", f"{tmp}/signer.pem", "-out", "/dev/null"],
                           capture_output=True)
        if r.returncode != 0:
            return False, r.stderr.decode(errors="replace").strip()[-400:]
        # the signer must be the server's certificate, not merely one chaining to it
        a = run_openssl(["x509", "-noout", "-fingerprint", "-sha256", "-in", f"{tmp}/signer.pem"])
        b = run_openssl(["x509", "-noout", "-fingerprint", "-sha256", "-in", cert_path])
        return (a == b), ("ok" if a == b else "signed by another certificate")


def _fake_original(state: dict) -> Message:
    """A pyas2lib Message with exactly what Mdn.parse reads from the original message:
    message_id, mic, receiver.mdn_digest_alg and receiver.load_verify_cert()."""
    m = Message()
    m.message_id = state["message_id"]
    alg = state.get("mic_sent_alg") or state.get("mic_alg_expected")
    m.mic = state["mic_sent"].encode() if state.get("mic_sent") else None
    m.digest_alg = alg
    m.receiver = Partner(as2_name=state["as2_to"], verify_cert=read_bytes(state["server_cert"]),
                         mdn_digest_alg="sha256" if state.get("mdn_signed_requested") else None)
    return m


def analyze_mdn(headers: list, body: bytes, state: dict, orig: Message | None = None) -> dict:
    """Verify one MDN (sync response or async POST) against the original message's state.
    headers: [(name, value)] HTTP headers; body: raw HTTP body."""
    raw = "".join(f"{k}: {unfold(v)}\r\n" for k, v in headers).encode() + b"\r\n" + body
    out: dict = {"raw_headers": {k: v for k, v in headers}}
    hget = {k.lower(): v for k, v in headers}
    out["as2_from"], out["as2_to"] = hget.get("as2-from"), hget.get("as2-to")
    out["message_id"] = hget.get("message-id")
    orig = orig or _fake_original(state)
    # pyas2lib's own verdict
    try:
        st, det = Mdn().parse(raw, find_message_cb=lambda mid, rcpt: orig)
    except Exception as e:  # noqa: BLE001 - pyas2lib raised outside its own try
        st, det = "failed/Failure", f"pyas2lib raised {e!r}"
    out["status"], out["detailed_status"] = st, det
    # our own reading
    msg = email.message_from_bytes(raw)
    ctype = msg.get_content_type()
    out["content_type"] = msg.get("Content-Type")
    out["signed"] = ctype == "multipart/signed"
    out["micalg_param"] = msg.get_param("micalg") if out["signed"] else None
    out["signature_ok"], out["signature_detail"] = None, None
    if out["signed"]:
        try:
            first, sig = _first_part_and_signature(body, msg.get_boundary())
            out["signature_ok"], out["signature_detail"] = _openssl_verify(first, sig, state["server_cert"])
        except Exception as e:  # noqa: BLE001
            out["signature_ok"], out["signature_detail"] = False, f"cannot split multipart/signed: {e}"
    report = None
    for part in msg.walk():
        if part.get_content_type() == "message/disposition-notification":
            report = part
            break
    out["report_found"] = report is not None
    fields: dict = {}
    if report is not None:
        payload = report.get_payload()
        if isinstance(payload, list):        # the email package parses the report as header blocks
            for blk in payload:
                for k, v in blk.items():
                    fields.setdefault(k.lower(), unfold(v).strip())
        else:
            text = report.get_payload(decode=True).decode(errors="replace")
            for line in re.sub(r"\r?\n[ \t]+", " ", text).splitlines():
                if ":" in line:
                    k, _, v = line.partition(":")
                    fields.setdefault(k.strip().lower(), v.strip())
    out["fields"] = fields
    disp = fields.get("disposition")
    out["disposition"] = disp
    dtype, dmod = None, None
    if disp and ";" in disp:
        tail = disp.split(";", 1)[1].strip()
        dtype, _, dmod = tail.partition(":")
        dtype, dmod = dtype.strip(), (dmod.strip() or None)
    out["disposition_type"], out["disposition_modifier"] = dtype, dmod
    out["processed"] = dtype is not None and dtype.lower() == "processed" and dmod is None
    omid = fields.get("original-message-id")
    out["original_message_id"] = omid
    out["original_message_id_ok"] = omid is not None and omid.strip().strip("<>") == state["message_id"]
    mic_field = fields.get("received-content-mic")
    out["mic"], out["mic_alg"], out["mic_ok"], out["mic_alg_ok"] = None, None, None, None
    out["mic_alg_requested"] = state.get("mic_alg_expected")
    entity = base64.b64decode(state["mic_entity_b64"])
    if mic_field:
        val, _, alg = mic_field.partition(",")
        out["mic"], out["mic_alg"] = val.strip(), alg.strip()
        try:
            out["mic_expected"] = b64digest(out["mic_alg"], entity)
            out["mic_ok"] = out["mic_expected"] == out["mic"]
        except (ValueError, TypeError, AttributeError):
            out["mic_expected"], out["mic_ok"] = None, False
        if state.get("mic_alg_expected"):
            out["mic_alg_ok"] = norm_alg(out["mic_alg"]) == norm_alg(state["mic_alg_expected"])
    else:
        out["mic_ok"] = False
    return out


# --------------------------------------------------------------------------------------------
# HTTP

def post(url: str, built: Built, cafile: str | None = None, timeout: float = 60) -> tuple[int, str, list, bytes]:
    u = urllib.parse.urlsplit(url)
    path = (u.path or "/") + (("?" + u.query) if u.query else "")
    if u.scheme == "https":
        ctx = ssl.create_default_context(cafile=cafile)
        if cafile:
            ctx.check_hostname = False   # self-signed test certificates name no host
        conn = http.client.HTTPSConnection(u.hostname, u.port or 443, timeout=timeout, context=ctx)
    elif u.scheme == "http":
        conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    else:
        raise ToolError(f"unsupported URL scheme: {url}")
    try:
        hdrs = {k: unfold(v) for k, v in built.headers if k.lower() not in ("host", "content-length")}
        hdrs["Content-Length"] = str(len(built.body))
        conn.request("POST", path, body=built.body, headers=hdrs)
        r = conn.getresponse()
        body = r.read()
        return r.status, r.reason, r.getheaders(), body
    except (OSError, http.client.HTTPException) as e:
        raise ToolError(f"HTTP POST to {url} failed: {e}") from e
    finally:
        conn.close()


# --------------------------------------------------------------------------------------------
# CLI

def add_build_args(ap: argparse.ArgumentParser):
    ap.add_argument("--url", default="http://127.0.0.1/", help="receiver URL (build: used for the request line)")
    ap.add_argument("--from", dest="as2_from", required=True, help="our AS2 id (AS2-From)")
    ap.add_argument("--to", dest="as2_to", required=True, help="receiver AS2 id (AS2-To)")
    ap.add_argument("--partner-key", required=True, help="our private key (PEM): signs")
    ap.add_argument("--partner-cert", required=True, help="our certificate (PEM)")
    ap.add_argument("--server-cert", required=True, help="receiver's certificate: encryption + MDN check")
    ap.add_argument("--sign", default="sha256", help="sha1|sha224|sha256|sha384|sha512|none")
    ap.add_argument("--encrypt", default="aes_256_cbc", help="|".join(PYAS2LIB_CIPHERS) + "|none (pyas2lib)")
    ap.add_argument("--compress", action="store_true", help="compress (pyas2lib: before signing)")
    ap.add_argument("--compress-after-sign", action="store_true", help="openssl engine: compress the signed entity")
    ap.add_argument("--mdn", default="sync", choices=["none", "sync", "async"])
    ap.add_argument("--mdn-url", help="Receipt-Delivery-Option for --mdn async")
    ap.add_argument("--signed-mdn", action="store_true", help="request a signed MDN")
    ap.add_argument("--mdn-micalg", help="signed-receipt-micalg, spelling kept (sha256, sha-256...); implies --signed-mdn")
    ap.add_argument("--file", help=f"payload (default {DEFAULT_FILE})")
    ap.add_argument("--invoice-number", help=f"replace {SAMPLE_INVOICE_NUMBER} in the payload")
    ap.add_argument("--filename", help="Content-Disposition filename of the payload")
    ap.add_argument("--content-type", default="application/xml")
    ap.add_argument("--message-id", help="<left@domain> (default: generated, @as2peer.test)")
    ap.add_argument("--subject", default="AS2 Message")
    ap.add_argument("--openssl-encrypt", choices=OPENSSL_CIPHERS, help="build with openssl cms instead of pyas2lib")
    ap.add_argument("--oaep", action="store_true", help="openssl engine: RSAES-OAEP key transport")
    ap.add_argument("--entity-headers", metavar="TEXT",
                    help="openssl engine: the payload entity's header block verbatim, lines separated by "
                         "newlines or literal \\n (default: Content-Type + CTE binary)")
    ap.add_argument("--sign-alg", default="rsassa_pkcs1v15", choices=["rsassa_pkcs1v15", "rsassa_pss"],
                    help="pyas2lib engine signature algorithm")
    ap.add_argument("--header", action="append", default=[], metavar="NAME:VALUE", help="add/replace an HTTP header")
    ap.add_argument("--drop-header", action="append", default=[], metavar="NAME", help="remove an HTTP header")
    ap.add_argument("--state-dir", help="store what mdn-server needs to verify an async MDN")


def opts_from_args(a) -> BuildOptions:
    extra = []
    for h in a.header:
        k, sep, v = h.partition(":")
        if not sep:
            raise ToolError(f"--header needs NAME:VALUE, got {h!r}")
        extra.append((k.strip(), v.strip()))
    return BuildOptions(
        as2_from=a.as2_from, as2_to=a.as2_to, partner_key=a.partner_key, partner_cert=a.partner_cert,
        server_cert=a.server_cert, sign=a.sign, encrypt=a.encrypt, compress=a.compress or a.compress_after_sign,
        compress_after_sign=a.compress_after_sign, mdn=a.mdn, mdn_url=a.mdn_url,
        signed_mdn=a.signed_mdn or bool(a.mdn_micalg), mdn_micalg=a.mdn_micalg, content_type=a.content_type,
        filename=a.filename, message_id=a.message_id, openssl_encrypt=a.openssl_encrypt, oaep=a.oaep,
        sign_alg=a.sign_alg, subject=a.subject, extra_headers=extra, drop_headers=a.drop_header, url=a.url,
        entity_headers=a.entity_headers)


def build_from_args(a) -> Built:
    for p in (a.partner_key, a.partner_cert, a.server_cert):
        if not Path(p).is_file():
            raise ToolError(f"file not found: {p}")
    o = opts_from_args(a)
    data, _ = load_payload(a.file, a.invoice_number)
    built = Sender(a.partner_key, a.partner_cert, a.server_cert).build(o, data, a.filename)
    write_state(built, a.state_dir)
    return built


def cmd_keys(a) -> dict:
    return make_keys(a.dir, a.name, a.cn)


def cmd_build(a) -> dict:
    built = build_from_args(a)
    req = built.http_request(a.url)
    Path(a.out).write_bytes(req)
    meta = {"message_id": f"<{built.message_id}>", "url": a.url, "request_file": a.out,
            "headers": dict(built.headers), "body_file": a.out + ".body",
            "mic_sent": built.mic_sent, "mic_sent_alg": built.mic_sent_alg,
            "mic_expected": {"alg": built.mic_alg_expected, "rule": built.mic_rule,
                             "value": b64digest(built.mic_alg_expected, built.mic_entity) if built.mic_alg_expected else None},
            "request": built.summary()}
    Path(a.out + ".body").write_bytes(built.body)
    Path(a.out + ".json").write_text(json.dumps(meta, indent=1))
    return meta


def cmd_send(a) -> dict:
    built = build_from_args(a)
    res = {"http_status": None, "message_id": f"<{built.message_id}>", "mic_sent": built.mic_sent,
           "mic_sent_alg": built.mic_sent_alg,
           "mic_expected": {"alg": built.mic_alg_expected, "rule": built.mic_rule,
                            "value": b64digest(built.mic_alg_expected, built.mic_entity) if built.mic_alg_expected else None},
           "request": built.summary(), "mdn": None, "error": None}
    if a.raw_out:
        Path(a.raw_out + ".request").write_bytes(built.http_request(a.url))
    status, reason, headers, body = post(a.url, built, a.cafile, a.timeout)
    res["http_status"], res["http_reason"] = status, reason
    res["response_headers"] = {k: v for k, v in headers}
    if a.raw_out:
        Path(a.raw_out).write_bytes(f"HTTP/1.1 {status} {reason}\r\n".encode()
                                    + "".join(f"{k}: {v}\r\n" for k, v in headers).encode() + b"\r\n" + body)
    if a.mdn == "sync" and status == 200 and body:
        res["mdn"] = analyze_mdn(headers, body, built.state(), built.pyas2lib_message)
    else:
        res["response_body"] = body[:4000].decode("utf-8", errors="replace")
    return res


def cmd_mdn_server(a) -> dict:
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    state_dir = a.state_dir or a.out
    seq = [0]
    lock = threading.Lock()

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):
            if a.verbose:
                sys.stderr.write("mdn-server: " + fmt % args + "\n")

        def do_POST(self):
            body = read_http_body(self)
            with lock:
                seq[0] += 1
                n = seq[0]
            raw = (f"{self.command} {self.path} {self.request_version}\r\n".encode()
                   + "".join(f"{k}: {v}\r\n" for k, v in self.headers.items()).encode() + b"\r\n" + body)
            (out / f"mdn-{n:04d}.raw").write_bytes(raw)
            verdict: dict = {"seq": n, "received_at": time.time(), "path": self.path}
            try:
                hdrs = list(self.headers.items())
                omid = _original_message_id(hdrs, body)
                verdict["original_message_id"] = omid
                st = read_state(state_dir, omid) if omid else None
                if st is None:
                    verdict["error"] = f"no state for original message {omid!r} in {state_dir}"
                else:
                    if a.server_cert:
                        st["server_cert"] = str(Path(a.server_cert).resolve())
                    verdict.update(analyze_mdn(hdrs, body, st))
            except Exception as e:  # noqa: BLE001
                verdict["error"] = f"{e!r}"
                verdict["traceback"] = traceback.format_exc()
            (out / f"mdn-{n:04d}.json").write_text(json.dumps(verdict, indent=1))
            resp = b"OK\n"
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "
                             + str(len(resp)).encode() + b"\r\n\r\n" + resp)

    class S(ThreadingHTTPServer):
        daemon_threads = True
        block_on_close = False  # a kept-alive client must not hold up the exit
        allow_reuse_address = True

    srv = S(("127.0.0.1", a.port), H)
    port = srv.server_address[1]
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    t.start()
    print(json.dumps({"listening": f"http://127.0.0.1:{port}/", "port": port, "out": str(out), "pid": os.getpid()}), flush=True)
    # Short waits: the kernel may hand SIGTERM to a server thread, and the main thread only runs
    # Python signal handlers when it wakes up.
    deadline = time.monotonic() + a.max_seconds
    while not stop.wait(0.2) and time.monotonic() < deadline:
        pass
    srv.shutdown()
    srv.server_close()
    return {"stopped": True, "received": seq[0]}


def _original_message_id(headers: list, body: bytes) -> str | None:
    raw = "".join(f"{k}: {unfold(v)}\r\n" for k, v in headers).encode() + b"\r\n" + body
    m = re.search(rb"Original-Message-ID:\s*<?([^\r\n>]+)>?", raw, re.I)
    return m.group(1).decode().strip() if m else None


def read_http_body(h: BaseHTTPRequestHandler) -> bytes:
    """Body of the current request: Content-Length or chunked."""
    if h.headers.get("Expect", "").lower() == "100-continue":
        pass  # BaseHTTPRequestHandler already answered 100 Continue for HTTP/1.1
    if "chunked" in h.headers.get("Transfer-Encoding", "").lower():
        chunks = []
        while True:
            line = h.rfile.readline()
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while h.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            chunks.append(h.rfile.read(size))
            h.rfile.readline()
        return b"".join(chunks)
    n = int(h.headers.get("Content-Length") or 0)
    return h.rfile.read(n) if n else b""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="as2peer", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    k = sub.add_parser("keys", help="RSA-2048 key + self-signed cert (PEM)")
    k.add_argument("--dir", required=True)
    k.add_argument("--name", default="partner", help="file prefix: NAME.key.pem, NAME.cert.pem")
    k.add_argument("--cn", help="certificate CN (default: NAME)")
    s = sub.add_parser("send", help="build, POST, verify the sync MDN")
    add_build_args(s)
    s.add_argument("--cafile", help="trust this CA/cert for https:// URLs")
    s.add_argument("--timeout", type=float, default=60)
    s.add_argument("--raw-out", help="write the raw HTTP response here (and the request to FILE.request)")
    b = sub.add_parser("build", help="write the complete HTTP request without sending")
    add_build_args(b)
    b.add_argument("--out", required=True, help="raw HTTP/1.1 request; also OUT.body and OUT.json")
    m = sub.add_parser("mdn-server", help="receive and verify async MDNs")
    m.add_argument("--port", type=int, default=0, help="0 = any free port (printed on stdout)")
    m.add_argument("--out", required=True, help="directory for mdn-NNNN.raw / mdn-NNNN.json")
    m.add_argument("--state-dir", help="where send/build --state-dir wrote the message state (default --out)")
    m.add_argument("--partner-key", help="accepted for symmetry; async MDNs are not encrypted")
    m.add_argument("--server-cert", help="the MDN signer's certificate (default: the one each message was sent with)")
    m.add_argument("--max-seconds", type=float, default=600)
    m.add_argument("--verbose", action="store_true")
    bt = sub.add_parser("batch", help="run many sends in one process (the interop matrix): "
                        "FILE holds a JSON list of {\"name\": ..., \"args\": [send arguments]}")
    bt.add_argument("file")
    a = ap.parse_args(argv)
    if a.cmd == "batch":
        # One interpreter for the whole matrix: pyas2lib's import costs more than a send.
        cases = json.loads(Path(a.file).read_text())
        logging.getLogger("pyas2lib").setLevel(logging.CRITICAL)
        results = []
        for case in cases:
            try:
                sa = ap.parse_args(["send", *case["args"]])
                results.append({"name": case["name"], **cmd_send(sa)})
            except ToolError as e:
                results.append({"name": case["name"], "error": str(e)})
            except Exception as e:  # noqa: BLE001
                results.append({"name": case["name"], "error": f"{e!r}", "traceback": traceback.format_exc()})
        print(json.dumps(results, indent=1, default=str))
        return 0
    # pyas2lib logs every failed parse with a traceback at ERROR; the verdict is in our JSON already
    logging.getLogger("pyas2lib").setLevel(logging.DEBUG if os.environ.get("AS2PEER_DEBUG") else logging.CRITICAL)
    try:
        res = {"keys": cmd_keys, "send": cmd_send, "build": cmd_build, "mdn-server": cmd_mdn_server}[a.cmd](a)
        print(json.dumps(res, indent=1, default=str))
        return 0
    except ToolError as e:
        print(json.dumps({"error": str(e)}))
        return 2
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"error": f"{e!r}", "traceback": traceback.format_exc()}))
        return 2


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Capture real AS2 messages and MDNs built by pyas2lib, plus MIME variants made with
Python's email module, as fixtures for Tests/FluxMIMETests.

Run with the project venv (pyas2lib installed):
    /work/main/.venv/bin/python capture/make_fixtures.py Tests/FluxMIMETests/Fixtures

For each AS2 message NAME it writes
    NAME.as2            HTTP headers ("Name: value" CRLF), CRLF, HTTP body: as on the wire
    NAME.signed         exact bytes pyas2lib passed to sign_message (what the MIC covers), if signed
    NAME.inner          exact bytes pyas2lib passed to encrypt_message (the decrypted entity), if encrypted
    NAME.uncompressed   exact bytes pyas2lib passed to compress_message, if compressed
and manifest.json with pyas2lib's view of each (mic, digest, Content-Type, message id).
The key pair is generated on each run (test-only); its PEM files are written too, so other
tests can verify the signatures.
"""
import datetime
import hashlib
import json
import os
import sys
from email import message as email_message
from email import policy
from email.generator import BytesGenerator
from email.mime.multipart import MIMEMultipart
from io import BytesIO

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from pyas2lib import as2

OUT = sys.argv[1] if len(sys.argv) > 1 else "Tests/FluxMIMETests/Fixtures"
os.makedirs(OUT, exist_ok=True)

# --- test-only key pair -----------------------------------------------------------------------
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "flux-mime-fixture")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (
    x509.CertificateBuilder()
    .subject_name(name).issuer_name(name).public_key(key.public_key())
    .serial_number(x509.random_serial_number())
    .not_valid_before(now - datetime.timedelta(days=1))
    .not_valid_after(now + datetime.timedelta(days=3650))
    .sign(key, hashes.SHA256())
)
key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
cert_pem = cert.public_bytes(serialization.Encoding.PEM)


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


write("test-key.pem", key_pem)
write("test-cert.pem", cert_pem)

# --- capture what pyas2lib signs, encrypts, compresses ---------------------------------------
captured = {}
_sign, _encrypt, _compress = as2.sign_message, as2.encrypt_message, as2.compress_message


def sign_spy(data, *a, **k):
    captured.setdefault("signed", []).append(data)
    return _sign(data, *a, **k)


def encrypt_spy(data, *a, **k):
    captured["inner"] = data
    return _encrypt(data, *a, **k)


def compress_spy(data, *a, **k):
    captured["uncompressed"] = data
    return _compress(data, *a, **k)


as2.sign_message, as2.encrypt_message, as2.compress_message = sign_spy, encrypt_spy, compress_spy

sender = as2.Organization(as2_name="FLUXSENDER", sign_key=key_pem + cert_pem,
                          decrypt_key=key_pem + cert_pem)
gateway_org = as2.Organization(as2_name="GATEWAY", sign_key=key_pem + cert_pem,
                               decrypt_key=key_pem + cert_pem)

PAYLOAD_CRLF = (b'<?xml version="1.0" encoding="UTF-8"?>\r\n<Invoice>\r\n  <ID>INV-1</ID>\r\n'
                b'  <Note>--not a boundary</Note>\r\n</Invoice>\r\n')
PAYLOAD_LF = PAYLOAD_CRLF.replace(b"\r\n", b"\n")
PAYLOAD_BIN = bytes(range(256)) + b"\r\n--\n\r\r\n" + bytes(range(255, -1, -1))

manifest = {}


def http_bytes(headers, body):
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode("utf-8") + b"\r\n" + body


def build(name, payload, content_type="application/xml", filename="invoice.xml", **partner):
    captured.clear()
    receiver = as2.Partner(as2_name="GATEWAY", verify_cert=cert_pem, encrypt_cert=cert_pem,
                           validate_certs=False, **partner)
    msg = as2.Message(sender, receiver)
    msg.build(payload, filename=filename, content_type=content_type, message_id=name)
    headers, body = msg.headers, msg.content
    write(f"{name}.as2", http_bytes(headers, body))
    entry = {
        "contentType": headers["Content-Type"],
        "messageID": headers["Message-ID"],
        "mic": msg.mic.decode() if msg.mic else None,
        "digest": msg.digest_alg,
        "dispositionNotificationOptions": headers.get("disposition-notification-options"),
    }
    for k in ("signed", "inner", "uncompressed"):
        if k in captured:
            data = captured[k][0] if k == "signed" else captured[k]
            write(f"{name}.{k}", data)
            entry[k] = f"{name}.{k}"
            if k == "signed":
                entry["signedSHA"] = hashlib.new(msg.digest_alg, data).hexdigest()
    manifest[name] = entry
    return headers, body


def receive(headers, body):
    """Parse with pyas2lib as the receiver would and return (status, mdn)."""
    captured.clear()
    sender_partner = as2.Partner(as2_name="FLUXSENDER", verify_cert=cert_pem, encrypt_cert=cert_pem,
                                 validate_certs=False)
    msg = as2.Message()
    status, exc, mdn = msg.parse(
        http_bytes(headers, body),
        find_org_cb=lambda _id: gateway_org,
        find_partner_cb=lambda _id: sender_partner,
    )
    assert exc[0] is None, exc
    return status, msg, mdn


build("signed-sha256", PAYLOAD_CRLF, sign=True, digest_alg="sha256")
build("signed-sha1-lf-payload", PAYLOAD_LF, sign=True, digest_alg="sha1")
build("signed-binary", PAYLOAD_BIN, content_type="application/octet-stream", filename="blob.bin",
      sign=True, digest_alg="sha256")
build("encrypted", PAYLOAD_CRLF, encrypt=True, enc_alg="aes_128_cbc")
h_se, b_se = build("signed-encrypted", PAYLOAD_CRLF, sign=True, digest_alg="sha256", encrypt=True,
                   enc_alg="aes_256_cbc", mdn_mode="SYNC", mdn_digest_alg="sha256")
build("compressed-signed-encrypted", PAYLOAD_CRLF, compress=True, sign=True, digest_alg="sha256",
      encrypt=True, enc_alg="aes_128_cbc")
build("compressed", PAYLOAD_CRLF, compress=True)
h_plain, b_plain = build("plain-unsigned", PAYLOAD_CRLF, mdn_mode="SYNC")

# --- MDNs: pyas2lib as the receiver ------------------------------------------------------------
status, rmsg, mdn = receive(h_se, b_se)
assert status == "processed", status
captured.clear()
# Rebuild so the spy sees exactly what pyas2lib signs for the MDN.
mdn = as2.Mdn(mdn_mode="SYNC")
mdn.build(message=rmsg, status="processed")
write("mdn-signed.as2", http_bytes(mdn.headers, mdn.content))
write("mdn-signed.signed", captured["signed"][0])
manifest["mdn-signed"] = {
    "contentType": mdn.headers["Content-Type"],
    "originalMessageID": f"<{rmsg.message_id}>",
    "mic": rmsg.mic.decode(),
    "digest": rmsg.digest_alg,
    "signed": "mdn-signed.signed",
}
status, rmsg2, mdn2 = receive(h_plain, b_plain)
write("mdn-unsigned.as2", http_bytes(mdn2.headers, mdn2.content))
manifest["mdn-unsigned"] = {
    "contentType": mdn2.headers["Content-Type"],
    "originalMessageID": f"<{rmsg2.message_id}>",
}

# --- variants with Python's email module --------------------------------------------------------
def flatten(msg, pol):
    fp = BytesIO()
    BytesGenerator(fp, policy=pol).flatten(msg)
    return fp.getvalue()


def variant_parts(pol, boundary):
    outer = MIMEMultipart("signed", protocol="application/pkcs7-signature", micalg="sha-256",
                          boundary=boundary)
    outer.preamble = "This is an S/MIME signed message"
    outer.epilogue = "epilogue text\r\n--not-the-boundary--"
    inner = email_message.Message()
    inner.set_payload(PAYLOAD_LF.decode())
    inner.set_type("application/xml")
    inner.add_header("Content-Disposition", "attachment",
                     filename="a-rather-long-file-name-so-that-the-header-gets-folded-by-the-generator.xml")
    inner["X-Long-Note"] = ("a header long enough that the SMTP policy must fold it at a space "
                            "before column seventy-eight")
    del inner["MIME-Version"]
    sig = email_message.Message()
    sig.set_type("application/pkcs7-signature")
    sig.set_param("name", "smime.p7s")
    sig.set_payload(b"\x30\x82\x01\x00fake-der")
    from email import encoders
    encoders.encode_base64(sig)
    del sig["MIME-Version"]
    outer.attach(inner)
    outer.attach(sig)
    return outer, inner


def first_part(whole, boundary, nl):
    """Oracle for the expected signed region: plain byte search for the (unique) delimiter.
    (Flattening the part on its own is NOT an oracle: the generator re-serialises headers
    differently out of context, e.g. RFC 2231 filename*0* splitting, which is exactly the
    MIC-mismatch trap FluxMIME avoids.)"""
    delim = b"--" + boundary.encode()
    start = whole.index(delim + nl) + len(delim + nl)
    end = whole.index(nl + delim, start)
    return whole[start:end]


# 1. SMTP policy: CRLF, folded headers (78 columns), preamble and epilogue, quoted boundary,
#    no Content-Transfer-Encoding on the first part.
outer, inner = variant_parts(policy.SMTP, "----=_Part_0_1.2")
# The generator leaves in-context part headers unfolded; fold one by hand (tab continuation).
whole = flatten(outer, policy.SMTP).replace(b"at a space before", b"at a space\r\n\tbefore")
write("variant-folded-crlf.eml", whole)
write("variant-folded-crlf.part1", first_part(whole, "----=_Part_0_1.2", b"\r\n"))
# 2. The same with LF-only line ends (policy.default): sloppy senders.
outer, inner = variant_parts(policy.default, "simple boundary")
lf_whole = flatten(outer, policy.default).replace(b"at a space before", b"at a space\n    before")
write("variant-lf.eml", lf_whole)
write("variant-lf.part1", first_part(lf_whole, "simple boundary", b"\n"))
# 3. Transport padding after the boundaries (SP/HT before the line break).
pad = whole.replace(b"------=_Part_0_1.2\r\n", b"------=_Part_0_1.2  \t\r\n")
pad = pad.replace(b"------=_Part_0_1.2--", b"------=_Part_0_1.2--   ")
write("variant-padding.eml", pad)

write("manifest.json", json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n")
print("wrote", len(manifest), "AS2 fixtures to", OUT)

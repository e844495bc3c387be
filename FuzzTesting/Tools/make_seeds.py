#!/usr/bin/env python3
"""Builds the seed corpus of each fuzz target from real samples (FuzzTesting/run calls this).

    make_seeds.py --repo REPO --shared SHARED --out OUTDIR TARGET...

Writes OUTDIR/<target>/ afresh for each target named:
  mime_as2     the pyas2lib captures of Tests/FluxMIMETests/Fixtures (AS2 messages, MDNs, parts)
               as MIME entities, and the same messages as the HTTP requests a partner sends
               (Content-Length, chunked, Expect: 100-continue, pipelined, HTTP/1.0, folded)
  sftp_packet  client packet streams such as OpenSSH's sftp and WinSCP send (upload with a temp
               name then rename, listing, receipt download and delete, extensions, hostile paths)
  xml_extract  the XML invoices and CDAR messages of the shared corpus (official EN 16931
               examples, French samples, negative cases), the smallest ones first
  archive      the PPF envelopes and broken archives of the corpus, plus small tar.gz and zip
               deposits made from corpus invoices (stored, deflated, directories, links, '..',
               nested archive, empty)
  pdf          the Factur-X PDFs of the corpus (those under 128 KiB) and small hand-made PDFs with
               an embedded invoice (plain and FlateDecode, /AF and name tree), plus zlib streams
"""
import argparse
import gzip
import hashlib
import io
import os
import shutil
import struct
import sys
import tarfile
import zipfile
import zlib


def write(outdir, name, data):
    with open(os.path.join(outdir, name), "wb") as f:
        f.write(data)


def corpus_files(shared, suffixes, max_bytes, exclude=("schemas", "validation")):
    root = os.path.join(shared, "corpus")
    found = []
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        if rel.split(os.sep)[0] in exclude:
            continue
        for f in files:
            if f.lower().endswith(suffixes):
                p = os.path.join(d, f)
                if os.path.getsize(p) <= max_bytes:
                    found.append(p)
    return sorted(found, key=lambda p: (os.path.getsize(p), p))


def seed_name(prefix, data):
    return f"{prefix}-{hashlib.sha1(data).hexdigest()[:12]}"


# --- mime_as2 ---------------------------------------------------------------------------------

def split_head(msg):
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = msg.find(sep)
        if i >= 0:
            return msg[:i], msg[i + len(sep):]
    return msg, b""


def http_request(head_lines, body, *, chunked=False, expect=False, version=b"HTTP/1.1", extra=()):
    lines = [b"POST /as2 " + version, b"Host: gateway.example:4080", b"User-Agent: pyAS2"]
    lines += [l for l in head_lines if l]
    lines += list(extra)
    if expect:
        lines.append(b"Expect: 100-continue")
    if chunked:
        lines.append(b"Transfer-Encoding: chunked")
        out = b""
        for i in range(0, len(body), 700):
            piece = body[i:i + 700]
            ext = b";name=value" if i == 0 else b""
            out += b"%x%s\r\n%s\r\n" % (len(piece), ext, piece)
        out += b"0\r\nX-Trailer: done\r\n\r\n"
        payload = out
    else:
        lines.append(b"Content-Length: %d" % len(body))
        payload = body
    return b"\r\n".join(lines) + b"\r\n\r\n" + payload


def seeds_mime_as2(args, out):
    fixtures = os.path.join(args.repo, "Tests", "FluxMIMETests", "Fixtures")
    n = 0
    for f in sorted(os.listdir(fixtures)):
        if not f.endswith((".as2", ".eml", ".inner", ".signed", ".part1")):
            continue
        data = open(os.path.join(fixtures, f), "rb").read()
        write(out, "mime-" + f, data)
        n += 1
        if not f.endswith(".as2"):
            continue
        head, body = split_head(data)
        head_lines = head.replace(b"\r\n", b"\n").split(b"\n")
        base = f[:-4]
        write(out, f"http-{base}", http_request(head_lines, body))
        write(out, f"http-chunked-{base}", http_request(head_lines, body, chunked=True, expect=True))
        n += 2
        if base in ("plain-unsigned", "signed-sha256"):
            dno = [b"Disposition-Notification-To: mailto:as2@partner.example",
                   b"Disposition-Notification-Options: signed-receipt-protocol=optional, pkcs7-signature; "
                   b"signed-receipt-micalg=optional, sha-256, sha1",
                   b"Receipt-Delivery-Option: https://partner.example/as2/mdn"]
            first = http_request(head_lines, body, extra=dno + [b"Connection: keep-alive"])
            second = http_request(head_lines, body, version=b"HTTP/1.0", extra=[b"Connection: keep-alive"])
            write(out, f"http-pipelined-{base}", b"\r\n" + first + second)
            folded = [l if not l.startswith(b"Subject") else l + b"\r\n\tcontinued" for l in head_lines]
            write(out, f"http-folded-{base}", http_request(folded, body, extra=[b"Connection: close"]))
            n += 2
    return n


# --- sftp_packet --------------------------------------------------------------------------------

class Pkt:
    def __init__(self, t, ident=None):
        self.b = bytearray([t])
        if ident is not None:
            self.u32(ident)

    def u32(self, v):
        self.b += struct.pack(">I", v & 0xFFFFFFFF)
        return self

    def u64(self, v):
        self.b += struct.pack(">Q", v)
        return self

    def s(self, v):
        if isinstance(v, str):
            v = v.encode()
        self.u32(len(v))
        self.b += v
        return self

    def attrs(self, flags=0, size=None, perms=None, times=None, ext=()):
        self.u32(flags)
        if size is not None:
            self.u64(size)
        if perms is not None:
            self.u32(perms)
        if times is not None:
            self.u32(times[0]).u32(times[1])
        if flags & 0x80000000:
            self.u32(len(ext))
            for k, v in ext:
                self.s(k).s(v)
        return self

    def framed(self):
        return struct.pack(">I", len(self.b)) + bytes(self.b)


def handle(k):
    return b"FUZZ-HANDLE-000" + bytes([0x30 + k])


READ, WRITE, APPEND, CREAT, TRUNC, EXCL = 1, 2, 4, 8, 0x10, 0x20
UPLOAD = WRITE | CREAT | TRUNC


def sftp_streams():
    init = Pkt(1).u32(3).framed()
    invoice = b'<?xml version="1.0"?>\n<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>\n'
    s = {}
    # OpenSSH sftp "put invoice.xml /inbox/": realpath, stat, open, write, fstat, close.
    s["openssh-put"] = init + b"".join([
        Pkt(16, 1).s(".").framed(),
        Pkt(17, 2).s("/inbox/invoice.xml").framed(),
        Pkt(3, 3).s("/inbox/invoice.xml").u32(UPLOAD).attrs(4, perms=0o644).framed(),
        Pkt(6, 4).s(handle(0)).u64(0).s(invoice[:40]).framed(),
        Pkt(6, 5).s(handle(0)).u64(40).s(invoice[40:]).framed(),
        Pkt(8, 6).s(handle(0)).framed(),
        Pkt(10, 7).s(handle(0)).attrs(8, times=(1700000000, 1700000000)).framed(),
        Pkt(4, 8).s(handle(0)).framed(),
    ])
    # WinSCP: upload to a .filepart, then rename (also posix-rename), setstat.
    s["winscp-filepart"] = init + b"".join([
        Pkt(3, 1).s("/inbox/facture.xml.filepart").u32(UPLOAD).attrs().framed(),
        Pkt(6, 2).s(handle(0)).u64(0).s(invoice).framed(),
        Pkt(200, 3).s("fsync@openssh.com").s(handle(0)).framed(),
        Pkt(4, 4).s(handle(0)).framed(),
        Pkt(18, 5).s("/inbox/facture.xml.filepart").s("/inbox/facture.xml").framed(),
        Pkt(9, 6).s("/inbox/facture.xml").attrs(0xC, perms=0o600, times=(1, 2)).framed(),
    ])
    s["rclone-partial-posix-rename"] = init + b"".join([
        Pkt(3, 1).s("/inbox/a.partial").u32(UPLOAD | EXCL).attrs(1, size=0).framed(),
        Pkt(6, 2).s(handle(0)).u64(4096).s(b"x" * 64).framed(),
        Pkt(4, 3).s(handle(0)).framed(),
        Pkt(200, 4).s("posix-rename@openssh.com").s("/inbox/a.partial").s("/inbox/a.xml").framed(),
        Pkt(13, 5).s("/inbox/a.partial").framed(),
    ])
    # Fetch and delete a receipt; list directories.
    s["outbox-receipts"] = init + b"".join([
        Pkt(11, 1).s("/outbox").framed(),
        Pkt(12, 2).s(handle(0)).framed(),
        Pkt(12, 3).s(handle(0)).framed(),
        Pkt(4, 4).s(handle(0)).framed(),
        Pkt(3, 5).s("/outbox/R1.cdar.xml").u32(READ).attrs().framed(),
        Pkt(8, 6).s(handle(1)).framed(),
        Pkt(5, 7).s(handle(1)).u64(0).u32(32768).framed(),
        Pkt(5, 8).s(handle(1)).u64(10).u32(5).framed(),
        Pkt(4, 9).s(handle(1)).framed(),
        Pkt(13, 10).s("/outbox/R1.cdar.xml").framed(),
        Pkt(7, 11).s("/outbox/invoice-42.0001.cdar.xml.p7s").framed(),
    ])
    s["listing-root-inbox"] = init + b"".join([
        Pkt(16, 1).s("/inbox/../outbox/./").framed(),
        Pkt(11, 2).s("/").framed(),
        Pkt(12, 3).s(handle(0)).framed(),
        Pkt(3, 4).s("/inbox/pending.tmp").u32(UPLOAD).attrs().framed(),
        Pkt(11, 5).s("/inbox").framed(),
        Pkt(12, 6).s(handle(2)).framed(),
        Pkt(4, 7).s(handle(1)).framed(),
    ])
    s["extensions"] = init + b"".join([
        Pkt(200, 1).s("limits@openssh.com").framed(),
        Pkt(200, 2).s("statvfs@openssh.com").s("/inbox").framed(),
        Pkt(200, 3).s("hardlink@openssh.com").s("/inbox/a").s("/inbox/b").framed(),
        Pkt(200, 4).s("expand-path@openssh.com").s("~/inbox").framed(),
    ])
    s["hostile-paths"] = init + b"".join([
        Pkt(3, 1).s("/inbox/../../etc/passwd").u32(READ).attrs().framed(),
        Pkt(3, 2).s("/inbox/.hidden").u32(UPLOAD).attrs().framed(),
        Pkt(3, 3).s(b"/inbox/a\x00b").u32(UPLOAD).attrs().framed(),
        Pkt(3, 4).s("/inbox/\u202egnp.xml").u32(UPLOAD).attrs().framed(),
        Pkt(3, 5).s("/inbox/" + "z" * 300).u32(UPLOAD).attrs().framed(),
        Pkt(20, 6).s("/etc").s("/inbox/l").framed(),
        Pkt(19, 7).s("/inbox/l").framed(),
        Pkt(14, 8).s("/inbox/d").attrs().framed(),
        Pkt(15, 9).s("/outbox").framed(),
        Pkt(3, 10).s("/outbox/new.xml").u32(UPLOAD).attrs().framed(),
        Pkt(3, 11).s("/inbox/reject-me.xml").u32(UPLOAD).attrs(0x80000004, perms=0o777, ext=[("a", "b")]).framed(),
        Pkt(6, 12).s(handle(0)).u64(0xFFFFFFFFFFFF).s("x").framed(),
        Pkt(4, 13).s(handle(0)).framed(),
        Pkt(99, 14).framed(),
        Pkt(4, 15).s("0123456789abcdef").framed(),
    ])
    # Quota: more pending files than allowed, a sparse write past the file limit.
    s["quota"] = init + b"".join(
        [Pkt(3, i + 1).s(f"/inbox/f{i}.part").u32(UPLOAD).attrs().framed() for i in range(6)]
        + [Pkt(6, 7).s(handle(1)).u64(300 * 1024).s("y").framed(), Pkt(4, 8).s(handle(2)).framed()])
    # Framing: a packet split across the limit, a zero length, a second INIT.
    s["framing-second-init"] = init + Pkt(16, 1).s(".").framed() + init
    s["framing-zero-length"] = init + b"\x00\x00\x00\x00"
    s["framing-too-large"] = init + struct.pack(">I", 0x7FFFFFFF) + b"\x03"
    s["no-init"] = Pkt(16, 1).s(".").framed()
    s["init-old-version"] = Pkt(1).u32(2).framed()
    return s


def seeds_sftp(args, out):
    streams = sftp_streams()
    for name, data in streams.items():
        write(out, "sftp-" + name, data)
    return len(streams)


# --- xml_extract ----------------------------------------------------------------------------------

def seeds_xml(args, out, limit=64 * 1024):
    n = 0
    for p in corpus_files(args.shared, (".xml",), limit):
        data = open(p, "rb").read()
        rel = os.path.relpath(p, os.path.join(args.shared, "corpus")).replace(os.sep, "_")
        write(out, rel, data)
        n += 1
    return n


# --- archive --------------------------------------------------------------------------------------

def tar_gz(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.PAX_FORMAT) as t:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                t.addfile(info)
            elif kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = data.decode()
                t.addfile(info)
            elif kind == "hardlink":
                info.type = tarfile.LNKTYPE
                info.linkname = data.decode()
                t.addfile(info)
            else:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zip_bytes(members, method=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as z:
        for name, data in members:
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 2, 3, 4, 6)), data, compress_type=method)
    return buf.getvalue()


def seeds_archive(args, out):
    n = 0
    for p in corpus_files(args.shared, (".tar.gz", ".zip"), 64 * 1024, exclude=("schemas",)):
        write(out, "corpus-" + os.path.basename(p), open(p, "rb").read())
        n += 1
    xmls = corpus_files(args.shared, (".xml",), 6 * 1024)
    cii = [p for p in xmls if "cdar" not in p and "negative" not in p][:3]
    cdar = [p for p in xmls if "cdar" in p][:1]
    small = [(f"{i}-{os.path.basename(p)}", open(p, "rb").read()) for i, p in enumerate(cii + cdar)]
    if not small:
        small = [("invoice.xml", b"<Invoice/>")]
    one = small[:1]
    seeds = {
        "tgz-one": tar_gz([(n_, d, "file") for n_, d in one]),
        "tgz-several-dir": tar_gz([("lot/", b"", "dir")] + [("lot/" + n_, d, "file") for n_, d in small]),
        "tgz-symlink": tar_gz(one and [(one[0][0], one[0][1], "file"), ("link.xml", b"/etc/passwd", "symlink")]),
        "tgz-hardlink": tar_gz([(one[0][0], one[0][1], "file"), ("hard.xml", one[0][0].encode(), "hardlink")]),
        "tgz-dotdot": tar_gz([("../../evil.xml", one[0][1], "file")]),
        "tgz-empty-member": tar_gz([("empty.xml", b"", "file")]),
        "tgz-no-member": tar_gz([]),
        "tgz-nested": tar_gz([("inner.tar.gz", tar_gz([(one[0][0], one[0][1], "file")]), "file")]),
        "tgz-not-xml": tar_gz([("readme.txt", b"hello\n", "file")]),
        "zip-deflated": zip_bytes(small),
        "zip-stored": zip_bytes(one, zipfile.ZIP_STORED),
        "zip-absolute": zip_bytes([("/abs/" + one[0][0], one[0][1])], zipfile.ZIP_STORED),
        "zip-backslash-drive": zip_bytes([("C:\\dir\\" + one[0][0], one[0][1])]),
        "gz-not-tar": gzip.compress(one[0][1], mtime=0),
    }
    for name, data in seeds.items():
        write(out, name, data)
        n += 1
    return n


# --- pdf ------------------------------------------------------------------------------------------

def make_pdf(xml, *, flate=True, via_af=True, via_names=True, name="factur-x.xml", xmp=True):
    """A minimal PDF with `xml` embedded the way Factur-X writers do it."""
    stream = zlib.compress(xml) if flate else xml
    filt = b"/Filter /FlateDecode " if flate else b""
    objs = {}
    objs[1] = (b"<< /Type /Catalog /Pages 2 0 R" + (b" /AF [5 0 R]" if via_af else b"")
               + (b" /Names << /EmbeddedFiles 6 0 R >>" if via_names else b"")
               + (b" /Metadata 7 0 R" if xmp else b"") + b" >>")
    objs[2] = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
    objs[3] = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"
    objs[4] = (b"<< /Type /EmbeddedFile /Subtype /text#2Fxml " + filt
               + b"/Length %d /Params << /Size %d >> >>\nstream\n" % (len(stream), len(xml)) + stream + b"\nendstream")
    objs[5] = (b"<< /Type /Filespec /F (" + name.encode() + b") /UF (" + name.encode()
               + b") /AFRelationship /Data /EF << /F 4 0 R /UF 4 0 R >> >>")
    objs[6] = b"<< /Names [(" + name.encode() + b") 5 0 R] >>"
    meta = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
            b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
            b'xmlns:fx="urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"><fx:DocumentType>INVOICE</fx:DocumentType>'
            b'<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName><fx:Version>1.0</fx:Version>'
            b'<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>')
    objs[7] = b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n" % len(meta) + meta + b"\nendstream"
    out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    offsets = {}
    for i in sorted(objs):
        offsets[i] = len(out)
        out += b"%d 0 obj\n" % i + objs[i] + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for i in sorted(objs):
        out += b"%010d 00000 n \n" % offsets[i]
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


def seeds_pdf(args, out):
    n = 0
    for p in corpus_files(args.shared, (".pdf",), 128 * 1024, exclude=("schemas",)):
        write(out, "corpus-" + os.path.basename(p), open(p, "rb").read())
        n += 1
    xmls = [p for p in corpus_files(args.shared, (".xml",), 4 * 1024) if "negative" not in p and "cdar" not in p]
    xml = open(xmls[0], "rb").read() if xmls else b'<?xml version="1.0"?><rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"/>'
    variants = {
        "mini-flate-af-names": make_pdf(xml),
        "mini-plain-af": make_pdf(xml, flate=False, via_names=False, xmp=False),
        "mini-names-only": make_pdf(xml, via_af=False),
        "mini-zugferd1": make_pdf(xml, name="ZUGFeRD-invoice.xml"),
        "mini-xrechnung-plain": make_pdf(xml, flate=False, name="xrechnung.xml"),
        "mini-other-attachment": make_pdf(b"hello", flate=False, name="notes.txt"),
    }
    for name, data in variants.items():
        write(out, name, data)
        n += 1
    # Raw zlib streams for the direct BoundedInflater path (inputs not starting with %PDF).
    for level, data in [(0, xml), (1, xml), (9, xml * 3), (9, bytes(range(256)) * 8)]:
        write(out, f"zlib-level{level}-{len(data)}", zlib.compress(data, level))
        n += 1
    return n


GENERATORS = {
    "mime_as2": seeds_mime_as2,
    "sftp_packet": seeds_sftp,
    "xml_extract": seeds_xml,
    "archive": seeds_archive,
    "pdf": seeds_pdf,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repo", required=True)
    ap.add_argument("--shared", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("targets", nargs="+", choices=sorted(GENERATORS))
    args = ap.parse_args()
    if not os.path.isdir(os.path.join(args.shared, "corpus")):
        print(f"make_seeds: no corpus at {args.shared}/corpus (set FLUX_SHARED); seeds from the repository only", file=sys.stderr)
    for t in args.targets:
        out = os.path.join(args.out, t)
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        count = GENERATORS[t](args, out)
        print(f"seeds {t}: {count} files in {os.path.relpath(out)}")


if __name__ == "__main__":
    main()

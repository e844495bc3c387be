#!/usr/bin/env python3
"""Validation benchmark: flux-gateway against the official oracle, side by side, one core.

For UBL, CII and Factur-X PDF invoices from the shared corpus, and a synthetic 20 KB CII invoice,
measures files/s of `flux-gateway validate` (release build, pinned to one core with taskset) and
of the oracle (lxml XSD + saxonche running the EN 16931 and FNFE BR-FR Schematron XSLT; PDFs
through factur-x's extractor), then prints a table with the ratio. Also checks that memory stays
flat: peak RSS of `validate` on a ~10 MB and a ~100 MB archive.

    python3 bench/validate_bench.py [--bin .build/release/flux-gateway] [--seconds 5]

Needs the project venv (scripts/setup-venv) plus `factur-x` (installed into it on first run).
Bounded: every measurement runs for about --seconds, the whole run for a few minutes.
"""
import argparse, glob, io, os, pathlib, resource, subprocess, sys, tarfile, tempfile, time

repo = pathlib.Path(__file__).resolve().parent.parent
ap = argparse.ArgumentParser()
ap.add_argument("--bin", default=str(repo / ".build/release/flux-gateway"))
ap.add_argument("--seconds", type=float, default=5.0)
ap.add_argument("--shared", default=os.environ.get("FLUX_SHARED", str(repo.parent / "shared")))
ap.add_argument("--no-build", action="store_true")
a = ap.parse_args()
corpus = pathlib.Path(a.shared, "corpus")
venv_py = repo / ".venv/bin/python"

if not a.no_build and a.bin == str(repo / ".build/release/flux-gateway"):
    subprocess.run(["swift", "build", "-c", "release", "--product", "flux-gateway"], cwd=repo, check=True,
                   stdout=subprocess.DEVNULL)
subprocess.run([str(repo / "scripts/setup-venv")], check=True, stdout=subprocess.DEVNULL)
if subprocess.run([str(venv_py), "-c", "import facturx"], capture_output=True).returncode != 0:
    subprocess.run([str(venv_py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "factur-x"], check=True)

work = pathlib.Path(tempfile.mkdtemp(prefix="flux-vbench-"))
# A ~20 KB CII invoice: the French sample with its line repeated (totals are not re-balanced:
# the rules still run in full, which is what is being timed).
src = (corpus / "invoices/fr-generated/FR-CII-EN16931-B2B-simple.xml").read_text()
start = src.index("<ram:IncludedSupplyChainTradeLineItem>")
end = src.index("</ram:IncludedSupplyChainTradeLineItem>") + len("</ram:IncludedSupplyChainTradeLineItem>")
line = src[start:end]
big = src[:end] + line * 6 + src[end:]
while len(big.encode()) < 20_000:
    big = big[:end] + line + big[end:]
(work / "cii-20k.xml").write_text(big)

sets = {
    "UBL": sorted(glob.glob(str(corpus / "invoices/en16931-official/ubl/*"))) + [str(corpus / "invoices/fr-generated/FR-UBL-EN16931-B2B-simple.xml")],
    "CII": sorted(glob.glob(str(corpus / "invoices/en16931-official/cii/*.xml"))) + [str(corpus / "invoices/fr-generated/FR-CII-EN16931-B2B-simple.xml")],
    "CII 20 KB": [str(work / "cii-20k.xml")],
    "Factur-X PDF": sorted(glob.glob(str(corpus / "facturx-pdf/generated/*.pdf"))),
}


def ours(files):
    """files/s on one core, repeating until about --seconds."""
    reps = 1
    while True:
        t = time.time()
        r = subprocess.run(["taskset", "-c", "0", a.bin, "validate", "--repeat", str(reps)] + files,
                           capture_output=True, text=True)
        dt = time.time() - t
        if dt >= a.seconds or reps >= 1_000_000:
            break
        reps = max(reps * 2, int(reps * a.seconds / max(dt, 0.01)))
    rate = [l for l in r.stderr.splitlines() if l.startswith("validated")]
    return float(rate[-1].split(":")[-1].split()[0]) if rate else float("nan")


ORACLE = r'''
import sys, os, time, io
from saxonche import PySaxonProcessor
from lxml import etree
corpus, seconds, files = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
V = os.path.join(corpus, "validation")
S = os.path.join(corpus, "schemas")
P = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
xsd = {"ubl-inv": etree.XMLSchema(etree.parse(os.path.join(S, "ubl-2.1/maindoc/UBL-Invoice-2.1.xsd"))),
       "ubl-cn": etree.XMLSchema(etree.parse(os.path.join(S, "ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd"))),
       "cii": etree.XMLSchema(etree.parse(os.path.join(S, "cii-d16b-uncoupled/uncefact/data/standard/CrossIndustryInvoice_100pD16B.xsd")))}
with PySaxonProcessor(license=False) as p:
    x = p.new_xslt30_processor()
    comp = {k: x.compile_stylesheet(stylesheet_file=os.path.join(V, f)) for k, f in {
        "en-cii": "en16931-v1.3.16/EN16931-CII-validation.xslt", "en-ubl": "en16931-v1.3.16/EN16931-UBL-validation.xslt",
        "fr-cii": "fr-ctc/BR-FR-Flux2-Schematron-CII.xslt", "fr-ubl": "fr-ctc/BR-FR-Flux2-Schematron-UBL.xslt"}.items()}
    def one(path):
        if path.endswith(".pdf"):
            from facturx import get_xml_from_pdf
            _, data = get_xml_from_pdf(open(path, "rb"), check_xsd=False)
        else:
            data = open(path, "rb").read()
        doc = etree.fromstring(data, P)
        ubl = doc.tag.startswith("{urn:oasis")
        key = ("ubl-cn" if doc.tag.endswith("CreditNote") else "ubl-inv") if ubl else "cii"
        xsd[key].validate(etree.ElementTree(doc))
        node = p.parse_xml(xml_text=data.decode("utf-8"))
        for k in (("en-ubl", "fr-ubl") if ubl else ("en-cii", "fr-cii")):
            comp[k].transform_to_string(xdm_node=node)
    n, t0 = 0, time.time()
    while time.time() - t0 < seconds:
        for f in files:
            one(f); n += 1
    print(n / (time.time() - t0))
'''


def oracle(files):
    r = subprocess.run(["taskset", "-c", "0", str(venv_py), "-c", ORACLE, str(corpus), str(a.seconds)] + files,
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stderr[-2000:], file=sys.stderr)
        return float("nan")
    return float(r.stdout.strip().splitlines()[-1])


print(f"flux-gateway validate vs official oracle (lxml XSD + saxonche Schematron), one core each, ~{a.seconds:.0f} s per cell")
print(f"{'set':<14} {'files':>5} {'ours files/s':>13} {'oracle files/s':>15} {'ratio':>8}")
for name, files in sets.items():
    o, s = ours(files), oracle(files)
    print(f"{name:<14} {len(files):>5} {o:>13.1f} {s:>15.2f} {o / s:>7.0f}x", flush=True)

# Memory: the same invoice many times in a 10 MB and a 100 MB archive.
devnull = open(os.devnull, "w")
for target in (10, 100):
    path = work / f"many-{target}MB.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        payload = big.encode()
        n = target * 1_000_000 // len(payload)
        for i in range(n):
            data = payload.replace(b"FA-2026-000123", f"FA-BIG-{i:07d}".encode())
            info = tarfile.TarInfo(f"inv-{i:06d}.xml")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    pid = os.fork()
    if pid == 0:
        os.dup2(devnull.fileno(), 1)
        os.execv(a.bin, [a.bin, "validate", str(path)])
    _, status, ru = os.wait4(pid, 0)
    print(f"peak RSS validating a {target} MB archive ({n} invoices): {ru.ru_maxrss / 1024:.1f} MB")
subprocess.run(["rm", "-rf", str(work)])

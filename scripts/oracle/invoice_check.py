#!/usr/bin/env python3
"""Validation oracle for EN 16931 invoices (UBL 2.1 Invoice/CreditNote, CII D16B).

Usage: invoice_check.py [-v] FILE...

Each FILE is checked against
  1. the XSD of its syntax (lxml): UBL-Invoice-2.1 / UBL-CreditNote-2.1, or CII D16B,
  2. the CEN EN 16931 1.3.16 Schematron (XSLT-compiled, run with saxonche), and
  3. the FNFE French "BR-FR Flux 2" Schematron v1.4.0.03 (XSLT-compiled, run with saxonche).
A Schematron hit (svrl:failed-assert or svrl:successful-report) counts as a failure when its
@flag is "fatal" or "error" or absent; other flags ("warning", "information") are listed
separately under "*_warnings".

Prints one JSON object per line and per file:
  {"path": ..., "syntax": "UBL-Invoice" | "UBL-CreditNote" | "CII" | "unsupported" | "unreadable",
   "xsd": [problems], "en16931": [failing ids], "brfr": [failing ids],
   "en16931_warnings": [ids], "brfr_warnings": [ids], "error": "..." (only when not checked)}
Ids are sorted and unique. Exit status: 0 when every file was checked (whatever the verdicts),
2 on a usage or setup error.

The shared corpus is found from $FLUX_SHARED, by default <repo>/../shared where <repo> is two
levels above this script. Each stylesheet is compiled once per run.

Untrusted input is parsed with lxml with DTD loading, entity resolution and network access
disabled; a file that carries a DOCTYPE is refused before Saxon ever sees it (Saxon then only
receives the bytes lxml re-serialised, never the file itself).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

try:
    from lxml import etree
except ImportError:  # pragma: no cover - setup problem, not a validation result
    print("invoice_check: lxml is not installed (run scripts/setup-venv)", file=sys.stderr)
    sys.exit(2)


UBL_INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CII_NS = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"

XSD_REL = {
    "UBL-Invoice": "corpus/schemas/ubl-2.1/maindoc/UBL-Invoice-2.1.xsd",
    "UBL-CreditNote": "corpus/schemas/ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd",
    "CII": "corpus/schemas/cii-d16b-uncoupled/uncefact/data/standard/CrossIndustryInvoice_100pD16B.xsd",
}
EN_REL = {
    "UBL": "corpus/validation/en16931-v1.3.16/EN16931-UBL-validation.xslt",
    "CII": "corpus/validation/en16931-v1.3.16/EN16931-CII-validation.xslt",
}
FR_REL = {
    "UBL": "corpus/validation/fr-ctc/BR-FR-Flux2-Schematron-UBL.xslt",
    "CII": "corpus/validation/fr-ctc/BR-FR-Flux2-Schematron-CII.xslt",
}
from oracle_common import safe_parser, shared_dir, svrl_findings, xsd_messages  # noqa: E402  (beside this script)

PREFIXES = {
    "{urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100}": "rsm:",
    "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}": "ram:",
    "{urn:un:unece:uncefact:data:standard:QualifiedDataType:100}": "qdt:",
    "{urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100}": "udt:",
    "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}": "cbc:",
    "{urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2}": "cac:",
}


def detect(tree: etree._ElementTree) -> str:
    root = tree.getroot()
    qn = etree.QName(root)
    if qn.namespace == UBL_INVOICE_NS and qn.localname == "Invoice":
        return "UBL-Invoice"
    if qn.namespace == UBL_CREDIT_NS and qn.localname == "CreditNote":
        return "UBL-CreditNote"
    if qn.namespace == CII_NS and qn.localname == "CrossIndustryInvoice":
        return "CII"
    return "unsupported"


def xsd_problems(schema: etree.XMLSchema, tree: etree._ElementTree) -> list[str]:
    if schema.validate(tree):
        return []
    return xsd_messages(schema, PREFIXES)


def schematron(executable, node) -> tuple[list[str], list[str]]:
    """(failing ids, warning ids) of one compiled Schematron over one parsed document."""
    fatal, warn = svrl_findings(executable.transform_to_string(xdm_node=node))
    return fatal, sorted({rid for rid, _ in warn})


def main(argv: list[str]) -> int:
    files = [a for a in argv if not a.startswith("-")]
    if any(a in ("-h", "--help") for a in argv):
        print(__doc__)
        return 0
    if not files:
        print("usage: invoice_check.py FILE...", file=sys.stderr)
        return 2
    shared = shared_dir()
    for rel in list(XSD_REL.values()) + list(EN_REL.values()) + list(FR_REL.values()):
        if not (shared / rel).is_file():
            print(f"invoice_check: missing {shared / rel} (set FLUX_SHARED)", file=sys.stderr)
            return 2
    try:
        from saxonche import PySaxonProcessor
    except ImportError:
        print("invoice_check: saxonche is not installed (run scripts/setup-venv)", file=sys.stderr)
        return 2

    schemas: dict[str, etree.XMLSchema] = {}
    with PySaxonProcessor(license=False) as proc:
        xslt = proc.new_xslt30_processor()
        compiled: dict[str, object] = {}

        def exe(rel: str):
            if rel not in compiled:  # compiled once per run, on first use
                compiled[rel] = xslt.compile_stylesheet(stylesheet_file=str(shared / rel))
            return compiled[rel]

        for f in files:
            rec: dict[str, object] = {"path": f, "syntax": "unreadable", "xsd": [], "en16931": [], "brfr": [],
                                      "en16931_warnings": [], "brfr_warnings": []}
            try:
                raw = Path(f).read_bytes()
                if not raw.strip():
                    raise ValueError("empty file")
                tree = etree.ElementTree(etree.fromstring(raw, safe_parser()))
            except (etree.XMLSyntaxError, OSError, ValueError) as exc:
                rec["error"] = f"not well-formed: {exc}"
                print(json.dumps(rec), flush=True)
                continue
            if tree.docinfo.doctype or tree.docinfo.internalDTD is not None or b"<!DOCTYPE" in raw[:4096]:
                rec["error"] = "DOCTYPE not allowed (refused before Saxon)"
                print(json.dumps(rec), flush=True)
                continue
            syntax = detect(tree)
            rec["syntax"] = syntax
            if syntax == "unsupported":
                rec["error"] = f"unsupported root {tree.getroot().tag}"
                print(json.dumps(rec), flush=True)
                continue
            if syntax not in schemas:
                schemas[syntax] = etree.XMLSchema(etree.parse(str(shared / XSD_REL[syntax]), safe_parser()))
            rec["xsd"] = xsd_problems(schemas[syntax], tree)
            family = "CII" if syntax == "CII" else "UBL"
            try:
                # Saxon parses the DOCTYPE-free bytes from memory, never the file path.
                node = proc.parse_xml(xml_text=raw.decode("utf-8-sig"))
                rec["en16931"], rec["en16931_warnings"] = schematron(exe(EN_REL[family]), node)
                rec["brfr"], rec["brfr_warnings"] = schematron(exe(FR_REL[family]), node)
            except Exception as exc:  # saxonche raises PySaxonApiError
                rec["error"] = f"schematron: {exc}"
            print(json.dumps(rec), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

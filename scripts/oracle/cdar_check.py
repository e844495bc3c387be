#!/usr/bin/env python3
"""Validation oracle for CDAR D22B lifecycle messages (flux-gateway receipts).

Usage: cdar_check.py FILE...

Each FILE is checked against
  1. the UN/CEFACT CDAR D22B XSD (lxml), and
  2. the FNFE "BR-FR-CDV" Schematron, compiled to XSLT, run with saxonche.
A Schematron hit (svrl:failed-assert or svrl:successful-report) counts as a failure when its
@flag is "fatal" or "error" or absent; "warning"/"information" hits are only listed with -v.

Prints one line per file, "PATH: OK" or "PATH: FAIL <reasons>", and exits 1 when any file fails
(2 on a usage or setup error). The shared corpus is found from $FLUX_SHARED, by default
<repo>/../shared where <repo> is two levels above this script.

Untrusted input is parsed with lxml with DTD loading, entity resolution and network access
disabled; a file that carries a DOCTYPE is refused before Saxon ever sees it, so Saxon cannot
expand entities either.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from lxml import etree
except ImportError:  # pragma: no cover - setup problem, not a validation result
    print("cdar_check: lxml is not installed (run scripts/setup-venv)", file=sys.stderr)
    sys.exit(2)

from oracle_common import safe_parser, shared_dir, svrl_findings, xsd_messages  # noqa: E402  (beside this script)

XSD_REL = "corpus/schemas/cdar-d22b-uncoupled/CrossDomainAcknowledgementAndResponse_100pD22B.xsd"
XSLT_REL = "corpus/validation/cdar-fr/BR-FR-CDV-Schematron-CDAR.xslt"
PREFIXES = {
    "{urn:un:unece:uncefact:data:standard:CrossDomainAcknowledgementAndResponse:100}": "rsm:",
    "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}": "ram:",
    "{urn:un:unece:uncefact:data:standard:QualifiedDataType:100}": "qdt:",
    "{urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100}": "udt:",
}


def load_schema(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path), safe_parser()))


def check_xsd(schema: etree.XMLSchema, path: Path) -> tuple[etree._ElementTree | None, list[str]]:
    """Returns the parsed tree (None when unusable) and the XSD/well-formedness problems."""
    try:
        tree = etree.parse(str(path), safe_parser())
    except (etree.XMLSyntaxError, OSError) as exc:
        return None, [f"xml({exc})"]
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        return None, ["xml(DOCTYPE not allowed)"]
    if schema.validate(tree):
        return tree, []
    return tree, [f"xsd({m})" for m in xsd_messages(schema, PREFIXES)]


def check_schematron(executable, path: Path, verbose: bool) -> tuple[list[str], list[str]]:
    """Returns (failing rule ids, warning rule ids)."""
    fatal, warn = svrl_findings(executable.transform_to_string(source_file=str(path)))
    return fatal, [f"{rid}[{flag}]" for rid, flag in warn] if verbose else []


def main(argv: list[str]) -> int:
    verbose = False
    files: list[str] = []
    for a in argv:
        if a in ("-v", "--verbose"):
            verbose = True
        elif a in ("-h", "--help"):
            print(__doc__)
            return 0
        else:
            files.append(a)
    if not files:
        print("usage: cdar_check.py [-v] FILE...", file=sys.stderr)
        return 2

    shared = shared_dir()
    xsd, xslt = shared / XSD_REL, shared / XSLT_REL
    for p in (xsd, xslt):
        if not p.is_file():
            print(f"cdar_check: missing {p} (set FLUX_SHARED)", file=sys.stderr)
            return 2

    try:
        from saxonche import PySaxonProcessor
    except ImportError:
        print("cdar_check: saxonche is not installed (run scripts/setup-venv)", file=sys.stderr)
        return 2

    schema = load_schema(xsd)
    failed = False
    with PySaxonProcessor(license=False) as proc:
        # Compiled once per run, reused for every file.
        executable = proc.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(xslt))
        for f in files:
            path = Path(f)
            tree, reasons = check_xsd(schema, path)
            warnings: list[str] = []
            if tree is not None:
                try:
                    fatal, warnings = check_schematron(executable, path.resolve(), verbose)
                    reasons += fatal
                except Exception as exc:  # saxonche raises PySaxonApiError
                    reasons.append(f"schematron({exc})")
            if reasons:
                failed = True
                print(f"{f}: FAIL {' '.join(reasons)}")
            else:
                print(f"{f}: OK" + (f" (warnings: {' '.join(warnings)})" if warnings else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

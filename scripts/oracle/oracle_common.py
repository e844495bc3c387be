"""Shared pieces of the validation oracle scripts: where the shared corpus is, and the one way
untrusted XML is parsed (no DTD, no entities, no network)."""

import os
from pathlib import Path

from lxml import etree


def shared_dir() -> Path:
    env = os.environ.get("FLUX_SHARED")
    if env:
        return Path(env).resolve()
    repo = Path(__file__).resolve().parent.parent.parent
    return (repo.parent / "shared").resolve()


def safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False)


SVRL = "{http://purl.oclc.org/dsdl/svrl}"
FAILING_FLAGS = {"fatal", "error"}


def svrl_findings(out):
    """Splits an SVRL report into (failing ids, [(warning id, flag)]). A hit without a flag is
    fatal, as the official artefacts mean it. None (no output) counts as one failure."""
    if out is None:
        return ["schematron(transform produced no output)"], []
    svrl = etree.fromstring(out.encode("utf-8"), safe_parser())
    hits = svrl.findall(f".//{SVRL}failed-assert") + svrl.findall(f".//{SVRL}successful-report")
    fatal, warn = set(), set()
    for h in hits:
        flag = (h.get("flag") or "fatal").lower()
        rid = h.get("id") or "?"
        if flag in FAILING_FLAGS:
            fatal.add(rid)
        else:
            warn.add((rid, flag))
    return sorted(fatal), sorted(warn)


def xsd_messages(schema, prefixes):
    """The schema's error log as 'line N: message', namespace URIs shortened to prefixes."""
    out = []
    for err in schema.error_log:
        message = err.message
        for uri, prefix in prefixes.items():
            message = message.replace(uri, prefix)
        out.append(f"line {err.line}: {message}")
    return out

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

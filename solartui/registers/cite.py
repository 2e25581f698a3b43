"""Citations people can follow: a point's source named by the document's own title.

Maps were written from the project's protocol notes, and some of their `source` and `note` texts
still name those notes (`givenergy.md §8.4 IR14`, `(growatt-modbus.md §4.9)`), which the person
at the inverter does not have. Screens and the report cite through here: the map's
`device.source.document` (and version) plus the register or field, with our file names and their
section numbers taken out.
"""

from __future__ import annotations

import re

# a note file's name and the section of it that follows (`givenergy.md §8.4`, `x.md §4.9–4.10`)
_OUR_FILE = re.compile(r"\b[\w.-]+\.md\b(?:\s*§\s*[\d.]+(?:[–-][\d.]+)?)?")


def title(source: dict | None) -> str:
    """The document's title with its version (unless the title already says it)."""
    source = source or {}
    document = str(source.get("document") or "").strip()
    version = str(source.get("version") or "").strip()
    if version and version not in document:           # "Protocol II V1.24", "… (2024 notes)"
        return f"{document} ({version})" if " " in version else f"{document} {version}".strip()
    return document


def strip_ours(text: str) -> str:
    """`text` without references to our own note files (and the punctuation they leave)."""
    out = _OUR_FILE.sub("", text or "")
    out = re.sub(r"\(\s*\)", "", out).replace("( ", "(")
    out = re.sub(r"\s+([,.;:)])", r"\1", out)
    return re.sub(r"\s{2,}", " ", out).strip(" ,;")


def cite(source: dict | None, where: str, fallback: str = "") -> str:
    """`where` (a point's source: register, field, section) cited under the document's title."""
    doc = title(source)
    version = str((source or {}).get("version") or "").strip()
    where = strip_ours(where)
    if version and where.startswith(version):
        where = where[len(version):].strip(" ,")
    where = where or fallback
    if doc and where:
        return f"{doc}, {where}"
    return doc or where

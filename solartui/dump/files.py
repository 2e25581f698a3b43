"""Write a dump as CSV or JSON by the file's extension; never over an existing file unless
forced (like `report -o`); the sha256 the report quotes is of the bytes written."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

from solartui import safe_open
from solartui.dump.collect import Row
from solartui.errors import SolartuiError
from solartui.site.csv_sink import guard_cell

COLUMNS = ("table", "address", "raw", "hex", "point", "value", "error")


def dump_format(path: str) -> str:
    ext = Path(path).suffix.lower()
    if ext in (".csv", ".json"):
        return ext[1:]
    raise SolartuiError(f"-o {path}: give a .csv or .json file")


def render(rows: list[Row], fmt: str, header: dict) -> str:
    if fmt == "json":
        return json.dumps({**header, "registers": [r.as_dict() for r in rows]}, indent=1,
                          ensure_ascii=False, default=str) + "\n"
    buf = io.StringIO()
    for k, v in header.items():
        buf.write(f"# {k}: {v}\n")
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:              # device text and errors guarded against formulas, as in site CSVs
        w.writerow({k: guard_cell(v) if isinstance(v, str) else v for k, v in r.as_dict().items()})
    return buf.getvalue()


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def refuse_existing(path: str, force: bool) -> None:
    safe_open.refuse_existing((path,), force)


def write_dump(path: str, text: str, force: bool) -> str:
    """Write it (never through a symlink); returns the sha256 of what was written."""
    p = Path(path).expanduser()
    safe_open.refuse_link(p, "dump")
    return hashlib.sha256(safe_open.write_new(p, text, force, "dump")).hexdigest()

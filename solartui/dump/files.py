"""Write a dump as CSV or JSON by the file's extension; never over an existing file unless
forced (like `report -o`); the sha256 the report quotes is of the bytes written."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

from solartui.dump.collect import Row
from solartui.errors import SolartuiError

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
    for r in rows:
        w.writerow(r.as_dict())
    return buf.getvalue()


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def refuse_existing(path: str, force: bool) -> None:
    if not force and Path(path).expanduser().exists():
        raise SolartuiError(f"{path} exists: not overwritten (add --force to replace it)")


def write_dump(path: str, text: str, force: bool) -> str:
    """Write it; returns the sha256 of what was written."""
    p = Path(path).expanduser()
    data = text.encode("utf-8")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        with open(p, "wb" if force else "xb") as f:
            f.write(data)
    except FileExistsError:
        raise SolartuiError(f"{path} exists: not overwritten (add --force to replace it)") \
            from None
    except OSError as exc:
        raise SolartuiError(f"cannot write the dump {path}: {exc.strerror}") from None
    return hashlib.sha256(data).hexdigest()

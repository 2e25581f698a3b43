"""Append-only JSON-lines files (the journal, the evidence stores): each record is flushed and
fsynced before the call returns, and a line torn by a crash is skipped when reading back."""

from __future__ import annotations

import json
import os
from pathlib import Path

from solartui.errors import SolartuiError


def append_record(path: Path, record: dict, what: str) -> None:
    line = json.dumps(record, ensure_ascii=False, default=str)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise SolartuiError(f"cannot write the {what} {path}: {exc.strerror}") from None


def read_records(path: Path, what: str) -> list[dict]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise SolartuiError(f"cannot read the {what} {path}: {exc.strerror}") from None
    out = []
    for line in lines:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line torn by a crash mid-write: the rest stays readable
        if isinstance(rec, dict):
            out.append(rec)
    return out

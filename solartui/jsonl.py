"""Append-only JSON-lines files (the journal, the evidence stores): each record is flushed and
fsynced before the call returns, and a line torn by a crash never takes another record with it.

A crash (kill -9, a pulled plug) can leave the last line without its newline. Appending after it
would glue the next record onto it and lose both, so an append first ends an unterminated last
line (a complete record missing only its newline stays readable; a torn one becomes a line of its
own that readers skip and report). Reading skips lines that are not JSON objects and says which,
and recovers a whole record glued after a torn one by older versions.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from solartui.errors import SolartuiError

MAX_SALVAGE = 100_000       # characters: longer unreadable lines are skipped without a search


@dataclass
class Records:
    """What a read found: the records, and the numbers (1-based) of the lines it skipped."""

    records: list[dict] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)

    def skipped_note(self, path) -> str:
        """One line for a person, '' when nothing was skipped."""
        if not self.skipped:
            return ""
        n = len(self.skipped)
        which = ", ".join(str(i) for i in self.skipped[:5]) + (", …" if n > 5 else "")
        return (f"skipped {n} unreadable line{'s' if n != 1 else ''} in {path} "
                f"(line{'s' if n != 1 else ''} {which}; torn by a crash or edited by hand)")


def _lock(fd: int) -> None:
    try:
        import fcntl
        fcntl.flock(fd, fcntl.LOCK_EX)      # another process appending: one record at a time
    except (ImportError, OSError):
        pass


def append_record(path: Path, record: dict, what: str) -> None:
    line = (json.dumps(record, ensure_ascii=False, default=str) + "\n").encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            _lock(fd)
            size = os.fstat(fd).st_size
            if size and _last_byte(path, size) != b"\n":
                line = b"\n" + line             # end the torn last line first
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)                        # (closing releases the lock)
    except OSError as exc:
        raise SolartuiError(f"cannot write the {what} {path}: {exc.strerror}") from None


def _last_byte(path: Path, size: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(size - 1)
        return fh.read(1)


def read_records(path: Path, what: str) -> list[dict]:
    return read_records_noting(path, what).records


def read_records_noting(path: Path, what: str) -> Records:
    """Every record, and which lines were skipped (torn by a crash, edited by hand)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return Records()
    except OSError as exc:
        raise SolartuiError(f"cannot read the {what} {path}: {exc.strerror}") from None
    out = Records()
    for number, raw in enumerate(data.split(b"\n"), 1):
        line = raw.decode("utf-8", errors="replace").strip()
        if not line:
            continue
        rec = _parse(line)
        if rec is None:
            out.skipped.append(number)
            rec = _salvage(line)
        if rec is not None:
            out.records.append(rec)
    return out


def _parse(line: str) -> dict | None:
    try:
        rec = json.loads(line)
    except (ValueError, RecursionError):     # bad JSON, a number past 4,300 digits, deep nesting
        return None
    return rec if isinstance(rec, dict) else None


def _salvage(line: str) -> dict | None:
    """A whole record glued after a torn one (older versions appended without ending the torn
    line): the last '{' from which the rest of the line is one JSON object."""
    if len(line) > MAX_SALVAGE:
        return None
    decoder = json.JSONDecoder()
    start = line.find("{", 1)
    while start != -1:
        try:
            rec, end = decoder.raw_decode(line, start)
        except (ValueError, RecursionError):
            rec, end = None, -1
        if isinstance(rec, dict) and end == len(line):
            return rec
        start = line.find("{", start + 1)
    return None

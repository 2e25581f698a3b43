"""One device's CSV file: a header naming each point with its unit, then one row per pass.

Why this shape: a spreadsheet or pandas reads it as is (ISO time stamp first, engineering values,
enum labels as text, an empty cell where a point failed, a `note` saying why). Rows are appended
and fsynced one by one, so a crash or power cut loses at most the row being written; a torn last
line from such a crash is cut off before the next row goes in. A file whose header names other
columns is never rewritten or mixed into: the logger refuses to start. Nor is a symlink (or
anything but a regular file) at the CSV's path: it is opened with O_NOFOLLOW, never truncated
through (safe_open.py). Text cells are guarded against spreadsheet formulas (guard_cell).
"""

from __future__ import annotations

import csv
import io
import os
import re
from datetime import datetime
from pathlib import Path

from solartui.errors import SolartuiError
from solartui.registers.model import Point
from solartui.safe_open import open_nofollow, refuse_link


def column(point) -> str:
    """`pv1_voltage (V)`, or the bare name for a point without a unit."""
    return f"{point.name} ({point.unit})" if point.unit else point.name


def header_for(points) -> list[str]:
    return ["time", *(column(p) for p in points), "note"]


def iso(ts: float) -> str:
    """ISO 8601 local time with its UTC offset, to the second."""
    return datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds")


def _number(v) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        return repr(v) if v == v else ""
    return str(v)


def cell(reading) -> str:
    """A reading as a CSV cell: the engineering value, an enum's label, or "" if it failed."""
    if not reading.ok:
        return ""
    p, d = reading.point, reading.decoded
    if isinstance(p, Point):
        if p.enum is not None or p.bits is not None or (p.special and d.raw in p.special):
            return d.text
        return _number(d.value) if not isinstance(d.value, str) else d.value.strip()
    if d.value is None:                 # PI30 "----" and the like: not a value
        return ""
    if p.type in ("float", "int"):
        return _number(d.value)
    if p.type == "list":
        return " ".join(_number(v) for v in d.value)
    if isinstance(d.value, datetime):
        return d.value.isoformat(timespec="seconds")
    return d.text


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def guard_cell(text: str) -> str:
    """A text cell a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a
    leading ' so it stays text; numbers, negative ones too, are left as they are."""
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def _csv_line(values: list[str]) -> str:
    """One CSV line; every cell (header, device text, notes) guarded against formulas."""
    buf = io.StringIO()
    # "\r\n" makes the writer quote a cell holding a bare CR too (with "\n" it did not, and a
    # reader split the row there); the file's own line ends stay "\n"
    csv.writer(buf, lineterminator="\r\n").writerow([guard_cell(v) for v in values])
    return buf.getvalue()[:-2] + "\n"


class CsvSink:
    def __init__(self, path: Path, header: list[str], device: str = ""):
        self.path = path
        self.header = header
        self.device = device
        self.rows = 0
        self._file = None

    def check(self) -> None:
        """Refuse (SolartuiError) if the file is a symlink, or exists with another header;
        nothing is written."""
        refuse_link(self.path, "csv")
        try:
            with open(self.path, encoding="utf-8", newline="") as fh:
                first = fh.readline()
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError) as exc:
            raise SolartuiError(f"cannot read {self.path}: "
                                f"{getattr(exc, 'strerror', None) or exc}") from None
        if not first.endswith("\n"):
            return                      # empty, or a header torn by a crash: rewritten on open
        found = next(csv.reader([first.rstrip("\r\n")]), [])
        header = [guard_cell(h) for h in self.header]      # as it was written
        if found != header:
            diff = next((f"column {i + 1} is {a!r} there, {b!r} here"
                         for i, (a, b) in enumerate(zip(found, header)) if a != b),
                        f"it has {len(found)} columns, this device logs {len(self.header)}")
            raise SolartuiError(
                f"{self.path} was written with other columns than device {self.device} logs "
                f"now ({diff}): move it away or give the device another csv; it is never "
                "rewritten or mixed")

    def open(self) -> None:
        """Check, create the folder, cut a torn last line, append, write the header if new."""
        self.check()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._cut_torn_line()
            self._file = open_nofollow(self.path, "a", what="csv", encoding="utf-8",
                                       newline="")
            if self._file.tell() == 0:
                self._write(_csv_line(self.header))
        except OSError as exc:
            raise SolartuiError(f"cannot write {self.path}: {exc.strerror or exc}") from None

    def _cut_torn_line(self) -> None:
        try:
            with open_nofollow(self.path, "r+", what="csv", binary=True) as fh:
                size = fh.seek(0, os.SEEK_END)
                if size == 0:
                    return
                fh.seek(size - 1)
                if fh.read(1) == b"\n":
                    return
                keep = 0
                pos = size
                while pos > 0:               # find the last newline, reading backwards
                    step = min(4096, pos)
                    pos -= step
                    fh.seek(pos)
                    chunk = fh.read(step)
                    i = chunk.rfind(b"\n")
                    if i >= 0:
                        keep = pos + i + 1
                        break
                fh.truncate(keep)
        except FileNotFoundError:
            pass

    def _write(self, text: str) -> None:
        assert self._file is not None
        self._file.write(text)
        self._file.flush()
        os.fsync(self._file.fileno())

    def write(self, when: float, cells: list[str], note: str = "") -> None:
        """Append one row (time, cells, note), flushed and fsynced before returning."""
        if len(cells) != len(self.header) - 2:
            raise ValueError(f"{len(cells)} cells for {len(self.header) - 2} columns")
        try:
            self._write(_csv_line([iso(when), *cells, note]))
        except OSError as exc:
            raise SolartuiError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        self.rows += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

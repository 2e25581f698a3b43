"""Read a dump's registers through the device's link (paced like every read) and decode them
with the map where a point starts at that address."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from solartui.dump.ranges import TABLES
from solartui.errors import CodecError, LinkError
from solartui.links.scheduler import PRIORITY_READ
from solartui.registers.codec import decode


@dataclass(frozen=True)
class Row:
    table: str
    address: int
    raw: int | None             # the word as read; None: the read failed
    point: str = ""             # the map's point starting here (or "name+1" for its next words)
    value: str = ""             # its decoded value (on the point's first word)
    error: str = ""

    def as_dict(self) -> dict:
        return {"table": self.table, "address": self.address, "raw": self.raw,
                "hex": None if self.raw is None else f"0x{self.raw:04X}",
                "point": self.point, "value": self.value, "error": self.error}


async def collect(dev, reads: list[tuple[str, int, int]],
                  progress: Callable[[str], None] | None = None) -> list[Row]:
    words: dict[tuple[str, int], int] = {}
    errors: dict[tuple[str, int], str] = {}
    started = time.monotonic()
    for n, (table, address, count) in enumerate(reads, 1):
        try:
            got = await dev.link.read(TABLES[table], dev.unit, address, count, PRIORITY_READ)
            words.update({(table, address + i): w for i, w in enumerate(got)})
            status = "ok"
        except LinkError as exc:
            errors.update({(table, address + i): str(exc) for i in range(count)})
            status = f"error: {exc}"
        if progress:
            progress(f"dump: {n}/{len(reads)} {table} {address}-{address + count - 1} {status} "
                     f"({time.monotonic() - started:.1f} s)")
    return _rows(dev.map, words, errors)


def _rows(m, words, errors) -> list[Row]:
    names: dict[tuple[str, int], tuple[str, str]] = {}
    for p in m.points:
        if p.alias_of:
            continue
        ws = [words.get((p.table, p.address + i)) for i in range(p.count)]
        value = ""
        if all(w is not None for w in ws):
            try:
                value = decode(p, ws).text
            except CodecError as exc:
                value = f"undecodable: {exc}"
        names.setdefault((p.table, p.address), (p.name, value))
        for i in range(1, p.count):
            names.setdefault((p.table, p.address + i), (f"{p.name}+{i}", ""))
    out = []
    for key in sorted(set(words) | set(errors), key=lambda k: (k[0] != "holding", k[1])):
        point, value = names.get(key, ("", ""))
        out.append(Row(key[0], key[1], words.get(key), point, value, errors.get(key, "")))
    return out

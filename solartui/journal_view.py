"""Journal entries as people read them: one row per write or clock set, whatever wrote it.

Two shapes are journalled: device writes (register, PI30 setter, action step, clock: a `device`
object with serial, map and target) and writes through the Growatt server (`kind: shine-write`,
datalogger and inverter serials). `rows` flattens both to the same columns, and `matches` picks
the entries of one device by any serial it carries.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class JournalRow:
    time: str
    serial: str
    where: str          # map and target, or the datalogger
    what: str           # point / setting / register, with the action it belonged to
    old: str
    new: str
    raw: str            # words, or the setter command
    outcome: str
    detail: str
    origin: str = ""    # the door it came through: cli, tui, http, server (older entries: none)

    def text(self) -> str:
        """Everything a filter may match, in one lower-case string."""
        return " ".join((self.time, self.serial, self.where, self.what, self.old, self.new,
                         self.raw, self.outcome, self.detail, self.origin)).lower()


def serials(entry: dict) -> set[str]:
    """Every serial an entry names (device, datalogger, inverter)."""
    out = {str(entry.get(k)) for k in ("datalogger", "inverter") if entry.get(k)}
    device = entry.get("device")
    if isinstance(device, dict) and device.get("serial"):
        out.add(str(device["serial"]))
    return out


def matches(entry: dict, serial: str | None) -> bool:
    return serial is None or serial.lower() in {s.lower() for s in serials(entry)}


def _text(v) -> str:
    return "" if v is None else str(v)


def _door(entry: dict) -> str:
    """Where the write came from (cli, tui, http, server), for entries that say so."""
    return f", from {entry['origin']}" if entry.get("origin") else ""


def row(entry: dict) -> JournalRow:
    time = _text(entry.get("time"))[:19].replace("T", " ")
    if entry.get("kind") == "shine-write":
        space = entry.get("space", "")
        return JournalRow(time, _text(entry.get("inverter") or entry.get("datalogger")),
                          f"via datalogger {_text(entry.get('datalogger'))}{_door(entry)}",
                          f"{space} register {_text(entry.get('register'))}",
                          _text(entry.get("old")), _text(entry.get("new")), "",
                          _text(entry.get("outcome")), "", _text(entry.get("origin")))
    device = entry.get("device") if isinstance(entry.get("device"), dict) else {}
    what = _text(entry.get("point"))
    if entry.get("action"):
        what += f" ({entry['action']})"
    if entry.get("unmapped"):
        what += " (not in the map)"
    words = entry.get("words") or []
    raw = entry.get("command") or " ".join(f"0x{w:04X}" for w in words if isinstance(w, int))
    return JournalRow(time, _text(device.get("serial")),
                      f"{_text(device.get('map'))} at {_text(device.get('target'))}{_door(entry)}",
                      what,
                      _text(entry.get("old")), _text(entry.get("new")), _text(raw),
                      _text(entry.get("outcome")), _text(entry.get("detail")),
                      _text(entry.get("origin")))


def rows(entries: list[dict], serial: str | None = None) -> list[JournalRow]:
    return [row(e) for e in entries if isinstance(e, dict) and matches(e, serial)]

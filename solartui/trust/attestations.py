"""Hardware attestations: a person compared a value solartui showed with the device's own display.

One JSON line each in evidence/attestations.jsonl. An attestation earns the hardware-verified rung
only for the map, point, model and firmware it was made on, and only when it was made against a
real device (`simulated` is set for the demo and simulators) and said "matches".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

from solartui.jsonl import append_record, read_records
from solartui.trust import evidence_dir


def now_text() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


@dataclass(frozen=True)
class Attestation:
    map_id: str
    point: str
    model: str
    serial: str
    firmware: str
    shown: str              # what solartui showed, with its unit ("230.4 V")
    display: str            # what the device's display showed (same text when it matches)
    matches: bool
    person: str
    time: str = ""          # ISO 8601 with offset; filled in when stored
    target: str = ""
    simulated: bool = False

    @property
    def verdict(self) -> str:
        return "matches" if self.matches else "does not match"

    @classmethod
    def from_record(cls, rec: dict) -> Attestation | None:
        try:
            kw = {f.name: rec[f.name] for f in fields(cls) if f.name in rec}
            a = cls(**kw)
        except TypeError:
            return None           # a record missing a field this version needs
        return a if isinstance(a.matches, bool) else None


class AttestationStore:
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else evidence_dir() / "attestations.jsonl"

    def add(self, a: Attestation) -> Attestation:
        if not a.time:
            a = Attestation(**{**asdict(a), "time": now_text()})
        append_record(self.path, asdict(a), "attestation store")
        return a

    def all(self, map_id: str | None = None, serial: str | None = None) -> list[Attestation]:
        out = []
        for rec in read_records(self.path, "attestation store"):
            a = Attestation.from_record(rec)
            if a is None or (map_id and a.map_id != map_id) or (serial and a.serial != serial):
                continue
            out.append(a)
        return out

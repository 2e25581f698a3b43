"""A write as a small transaction with an outcome, never fire-and-forget.

A WritePlan is what the person confirms: device serial, point, old and new value, raw words and
function code. It exists only for a value that passed validation, so a refused value has no plan
and cannot reach the wire. Executing a plan always ends in a WriteOutcome, journalled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

VERIFIED = "verified"
MISMATCHED = "mismatched"
REJECTED = "rejected"
NO_ANSWER = "no answer"
UNVERIFIED = "unverified"   # the device took the write but the read-back failed
NOT_SENT = "not sent"       # a later step of an action, skipped because an earlier one failed


@dataclass(frozen=True)
class WritePlan:
    device_serial: str
    map_id: str
    target: str
    unit: int
    name: str                 # point name, or "clock"
    doc: str
    table: str
    address: int
    function: int
    words: tuple[int, ...]
    old_text: str | None      # None when the old value could not be read
    old_words: tuple[int, ...] | None
    new_text: str
    new_value: Any
    trust: str
    readback_delay: float
    command: str | None = None    # command devices (PI30): the setter sent instead of words
    action: str | None = None     # the named action this write is part of, if any
    drift_before: float | None = None   # clock sets: device minus host (s) when planned
    mapped: tuple[str, ...] | None = None   # raw writes: the map points they change ((): none)

    def _function_text(self) -> str:
        if self.function == 16:
            return "FC16 (write multiple registers)"
        if len(self.words) > 1:
            order = "seconds first" if self.name == "clock" else "in order"
            return f"FC{self.function:02d} × {len(self.words)} (one register at a time, {order})"
        return f"FC{self.function:02d} (write single register)"

    def intent_entry(self) -> dict:
        """What the journal records before the frame goes out (the write-ahead intent): all a
        person needs to check the device by hand if the outcome never comes."""
        return {
            "device": {"serial": self.device_serial, "map": self.map_id, "target": self.target,
                       "unit": self.unit},
            "point": self.name, "doc": self.doc, "table": self.table, "address": self.address,
            "function": self.function,
            "old": self.old_text, "old_words": list(self.old_words) if self.old_words else None,
            "new": self.new_text, "words": list(self.words),
            **({"command": self.command} if self.command is not None else {}),
            **({"action": self.action} if self.action is not None else {}),
            **({"mapped": list(self.mapped), "unmapped": not self.mapped}
               if self.mapped is not None else {}),
            **({"drift_before_s": round(self.drift_before, 1)} if self.drift_before is not None
               else {}),
        }

    def summary(self) -> list[tuple[str, str]]:
        """The lines a confirmation shows, in order."""
        old = self.old_text if self.old_text is not None else "(could not be read)"
        trust = ("trust", self.trust + ("" if self.trust == "hardware-verified"
                                        else " — not confirmed on real hardware"))
        if self.command is not None:
            return [
                ("device", f"{self.device_serial} ({self.map_id}) at {self.target}"),
                ("setting", f"{self.name} ({self.doc}), reads back from {self.table}"),
                ("old", old),
                ("new", self.new_text),
                ("command", self.command),
                trust,
            ]
        return [
            ("device", f"{self.device_serial} ({self.map_id}) at {self.target} unit {self.unit}"),
            ("point", f"{self.name} ({self.doc}), {self.table} register {self.address}"
                      + (f"..{self.address + len(self.words) - 1}" if len(self.words) > 1
                         and self.mapped is not None else "")),
            ("old", old),
            ("new", self.new_text),
            ("raw words", " ".join(f"0x{w:04X}" for w in self.words)),
            ("function", self._function_text()),
            trust,
            *([("warning", "these registers are not in the map: nothing checks the value")]
              if self.mapped == () else []),
        ]


@dataclass(frozen=True)
class WriteOutcome:
    plan: WritePlan
    status: str
    detail: str
    readback_words: tuple[int, ...] | None = None
    readback_text: str | None = None
    drift_after: float | None = None    # clock sets: device minus host (s) at the read-back

    @property
    def ok(self) -> bool:
        return self.status == VERIFIED

    def journal_entry(self) -> dict:
        return {**self.plan.intent_entry(),
                "readback": self.readback_text,
                "readback_words": list(self.readback_words) if self.readback_words else None,
                "outcome": self.status, "detail": self.detail,
                **({"drift_after_s": round(self.drift_after, 1)} if self.drift_after is not None
                   else {})}

    def line(self) -> str:
        return f"{self.plan.name}: {self.status} — {self.detail}"

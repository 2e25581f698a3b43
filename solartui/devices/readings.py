"""What a poll returns: one reading per point, with its time and, where it failed, why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from solartui.registers.codec import Decoded
from solartui.registers.model import Point


@dataclass(frozen=True)
class Reading:
    point: Point
    decoded: Decoded | None
    time: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.decoded is not None

    def as_json(self) -> dict:
        p, d = self.point, self.decoded
        return {
            "name": p.name, "doc": p.doc, "table": p.table, "address": p.address,
            "words": list(d.words) if d else None,
            "value": d.value if d else None,
            "text": d.text if d else None,
            "unit": p.unit, "trust": p.trust,
            "time": round(self.time, 3),
            "error": self.error,
        }


@dataclass(frozen=True)
class Identity:
    """What the identification registers said; `values` holds serial, firmware, model..."""

    map_id: str
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # the link's exceptions behind `errors`: what tells a refused port, silence and a wrong unit apart
    failures: dict[str, Exception] = field(default_factory=dict, compare=False, repr=False)
    # identification without --map: which map was picked and why (devices/identify.py)
    reason: str = ""

    @property
    def serial(self) -> str:
        v = self.values.get("serial")
        return v if isinstance(v, str) and v else "unknown"

    def summary(self) -> str:
        parts = [f"{k} {v}" for k, v in self.values.items()]
        return ", ".join(parts) if parts else "no identification"

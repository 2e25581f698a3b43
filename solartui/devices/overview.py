"""The overview's state: the map's first values in words, recent key powers, clock drift, link.

Fed by whatever polls the device (the live screens; a headless caller could too): `update()`
takes a pass's readings (register Readings or PI30 FieldReadings), `clock_read()` a ClockReading,
`set_link()` the link's counters. `lines()` says what to show, each part with a state (ok,
stale, missing, warning, fault) for the screen to colour; `trends()` gives the recent values of
the key powers (a ring buffer each) for sparklines. Textual-free, so tests and the CLI can use it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Iterable

from solartui.registers.overview import SECTIONS, TITLES, Overview

#: values kept per trend: two minutes at one pass a second, ~8 min on a paced Growatt link
HISTORY = 120
#: a device clock further off than this is shown as a warning (the clock screen sets it)
DRIFT_WARN_S = 30.0
OK, STALE, MISSING, WARNING, FAULT = "ok", "stale", "missing", "warning", "fault"
_RANK = {OK: 0, MISSING: 1, STALE: 2, WARNING: 3, FAULT: 4}


@dataclass(frozen=True)
class Part:
    label: str
    value: str          # the value in words with its unit ("230.1 V", "normal", "none")
    state: str = OK

    def __str__(self) -> str:
        return f"{self.label} {self.value}" if self.label else self.value


@dataclass(frozen=True)
class Line:
    key: str            # section name, or clock / link
    title: str
    parts: tuple[Part, ...]

    @property
    def state(self) -> str:
        """The worst state of its parts."""
        return max((p.state for p in self.parts), key=_RANK.__getitem__, default=OK)

    @property
    def text(self) -> str:
        return " · ".join(str(p) for p in self.parts)


@dataclass(frozen=True)
class Trend:
    name: str
    label: str
    unit: str
    values: tuple[float, ...]
    last: str           # the latest value in words ("1234.5 W"), "" before the first


def _is_clear(value: Any, text: str) -> bool:
    """A fault entry that reports nothing: 0, no flags set, no bits set."""
    if isinstance(value, tuple):
        return not value
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value == 0
    return text.strip().lower() in ("none", "0", "")


def _alarm_state(value: Any) -> str:
    """PI30 flags: a fault when any set position is a fault, else a warning."""
    if isinstance(value, tuple) and value:
        return FAULT if any(getattr(a, "severity", "") == "fault" for a in value) else WARNING
    return FAULT


def _status_state(text: str) -> str:
    t = text.lower()
    if "fault" in t:
        return FAULT
    if "warning" in t:
        return WARNING
    return OK


class OverviewModel:
    def __init__(self, overview: Overview, units: dict[str, str] | None = None,
                 has_clock: bool = True, history: int = HISTORY):
        self.overview = overview
        self.units = units or {}
        self.has_clock = has_clock
        self._last: dict[str, Any] = {}          # name -> last good reading
        self._failed: dict[str, str] = {}        # name -> why its last read failed
        self._absent: set[str] = set()           # names this unit does not report
        self._trend: dict[str, deque] = {e.point: deque(maxlen=history) for e in overview.trend}
        self._clock = None                       # the last ClockReading
        self._link: tuple[str, str] = (MISSING, "first pass…")
        self._seen_faults = (0, 0)               # link counters at the last set_link

    @property
    def names(self) -> tuple[str, ...]:
        return self.overview.names

    # --- feeding -----------------------------------------------------------------------------

    def update(self, readings: Iterable[Any]) -> None:
        for r in readings:
            name = r.point.name
            if r.ok:
                self._last[name] = r
                self._failed.pop(name, None)
                self._absent.discard(name)
                if name in self._trend and isinstance(r.decoded.value, (int, float)) \
                        and not isinstance(r.decoded.value, bool):
                    self._trend[name].append(float(r.decoded.value))
            elif getattr(r, "absent", False):
                self._absent.add(name)
            else:
                self._failed[name] = r.error or "no answer"

    def link_down(self, reason: str) -> None:
        """A whole pass failed: every value is stale and the link line says why."""
        for name in self._last:
            self._failed.setdefault(name, reason)
        self._link = (FAULT, f"not answering: {reason} — retrying")

    def clock_read(self, reading) -> None:
        self._clock = reading

    def set_link(self, stats, pass_seconds: float | None) -> None:
        """After a good pass: the link's counters (a LinkStats) and how long the pass took."""
        bad = (stats.timeouts, stats.errors)
        new_t, new_e = bad[0] - self._seen_faults[0], bad[1] - self._seen_faults[1]
        self._seen_faults = bad
        lat = f"reply {stats.last_latency * 1000:.0f} ms" if stats.last_latency is not None else ""
        refresh = f"refresh {pass_seconds:.2f} s" if pass_seconds is not None else ""
        counts = f"{stats.timeouts} timeouts, {stats.errors} errors in {stats.requests} requests"
        if new_t or new_e:
            head, state = f"{new_t + new_e} failed in the last pass", WARNING
        else:
            head, state = "ok", OK
        self._link = (state, " · ".join(x for x in (head, refresh, lat, counts) if x))

    # --- reading ------------------------------------------------------------------------------

    def value(self, name: str) -> Part:
        """One entry's value and state, without its label."""
        if name in self._absent:
            return Part("", "not reported", MISSING)
        last = self._last.get(name)
        if last is None:
            return Part("", "failed" if name in self._failed else "…",
                        STALE if name in self._failed else MISSING)
        return Part("", last.decoded.text, STALE if name in self._failed else OK)

    def lines(self) -> list[Line]:
        out = []
        for key in SECTIONS:
            entries = self.overview.section(key)
            if not entries:
                out.append(Line(key, TITLES[key], (Part("", "not in this map", MISSING),)))
                continue
            if key == "faults":
                out.append(Line(key, TITLES[key], self._faults(entries)))
                continue
            parts = []
            for e in entries:
                v = self.value(e.point)
                state = v.state
                if key == "status" and state == OK:
                    state = _status_state(v.value)
                parts.append(Part(e.label, v.value, state))
            out.append(Line(key, TITLES[key], tuple(parts)))
        out.append(self._clock_line())
        out.append(Line("link", "Link", (Part("", self._link[1], self._link[0]),)))
        return out

    def _faults(self, entries) -> tuple[Part, ...]:
        """Only what is set, in words; `none` when every entry reads clear."""
        parts, read = [], 0
        for e in entries:
            last = self._last.get(e.point)
            if last is None:
                continue
            read += 1
            if _is_clear(last.decoded.value, last.decoded.text):
                continue
            value = last.decoded.value
            state = _alarm_state(value) if isinstance(value, tuple) else FAULT
            parts.append(Part(e.label, last.decoded.text,
                              STALE if e.point in self._failed else state))
        if parts:
            return tuple(parts)
        if not read:
            if all(e.point in self._absent for e in entries):
                return (Part("", "not reported", MISSING),)
            return (Part("", "…", MISSING),)
        return (Part("", "none", OK),)

    def _clock_line(self) -> Line:
        c = self._clock
        if not self.has_clock:
            part = Part("", "no clock in this map", MISSING)
        elif c is None:
            part = Part("", "reading…", MISSING)
        elif c.device is None:
            part = Part("", f"unreadable: {c.error}", WARNING)
        else:
            drift = c.drift
            state = WARNING if abs(drift) > DRIFT_WARN_S else OK
            part = Part("drift", f"{drift:+.1f} s · device {c.device:%Y-%m-%d %H:%M:%S} · "
                                 "f4 sets it", state)
        return Line("clock", "Clock", (part,))

    def trends(self) -> list[Trend]:
        out = []
        for e in self.overview.trend:
            last = self._last.get(e.point)
            out.append(Trend(e.point, e.label, self.units.get(e.point, ""),
                             tuple(self._trend[e.point]),
                             last.decoded.text if last is not None else ""))
        return out


def model_for(device) -> OverviewModel:
    """The overview of a connected device (register or PI30): its map's, or one inferred."""
    from solartui.registers.overview import overview_for, overview_values

    ov = overview_for(device.map)
    values = overview_values(device.map)[0]
    units = {n: getattr(values.get(n), "unit", "") for n in ov.names}
    return OverviewModel(ov, units, has_clock=device.map.clock is not None)

"""A register clock set, built frame by frame as it goes out, and judged by the time read back.

Why apart from RegisterDevice: the words of a clock set are not known when it is planned. Each
frame's words are built inside the link's transaction (see links/clock_timing.py): the frame that
carries the seconds waits for the sub-second instant at which its second is the host's time on
arrival; a field written on its own (FC06 one register at a time) takes the host's time as it goes.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from solartui.devices.clock import encode_clock, has_field
from solartui.registers.clock_words import field_names
from solartui.devices.writes import MISMATCHED, VERIFIED, WriteOutcome
from solartui.links.clock_timing import (
    TimedClock, offset_after, second_now, transit_estimate, wait_for_second,
)
from solartui.registers.model import ClockSpec


class ClockSender:
    """The words of one clock set, taken when each frame goes out; remembers what was sent."""

    def __init__(self, spec: ClockSpec, link):
        self.spec = spec
        self.link = link
        self.sent: list[int | None] = [None] * len(spec.fields)
        self.timed: TimedClock | None = None    # the frame that carried the seconds

    async def words(self, index: int | None = None) -> list[int]:
        """All the clock's words (index None), or the one word of field `index`."""
        transit = transit_estimate(getattr(self.link, "stats", None))
        if has_field(self.spec, index, "second"):
            timed = await wait_for_second(transit)
            self.timed = timed
        else:
            timed = second_now(transit)
        words = encode_clock(self.spec, timed.written())
        if index is None:
            self.sent = list(words)
            return words
        self.sent[index] = words[index]
        return [words[index]]

    def order(self) -> list[int]:
        """Field indexes for a clock written one register at a time: the seconds first (timed),
        then up to the year, each from the host's time on arrival. Why not the register order:
        a rollover in the middle (the host's minute ends, or the device's own, still unsynced,
        seconds reach 60) would leave the fields already written a minute or an hour behind;
        written from the lowest up, every field written later overrides any rollover before it,
        and once the seconds run in step the device rolls over with the host."""
        rank = {f: i for i, f in enumerate(("second", "minute", "hour", "day", "month", "year"))}
        return sorted(range(len(self.spec.fields)),
                      key=lambda i: min(rank[n] for n in field_names(self.spec.fields[i])))

    def field_builder(self, index: int):
        async def build() -> list[int]:
            return await self.words(index)
        return build

    @property
    def sent_words(self) -> tuple[int, ...] | None:
        return None if any(w is None for w in self.sent) else tuple(self.sent)



def clock_text(when: datetime) -> str:
    return when.isoformat(sep=" ", timespec="seconds") + " (host time, local)"


def set_text(timed: TimedClock | None) -> str:
    """How the set landed, for an outcome's detail."""
    if timed is None:
        return ""
    return (f"; {timed.written():%H:%M:%S} written as the frame reached the device, "
            f"{round(timed.residual, 1) + 0.0:+.1f} s from host time")


def settle(outcome: WriteOutcome, timed: TimedClock | None, reading, tolerance: float,
           sent_words: tuple[int, ...] | None = None, prefix: str = "") -> WriteOutcome:
    """The clock set's outcome from the time read back: verified when the device shows what the
    set left (± tolerance), whatever its words; the journal keeps the words read back and the
    plan the value actually sent. `reading` is the last read-back ClockReading (None: none)."""
    plan = outcome.plan
    if timed is not None:
        plan = replace(plan, new_value=timed.written(), new_text=clock_text(timed.written()),
                       words=sent_words if sent_words is not None else plan.words)
    outcome = replace(outcome, plan=plan)
    if reading is None or reading.device is None or outcome.status not in (VERIFIED, MISMATCHED):
        return outcome
    if timed is None:       # a clock without seconds: judge against the planned time
        t = plan.new_value.timestamp()
        timed = TimedClock(round(t), t, 0.0)
    off = offset_after(timed, reading.device, reading.host)
    text = reading.device.isoformat(sep=" ")
    words = tuple(reading.words) or None
    if abs(off) <= tolerance:
        return replace(outcome, status=VERIFIED, detail=f"{prefix}read back {text}" + set_text(timed),
                       readback_words=words, readback_text=text, drift_after=timed.residual)
    return replace(outcome, status=MISMATCHED,
                   detail=f"{prefix}wrote {plan.new_text}, device reads back {text} ({off:+.1f} s from "
                          "the time written)",
                   readback_words=words, readback_text=text, drift_after=reading.drift)

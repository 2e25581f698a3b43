"""A register-mapped device: a map plus a link plus a unit address.

Everything goes through the link's scheduler: identify and poll as reads, writes and clock sets at
write priority. Polls turn register words into Readings with per-point errors; writes go through
plan (validated, old value read) -> person confirms -> execute (write, delayed read-back, outcome,
journal).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import datetime

from solartui.devices.clock import ClockReading, decode_clock, encode_clock
from solartui.devices.clock_sync import ClockSender, clock_text, settle
from solartui.devices.common import DeviceCommon
from solartui.devices.readings import Identity, Reading
from solartui.devices.writes import (
    MISMATCHED, NO_ANSWER, NOT_SENT, REJECTED, UNVERIFIED, VERIFIED, WriteOutcome, WritePlan,
)
from solartui.errors import (
    CodecError, CommandRejected, DeviceException, LinkError, NoAnswer, NotSent, SolartuiError,
)
from solartui.journal import Journal
from solartui.links.pool import ModbusLink
from solartui.links.scheduler import PRIORITY_POLL, PRIORITY_READ, PRIORITY_WRITE
from solartui.registers.codec import decode, describe, encode_value, parse_value, scaled, to_value, words_to_raw
from solartui.registers.model import Field, Point, rung_index
from solartui.registers.planner import plan_for_map
from solartui.registers.suggest import no_such, point_items
from solartui.registers.write_rules import check_point_writable, check_raw_words, check_write_count


class RegisterDevice(DeviceCommon):
    def __init__(self, device_map, link: ModbusLink, unit: int | None = None,
                 journal: Journal | None = None):
        self.map = device_map
        self.link = link
        self.unit = unit if unit is not None else device_map.link.unit
        self.journal = journal
        self.identity: Identity | None = None
        self._clock_sender: ClockSender | None = None     # during set_clock only

    @property
    def target_text(self) -> str:
        return str(self.link.target.with_unit(self.unit))

    # --- reading -------------------------------------------------------------------------------

    async def _read_fields(self, fields: list[Field], priority: int):
        """Read fields with the fewest requests; yields (field, words | None, LinkError | None)."""
        out = []
        for rd in plan_for_map(self.map, fields):
            try:
                words = await self.link.read(rd.function, self.unit, rd.address, rd.count, priority)
                err = None
            except LinkError as exc:
                words, err = None, exc
            for f in rd.fields:
                out.append((f, None if words is None else
                            words[f.address - rd.address: f.address - rd.address + f.count], err))
        return out

    async def identify(self, only: tuple[str, ...] | None = None) -> Identity:
        """Read the identification fields (`only`: just these, as one probe)."""
        values, errors, failures = {}, {}, {}
        chosen = {n: f for n, f in self.map.identify.items() if only is None or n in only}
        names = {id(f): n for n, f in chosen.items()}
        for f, words, err in await self._read_fields(list(chosen.values()), PRIORITY_READ):
            name = names[id(f)]
            if words is None:
                errors[name] = str(err) if err else "no answer"
                if err is not None:
                    failures[name] = err
                continue
            raw = words_to_raw(f.type, words, f.words)
            models = self.map.models.get(name)
            if models is not None and isinstance(raw, int) and "model" not in self.map.identify:
                values["model"] = models.get(raw, f"unknown (0x{raw:04X})")
            if name == "model" and isinstance(raw, int):
                values[name] = f"0x{raw:08X}"
            else:
                values[name] = raw if isinstance(raw, str) else scaled(raw, f.scale)
        self.identity = Identity(self.map.id, values, errors, failures)
        return self.identity

    async def poll(self, points: list[Point] | None = None,
                   priority: int = PRIORITY_POLL) -> list[Reading]:
        points = [p for p in (points if points is not None else self.map.points) if p.readable]
        out = []
        for p, words, err in await self._read_fields(points, priority):
            now = time.time()
            if words is None:
                out.append(Reading(p, None, now, str(err) if err else None))
                continue
            try:
                out.append(Reading(p, decode(p, words), now))
            except CodecError as exc:
                out.append(Reading(p, None, now, str(exc)))
        order = {p.name: i for i, p in enumerate(points)}
        return sorted(out, key=lambda r: order[r.point.name])

    async def read_point(self, point: Point, priority: int = PRIORITY_READ) -> Reading:
        return (await self.poll([point], priority))[0]

    # --- writing -------------------------------------------------------------------------------

    def point(self, name: str) -> Point:
        try:
            return self.map.point(name)
        except KeyError:
            raise SolartuiError(no_such("point", [name], self.map.id,
                                        point_items(self.map))) from None

    def _function_for(self, point: Point) -> int:
        fn = point.write_function or (6 if point.count == 1 else 16)
        if fn not in self.map.link.functions:
            fn = 16 if 16 in self.map.link.functions else fn
        return fn

    def _check_size(self, function: int, count: int) -> None:
        """FC16 carries at most 123 registers (and at most the map's max_write); FC06 sends
        one register per request."""
        if function == 16:
            check_write_count(count, self.map.link.max_write)

    async def plan_write(self, name: str, value_text: str, pending: dict | None = None
                         ) -> WritePlan:
        """Validate and encode (raises ValueRejected: nothing is sent), then read the old value.
        (`pending`: the gate's settings planned earlier in one confirmation; registers have no
        relations between points, so it is not consulted here.)"""
        point = self.point(name)
        check_point_writable(point)
        value = parse_value(point, value_text)
        words = encode_value(point, value)
        self._check_size(self._function_for(point), len(words))
        self._check_link_allows(point.address, len(words))
        new_raw = words_to_raw(point.type, words, point.words)
        new_text = describe(point, new_raw, value if isinstance(value, str) else to_value(point, new_raw))
        old_text = old_words = None
        if point.readable:
            old = await self.read_point(point, PRIORITY_WRITE)
            if old.ok:
                old_text, old_words = old.decoded.text, old.decoded.words
        return WritePlan(
            device_serial=self.identity.serial if self.identity else "unknown",
            map_id=self.map.id, target=self.link.description, unit=self.unit, name=point.name,
            doc=point.doc, table=point.table, address=point.address,
            function=self._function_for(point), words=tuple(words), old_text=old_text,
            old_words=old_words, new_text=new_text, new_value=value,
            trust=self.earned_rung(point.name, point.trust),
            readback_delay=point.readback_delay_ms / 1000)

    async def plan_raw_write(self, address: int, words: list[int]) -> WritePlan:
        """Raw holding registers (register browser, grottserver's PUTs), held to the same rules
        as a named write wherever the map describes them; unmapped registers stay writable."""
        touched = check_raw_words(self.map, address, words)
        self._check_link_allows(address, len(words))
        fn = 6 if len(words) == 1 and 6 in self.map.link.functions else 16
        try:
            old = await self.link.read(3, self.unit, address, len(words), PRIORITY_WRITE)
            old_text: str | None = " ".join(f"0x{w:04X}" for w in old)
        except LinkError:
            old, old_text = None, None
        names = ", ".join(p.name for p in touched)
        new_text = " ".join(f"0x{w:04X}" for w in words)
        if len(touched) == 1 and touched[0].address == address and len(words) == touched[0].count:
            p = touched[0]
            new_text += f" = {describe(p, *_raw_and_value(p, words))}"
        return WritePlan(
            device_serial=self.identity.serial if self.identity else "unknown",
            map_id=self.map.id, target=self.link.description, unit=self.unit,
            name=f"holding {address}", doc=names or "raw register (not in the map)",
            table="holding", address=address,
            function=fn, words=tuple(words), old_text=old_text,
            old_words=tuple(old) if old else None,
            new_text=new_text, new_value=list(words),
            trust=(min((self.earned_rung(p.name, p.trust) for p in touched), key=rung_index)
                   if touched else "generated"),
            readback_delay=max((p.readback_delay_ms for p in touched), default=1000) / 1000,
            mapped=tuple(p.name for p in touched))

    def _check_link_allows(self, address: int, count: int) -> None:
        """A link with its own write rules (GivEnergy's write-safe list) refuses at plan time."""
        check = getattr(self.link, "check_write", None)
        if check is not None:
            check(address, count)

    async def execute_write(self, plan: WritePlan) -> WriteOutcome:
        """Send a confirmed plan and read it back. Only the write gate calls this (it journals)."""
        return await self._write_and_verify(plan, self._readback_registers)

    async def _readback_registers(self, plan: WritePlan):
        words = await self.link.read(3, self.unit, plan.address, len(plan.words), PRIORITY_WRITE)
        if self.map.has_point(plan.name):
            point = self.map.point(plan.name)
            return words, decode(point, words).text
        return words, " ".join(f"0x{w:04X}" for w in words)

    async def _write_words(self, plan: WritePlan) -> None:
        """FC16 in one go; FC06 one register after another (a device without FC16). A clock set
        (set_clock) builds each frame's words as it goes out (devices/clock_sync.py)."""
        clock = getattr(self, "_clock_sender", None) if plan.name == "clock" else None
        if plan.function != 6 or len(plan.words) == 1:
            await self.link.write(plan.function, self.unit, plan.address, list(plan.words),
                                  PRIORITY_WRITE, **({"build": clock.words} if clock else {}))
            return
        for i in clock.order() if clock else range(len(plan.words)):
            await self.link.write(6, self.unit, plan.address + i, [plan.words[i]], PRIORITY_WRITE,
                                  **({"build": clock.field_builder(i)} if clock else {}))

    async def _write_and_verify(self, plan: WritePlan, readback) -> WriteOutcome:
        try:
            await self._write_words(plan)
        except (DeviceException, CommandRejected) as exc:
            return WriteOutcome(plan, REJECTED, str(exc))
        except NotSent as exc:             # refused by the link before anything went out
            return WriteOutcome(plan, NOT_SENT, str(exc))
        except LinkError as exc:
            return WriteOutcome(plan, NO_ANSWER, f"{exc}; the write may or may not have landed")
        await asyncio.sleep(plan.readback_delay)
        try:
            words, text = await readback(plan)
        except LinkError as exc:
            return WriteOutcome(plan, UNVERIFIED, f"written, but the read-back failed: {exc}")
        if len(words) != len(plan.words):   # any link: a wrong-length read-back proves nothing
            return WriteOutcome(plan, UNVERIFIED, f"written, but the read-back carried "
                                f"{len(words)} registers, not {len(plan.words)}")
        if tuple(words) == tuple(plan.words):
            return WriteOutcome(plan, VERIFIED, f"read back {text}", tuple(words), text)
        return WriteOutcome(plan, MISMATCHED, f"wrote {plan.new_text}, device reads back {text}",
                            tuple(words), text)

    # --- clock ---------------------------------------------------------------------------------

    async def read_clock(self, priority: int = PRIORITY_READ) -> ClockReading:
        spec = self._clock_spec()
        try:
            words = await self.link.read(3, self.unit, spec.address, len(spec.fields), priority)
        except LinkError as exc:
            return ClockReading(None, datetime.now(), (), str(exc))
        host = datetime.now()
        try:
            return ClockReading(decode_clock(spec, words), host, tuple(words))
        except CodecError as exc:
            return ClockReading(None, host, tuple(words), str(exc))

    async def plan_clock(self, when: datetime | None = None) -> WritePlan:
        spec = self._clock_spec()
        when = when or datetime.now()
        words = encode_clock(spec, when)
        self._check_link_allows(spec.address, len(words))
        before = await self.read_clock(PRIORITY_WRITE)
        old = before.device.isoformat(sep=" ") if before.device else None
        functions = self.map.link.functions
        fn = 16 if len(words) > 1 and 16 in functions else spec.function
        self._check_size(fn, len(words))
        return WritePlan(
            device_serial=self.identity.serial if self.identity else "unknown",
            map_id=self.map.id, target=self.link.description, unit=self.unit, name="clock",
            doc="system time", table="holding", address=spec.address, function=fn,
            words=tuple(words), old_text=old, old_words=before.words or None,
            new_text=when.isoformat(sep=" ", timespec="seconds") + " (host time, local)",
            new_value=when, trust=self.map.trust, readback_delay=1.0, drift_before=before.drift)

    async def set_clock(self, plan: WritePlan) -> WriteOutcome:
        """Write the clock, then check the device reads back the time the set left (± 3 s).

        The person confirmed "set it to host time": the words are built as each frame goes out,
        the seconds at the instant they are the host's time on arrival (devices/clock_sync.py),
        so neither confirming nor the link's pacing becomes drift. The journal keeps the words
        sent and the words read back; the residual drift is the set's own, to 0.1 s.
        """
        spec = self._clock_spec()
        now = datetime.now()
        plan = replace(plan, words=tuple(encode_clock(spec, now)), new_value=now,
                       new_text=clock_text(now))
        sender = ClockSender(spec, self.link)
        readings = []

        async def readback(_plan):
            r = await self.read_clock(PRIORITY_WRITE)
            if r.device is None:
                raise NoAnswer(r.error or "no answer")
            readings.append(r)
            return r.words, r.device.isoformat(sep=" ")

        self._clock_sender = sender
        try:
            outcome = await self._write_and_verify(plan, readback)
        finally:
            self._clock_sender = None
        outcome = settle(outcome, sender.timed, readings[-1] if readings else None, 3.0,
                         sender.sent_words)
        return outcome


def _raw_and_value(point: Point, words: list[int]):
    raw = words_to_raw(point.type, list(words), point.words)
    return raw, raw if isinstance(raw, str) else to_value(point, raw)

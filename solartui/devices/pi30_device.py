"""A PI30 inverter: a command map plus a PI30 link, with the same verbs as a RegisterDevice.

identify / poll / plan_write / execute_write / read_clock / plan_clock / set_clock behave as the
register device's do, so the CLI, the write flow and the clock screen use either. What differs:
values come from query replies (one command answers many fields), a setting is written by a
setter command answered ACK or NAK, and its value is read back from a QPIRI/QFLAG field.

Everything goes through the link's scheduler: setters at write priority (never retried), queries
at read or poll priority. Optional queries a unit answers NAK are remembered and not asked again.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from datetime import datetime

from solartui.devices.clock import ClockReading
from solartui.devices.clock_sync import clock_text, settle
from solartui.devices.common import DeviceCommon
from solartui.devices.readings import Identity
from solartui.devices.writes import (
    MISMATCHED, NO_ANSWER, REJECTED, UNVERIFIED, VERIFIED, WriteOutcome, WritePlan,
)
from solartui.errors import LinkError, NoAnswer, SolartuiError, ValueRejected
from solartui.journal import Journal
from solartui.links.clock_timing import TimedClock, transit_estimate, wait_for_second
from solartui.links.pi30_link import Pi30Link
from solartui.links.scheduler import PRIORITY_POLL, PRIORITY_READ, PRIORITY_WRITE
from solartui.pi30.errors import Pi30Nak
from solartui.registers.command_codec import (
    DecodedField, clock_setters, decode_fields, encode_setting, identify_value, readback_value,
    same_value, setting_value, value_text,
)
from solartui.registers.command_model import Command, CommandField, CommandMap, Setting
from solartui.registers.command_rules import check_relations, related_fields
from solartui.registers.suggest import did_you_mean, no_such

LIVE_ROLES = ("live", "settings")       # what the live screen and `read` poll by default
NOT_REPORTED = "not reported by this unit"


@dataclass(frozen=True)
class FieldReading:
    """One field of one reply at one time: a Reading's shape, with `point` the CommandField."""

    point: CommandField
    decoded: DecodedField | None
    time: float
    error: str | None = None
    absent: bool = False        # this unit does not report it (short reply, optional command)

    @property
    def ok(self) -> bool:
        return self.decoded is not None and self.decoded.ok

    def as_json(self) -> dict:
        f, d = self.point, self.decoded
        ok = self.ok
        return {
            "name": f.name, "doc": f.doc, "command": f.command, "index": f.index,
            "raw": d.raw if d else None, "value": _plain(d.value) if ok else None,
            "text": d.text if ok else None, "unit": f.unit, "trust": f.trust,
            "time": round(self.time, 3), "error": None if ok else (self.error or d.error),
        }


def _plain(value):
    """JSON-friendly: alarms (named tuples) as their names, datetimes as ISO text."""
    if isinstance(value, tuple):
        return [getattr(v, "name", v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return value


class Pi30Device(DeviceCommon):
    kind = "pi30"

    def __init__(self, device_map: CommandMap, link: Pi30Link, journal: Journal | None = None):
        self.map = device_map
        self.link = link
        self.unit = None                    # PI30 has no unit address
        self.journal = journal
        self.identity: Identity | None = None
        self.unsupported: set[str] = set()  # optional commands this unit answered NAK
        self.context: dict[str, DecodedField] = {}   # last good value of every field

    @property
    def target_text(self) -> str:
        return str(self.link.target) if self.link.target is not None else self.link.description

    @property
    def serial(self) -> str:
        return self.identity.serial if self.identity else "unknown"

    # --- reading -------------------------------------------------------------------------------

    async def query(self, command: Command, priority: int = PRIORITY_READ
                    ) -> dict[str, DecodedField]:
        """Ask one command; its decoded fields (also kept as context for settings)."""
        response = await self.link.query(command.command, priority=priority, retries=1)
        decoded = decode_fields(command, response.fields)
        self.context.update({k: v for k, v in decoded.items() if v.ok})
        return decoded

    async def identify(self) -> Identity:
        """QPI/QID/QVFW/QMN: the first answer that says the protocol is not PI30 stops here."""
        values, errors = {}, {}
        for name, idf in self.map.identify.items():
            try:
                response = await self.link.query(idf.command, retries=1)
            except Pi30Nak:
                errors[name] = f"{idf.command} answered NAK"
                continue
            except LinkError as exc:
                errors[name] = str(exc)
                continue
            value = identify_value(idf, response.fields)
            if value is None:
                errors[name] = f"{idf.command} answered without it"
                continue
            if idf.expect and value not in idf.expect:
                raise SolartuiError(f"{self.link.description} answers {idf.command} with "
                                    f"{value!r}, not {'/'.join(idf.expect)}: not a device "
                                    f"for map {self.map.id}")
            values[name] = value
        self.identity = Identity(self.map.id, values, errors)
        return self.identity

    def fields(self, roles: tuple[str, ...] = LIVE_ROLES) -> list[CommandField]:
        return [f for c in self.map.commands if c.role in roles for f in c.fields]

    def point(self, name: str) -> Setting:
        """The setting called `name` (what `write NAME=VALUE` names)."""
        try:
            return self.map.setting(name)
        except KeyError:
            settings = [(s.name, s.doc) for s in self.map.settings]
            hint = did_you_mean(name, settings) or \
                f" (settings: {', '.join(s.name for s in self.map.settings)})"
            raise SolartuiError(f"no setting '{name}' in map {self.map.id}{hint}") from None

    def field(self, name: str) -> CommandField:
        try:
            return self.map.field(name)
        except KeyError:
            raise SolartuiError(no_such("field", [name], self.map.id,
                                        [(f.name, f.doc) for f in self.map.fields])) from None

    async def poll(self, fields: list[CommandField] | None = None,
                   priority: int = PRIORITY_POLL) -> list[FieldReading]:
        """One query per command that carries a wanted field; results in the order asked."""
        fields = fields if fields is not None else self.fields()
        wanted: dict[str, list[CommandField]] = {}
        for f in fields:
            wanted.setdefault(f.command, []).append(f)
        got: dict[int, FieldReading] = {}
        for name, flds in wanted.items():
            command = self.map.command(name)
            now = time.time()
            if name in self.unsupported:
                for f in flds:
                    got[id(f)] = FieldReading(f, None, now, NOT_REPORTED, absent=True)
                continue
            try:
                decoded = await self.query(command, priority)
                err = None
            except Pi30Nak:
                decoded, err = {}, f"{name} answered NAK"
                if command.optional:
                    self.unsupported.add(name)
                    err = NOT_REPORTED
            except LinkError as exc:
                decoded, err = {}, str(exc)
            now = time.time()
            for f in flds:
                d = decoded.get(f.name)
                if d is None:
                    # a reply shorter than the map's widest family: this unit lacks the field
                    got[id(f)] = FieldReading(f, None, now, err or NOT_REPORTED,
                                              absent=err is None or err == NOT_REPORTED)
                else:
                    got[id(f)] = FieldReading(f, d, now, d.error)
        return [got[id(f)] for f in fields]

    # --- settings ------------------------------------------------------------------------------

    async def _context_for(self, setting: Setting, priority: int) -> None:
        """Read what the setting's allowed values depend on, if not known yet."""
        for name in (setting.depends_on, setting.allowed_from):
            if name and name not in self.context:
                command = self.map.command(self.map.field(name).command)
                if command.command in self.unsupported:
                    continue
                try:
                    await self.query(command, priority)
                except Pi30Nak:
                    if command.optional:
                        self.unsupported.add(command.command)
                except LinkError:
                    pass            # encode_setting says what is missing

    async def read_setting(self, setting: Setting, priority: int = PRIORITY_READ):
        """The setting's value as its read-back field shows it now (None: unreadable)."""
        back = self.map.command(setting.reads_back.command)
        try:
            decoded = await self.query(back, priority)
        except LinkError:
            return None
        return readback_value(setting, decoded)

    async def _read_fresh(self, commands: list[str], priority: int) -> dict[str, DecodedField]:
        """Ask each command now (not from earlier polls): what a write is checked against."""
        fresh: dict[str, DecodedField] = {}
        for name in dict.fromkeys(commands):
            if name in self.unsupported:
                continue
            command = self.map.command(name)
            try:
                fresh.update(await self.query(command, priority))
            except Pi30Nak:
                if command.optional:
                    self.unsupported.add(name)
            except LinkError:
                pass                # the relations say what could not be read
        return fresh

    async def plan_write(self, name: str, value_text_in: str,
                         pending: dict | None = None) -> WritePlan:
        """Validate and encode (ValueRejected: nothing sent), then read the current value.

        The read-back query and the queries of every related field (`requires`) are asked
        afresh, so a value is checked against the settings as they are now — a float voltage
        against the bulk voltage the menu may have changed since the last poll. `pending` holds
        the settings planned before this one in the same confirmation (written first, in
        order): they count as the current values, and this one is added to it."""
        setting = self.point(name)
        related = [self.map.field(f).command for f in related_fields(setting)]
        fresh = await self._read_fresh([setting.reads_back.command, *related], PRIORITY_WRITE)
        await self._context_for(setting, PRIORITY_WRITE)
        if setting.allowed_from and setting.allowed_from not in self.context:
            source = self.map.field(setting.allowed_from).command
            if source in self.unsupported:
                raise ValueRejected(f"{setting.name}: this unit does not answer {source}, so "
                                    "its allowed values are unknown; nothing was sent")
        command = encode_setting(setting, value_text_in, self.context)
        value = setting_value(setting, value_text_in)
        check_relations(setting, value, {**fresh, **(pending or {})})
        if pending is not None:
            pending[setting.reads_back.field] = value
        old = readback_value(setting, fresh)
        return WritePlan(
            device_serial=self.serial, map_id=self.map.id, target=self.target_text, unit=0,
            name=setting.name, doc=setting.doc,
            table=f"{setting.reads_back.command} {setting.reads_back.field}", address=0,
            function=0, words=(), old_text=None if old is None else value_text(setting, old),
            old_words=None, new_text=value_text(setting, value), new_value=value,
            trust=self.earned_rung(setting.name, setting.trust), readback_delay=self.map.link.readback_delay_ms / 1000,
            command=command)

    async def execute_write(self, plan: WritePlan) -> WriteOutcome:
        """Send the setter; ACK then read back, NAK = rejected, silence = no answer. Journalled."""
        setting = self.point(plan.name)
        outcome = await self._send_and_verify(plan, lambda: self._readback_setting(setting, plan))
        return outcome

    async def _readback_setting(self, setting: Setting, plan: WritePlan):
        back = self.map.command(setting.reads_back.command)
        decoded = await self.query(back, PRIORITY_WRITE)
        got = readback_value(setting, decoded)
        if got is None:
            raise NoAnswer(f"{back.command} did not show {setting.reads_back.field}")
        return same_value(setting, plan.new_value, got), value_text(setting, got)

    async def _send_and_verify(self, plan: WritePlan, readback, build=None) -> WriteOutcome:
        try:
            response = await self.link.send(plan.command, build=build)
        except NoAnswer as exc:
            return WriteOutcome(plan, NO_ANSWER, f"{exc}; the setting may or may not have "
                                                 "changed")
        except LinkError as exc:
            return WriteOutcome(plan, NO_ANSWER, f"{exc}; the setting may or may not have "
                                                 "changed")
        if response.is_nak:
            return WriteOutcome(plan, REJECTED, f"{plan.command}: the device answered NAK "
                                                "(value refused or not supported)")
        await asyncio.sleep(plan.readback_delay)
        try:
            same, text = await readback()
        except LinkError as exc:
            return WriteOutcome(plan, UNVERIFIED, f"ACK, but the read-back failed: {exc}")
        if same:
            return WriteOutcome(plan, VERIFIED, f"ACK; read back {text}", (), text)
        return WriteOutcome(plan, MISMATCHED, f"ACK, but the device reads back {text}, not "
                                              f"{plan.new_text}", (), text)

    # --- clock ---------------------------------------------------------------------------------

    async def read_clock(self, priority: int = PRIORITY_READ) -> ClockReading:
        spec = self._clock_spec()
        if spec.command in self.unsupported:
            return ClockReading(None, datetime.now(), (),
                                f"this unit does not answer {spec.command}: no clock to read")
        command = self.map.command(spec.command)
        try:
            decoded = await self.query(command, priority)
        except Pi30Nak:
            self.unsupported.add(spec.command)
            return ClockReading(None, datetime.now(), (),
                                f"this unit does not answer {spec.command}: no clock to read")
        except LinkError as exc:
            return ClockReading(None, datetime.now(), (), str(exc))
        host = datetime.now()
        got = decoded.get(spec.field)
        if got is None or not got.ok:
            return ClockReading(None, host, (), got.error if got else "no time in the reply")
        return ClockReading(got.value, host, ())

    async def plan_clock(self, when: datetime | None = None) -> WritePlan:
        """A clock set is only offered where it can be verified: the unit must answer QT."""
        spec = self._clock_spec()
        when = when or datetime.now()
        before = await self.read_clock(PRIORITY_WRITE)
        if before.device is None:
            raise SolartuiError(f"cannot set the clock: {before.error} (a set could not be "
                                "verified)")
        setters = clock_setters(spec, when)
        return WritePlan(
            device_serial=self.serial, map_id=self.map.id, target=self.target_text, unit=0,
            name="clock", doc="device date and time", table=spec.command, address=0,
            function=0, words=(), old_text=before.device.isoformat(sep=" "), old_words=None,
            new_text=when.isoformat(sep=" ", timespec="seconds") + " (host time, local)",
            new_value=when, trust=self.map.trust,
            readback_delay=self.map.link.readback_delay_ms / 1000,
            command=" or ".join(setters), drift_before=before.drift)

    async def set_clock(self, plan: WritePlan) -> WriteOutcome:
        """Try each DAT form in turn until one is ACKed and QT confirms it. Each DAT is built as
        it goes out, at the instant its second is the host's time on arrival
        (links/clock_timing.py); QT must show what the set left, ± the map's tolerance."""
        spec = self._clock_spec()
        tried: list[str] = []
        outcome = None
        for pattern in spec.setters:
            now = datetime.now()
            step = replace(plan, new_value=now, command=now.strftime(pattern),
                           new_text=clock_text(now))
            timed: list[TimedClock] = []
            readings: list[ClockReading] = []

            async def build(pattern=pattern, timed=timed):
                timed.append(await wait_for_second(transit_estimate(self.link.stats)))
                return timed[-1].written().strftime(pattern)

            async def readback(readings=readings):
                r = await self.read_clock(PRIORITY_WRITE)
                if r.device is None:
                    raise NoAnswer(r.error or "no answer")
                readings.append(r)
                return True, r.device.isoformat(sep=" ")        # judged by settle()

            outcome = await self._send_and_verify(step, readback, build=build)
            if timed:
                outcome = replace(outcome, plan=replace(
                    outcome.plan, command=timed[-1].written().strftime(pattern)))
            outcome = settle(outcome, timed[-1] if timed else None,
                             readings[-1] if readings else None, spec.tolerance_s,
                             prefix="ACK; " if readings else "")
            tried.append(f"{outcome.plan.command}: {outcome.status}")
            if outcome.status not in (REJECTED, MISMATCHED):
                break
        assert outcome is not None
        if len(tried) > 1:
            outcome = replace(outcome, detail=f"{outcome.detail} (tried {'; '.join(tried)})")
        return outcome


def setting_for_field(device_map: CommandMap, field_name: str) -> Setting | None:
    """The setting whose value reads back through `field_name` (the live screen edits it)."""
    for s in device_map.settings:
        if s.reads_back.field == field_name:
            return s
    return None


def check_value(setting: Setting, text: str, context) -> str:
    """The setter command `text` would send, or ValueRejected (for inline validation). The
    relations are checked against what `context` knows; the plan checks them again, fresh."""
    if not str(text).strip():
        raise ValueRejected("enter a value")
    command = encode_setting(setting, text, context)
    check_relations(setting, setting_value(setting, text), context, unknown_ok=True)
    return command

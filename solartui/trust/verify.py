"""`maps verify`: run a map against the real simulator seeded from a hand-written fixture.

Why through the real path: the rung "simulator-verified" claims the map decodes known-true values
the way the program reads a device. So the simulator serves the fixture's raw words (a frozen
RegisterBank behind pymodbus on loopback TCP, a frozen GivEnergy plant behind the dongle on
loopback TCP, or the PI30 inverter on a pty answering the fixture's reply texts), and the map is
opened as a person would open it: Session.connect(url, map), then identify, poll, read the clock,
plan a setter. Every point gets a verdict: pass, fail (expected, decoded, raw words) or no fixture.
"""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from solartui.errors import LinkError, SolartuiError, ValueRejected
from solartui.registers.command_codec import value_text
from solartui.registers.command_model import CommandMap
from solartui.registers.model import DeviceMap
from solartui.session import Session
from solartui.trust import verify_compare as cmp
from solartui.trust.fixture import CommandFixture, Fixture, RegisterFixture

PASS, FAIL, NO_FIXTURE = "pass", "fail", "no fixture"
# the links of a verify run: no pacing (the simulator needs none), a short timeout
FAST = "period=0&timeout=2000"


@dataclass(frozen=True)
class Verdict:
    name: str
    verdict: str                # pass | fail | no fixture
    kind: str = "point"         # point | identify | clock | field | setting
    expected: str = ""
    decoded: str = ""
    raw: str = ""               # the words read, or the reply token
    detail: str = ""

    @property
    def key(self) -> str:
        """The name the run is recorded under (identification values apart from points)."""
        if self.kind == "clock":
            return "clock"
        return f"identify:{self.name}" if self.kind == "identify" else self.name

    def as_json(self) -> dict:
        return {"name": self.name, "kind": self.kind, "verdict": self.verdict,
                "expected": self.expected, "decoded": self.decoded, "raw": self.raw,
                "detail": self.detail}


@dataclass
class MapRun:
    map: DeviceMap | CommandMap
    fixture_path: str
    verdicts: list[Verdict] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, verdict: str) -> int:
        return sum(1 for v in self.verdicts if v.verdict == verdict)

    @property
    def failed(self) -> bool:
        return self.count(FAIL) > 0

    def recorded(self) -> dict[str, str]:
        """name -> verdict for the evidence store. A PI30 setting shares its name with its
        read-back field: the name passes only if every entry under it passes (never rounds up)."""
        out: dict[str, str] = {}
        rank = {PASS: 0, NO_FIXTURE: 1, FAIL: 2}
        for v in self.verdicts:
            prev = out.get(v.key)
            out[v.key] = v.verdict if prev is None or rank[v.verdict] > rank[prev] else prev
        return out

    def earned(self) -> list[str]:
        return sorted(n for n, v in self.recorded().items() if v == PASS)

    def as_json(self) -> dict:
        return {"map": self.map.id, "map_file": str(self.map.path), "fixture": self.fixture_path,
                "seconds": round(self.seconds, 3), "pass": self.count(PASS),
                "fail": self.count(FAIL), "no_fixture": self.count(NO_FIXTURE),
                "earned": self.earned(), "verdicts": [v.as_json() for v in self.verdicts]}


def words_text(words) -> str:
    return " ".join(f"0x{w:04X}" for w in words) if words else ""


async def verify_map(device_map, fixture: Fixture) -> MapRun:
    """Serve the fixture from the simulator, read the map through a Session, judge each point."""
    started = time.monotonic()
    run = MapRun(device_map, fixture.path)
    if isinstance(device_map, CommandMap):
        assert isinstance(fixture, CommandFixture)
        run.verdicts = await _verify_commands(device_map, fixture)
    else:
        assert isinstance(fixture, RegisterFixture)
        run.verdicts = await _verify_registers(device_map, fixture)
    run.seconds = time.monotonic() - started
    return run


# --- register maps -----------------------------------------------------------------------------

@asynccontextmanager
async def _serve_registers(device_map: DeviceMap, fixture: RegisterFixture):
    """The simulator for the map's protocol, frozen and seeded; yields the target URL."""
    if device_map.protocol == "givenergy":
        from solartui.sim.givenergy_dongle import GivEnergyDongle
        from solartui.sim.givenergy_plant import GivEnergyPlant
        from solartui.givenergy.families import SUPPORTED
        family = next((f.key for f in SUPPORTED if f.map_id == device_map.id), "hybrid")
        plant = GivEnergyPlant(family)          # the family's banks, so its map's reads fit
        plant.freeze()
        for s in fixture.seeds:
            for i, w in enumerate(s.words):
                if s.table == "holding":
                    plant.set_hr(s.address + i, w)
                else:
                    plant.set_ir(s.address + i, w, device=device_map.link.unit)
        dongle = GivEnergyDongle(plant=plant, heartbeat_interval=None)
        port = await dongle.start()
        try:
            yield f"givenergy://127.0.0.1:{port}?{FAST}"
        finally:
            await dongle.stop()
        return
    from solartui.sim.modbus_server import ModbusSimulator
    from solartui.sim.register_bank import RegisterBank
    bank = RegisterBank(device_map, unit=device_map.link.unit)
    bank.freeze()
    for s in fixture.seeds:
        bank.set_raw(s.table, s.address, list(s.words))
    sim = ModbusSimulator(bank, tick_interval=float("inf"))
    port = await sim.start_tcp("127.0.0.1", 0)
    try:
        yield f"tcp://127.0.0.1:{port}?unit={device_map.link.unit}&{FAST}"
    finally:
        await sim.stop()


async def _verify_registers(device_map: DeviceMap, fixture: RegisterFixture) -> list[Verdict]:
    out: list[Verdict] = []
    async with _serve_registers(device_map, fixture) as url:
        session = Session()
        try:
            dev = await session.connect(url, str(device_map.path))
            readings = {r.point.name: r for r in await dev.poll(list(device_map.points))}
            for p in device_map.points:
                seed = fixture.points.get(p.name)
                if seed is None:
                    out.append(Verdict(p.name, NO_FIXTURE))
                    continue
                unit = p.unit if p.enum is None and p.bits is None else ""
                expected = cmp.expect_text(seed.expect, unit)
                r = readings.get(p.name)
                if r is None:
                    out.append(Verdict(p.name, FAIL, expected=expected,
                                       detail=f"the map does not read it (access {p.access})"))
                elif not r.ok:
                    out.append(Verdict(p.name, FAIL, expected=expected, detail=r.error or ""))
                else:
                    ok = cmp.register_matches(p, seed.expect, r.decoded)
                    out.append(Verdict(p.name, PASS if ok else FAIL, expected=expected,
                                       decoded=r.decoded.text, raw=words_text(r.decoded.words)))
            if fixture.identify:
                out += await _identify_verdicts(dev, device_map, fixture)
            if fixture.clock is not None:
                out.append(await _clock_verdict(dev, fixture))
        finally:
            await session.close()
    return out


async def _identify_verdicts(dev, device_map: DeviceMap, fixture: RegisterFixture):
    ident = dev.identity or await dev.identify()
    out = []
    for name, seed in fixture.identify.items():
        expected = cmp.expect_text(seed.expect)
        if name in ident.errors:
            out.append(Verdict(name, FAIL, "identify", expected, detail=ident.errors[name]))
            continue
        got = ident.values.get(name)
        ok = cmp.identify_matches(device_map.identify[name], seed.expect, got)
        out.append(Verdict(name, PASS if ok else FAIL, "identify", expected, str(got),
                           words_text(seed.words)))
    return out


async def _clock_verdict(dev, fixture: RegisterFixture) -> Verdict:
    seed = fixture.clock
    assert seed is not None
    r = await dev.read_clock()
    expected = cmp.expect_text(seed.expect)
    got = r.device.strftime(cmp.TIME_FORMAT) if r.device else ""
    ok = cmp.clock_matches(seed.expect, r.device)
    return Verdict("clock", PASS if ok else FAIL, "clock", expected, got, words_text(r.words),
                   r.error or "")


# --- command maps (PI30) -----------------------------------------------------------------------

async def _verify_commands(device_map: CommandMap, fixture: CommandFixture) -> list[Verdict]:
    from solartui.sim.pi30_inverter import Pi30Inverter
    from solartui.sim.pi30_pty import serve_pi30_on_pty
    inverter = Pi30Inverter()
    inverter.canned = dict(fixture.responses)
    server = await serve_pi30_on_pty(inverter, mode="serial")
    session = Session()
    out: list[Verdict] = []
    try:
        dev = await session.connect(f"pi30://{server.client_path}?{FAST}", str(device_map.path))
        readings = {r.point.name: r for r in await dev.poll(list(device_map.fields))}
        for fl in device_map.fields:
            out.append(_field_verdict(fl, fixture, readings.get(fl.name)))
        for s in device_map.settings:
            out.append(await _setting_verdict(dev, s, fixture))
        for name, expect in fixture.identify.items():
            got = dev.identity.values.get(name) if dev.identity else None
            err = dev.identity.errors.get(name, "") if dev.identity else ""
            ok = got is not None and str(got) == str(expect)
            out.append(Verdict(name, PASS if ok else FAIL, "identify", str(expect),
                               "" if got is None else str(got), detail=err))
    finally:
        await session.close()
        await server.stop()
    return out


def _field_verdict(fl, fixture: CommandFixture, reading) -> Verdict:
    fe = fixture.fields.get(fl.name)
    if fe is None:
        return Verdict(fl.name, NO_FIXTURE, "field")
    unit = fl.unit if fl.type in ("float", "int", "list") else ""
    expected = cmp.expect_text(fe.expect, unit)
    if fe.command != fl.command:
        return Verdict(fl.name, FAIL, "field", expected,
                       detail=f"the map reads it from {fl.command}; the document puts it in "
                              f"{fe.command}")
    d = reading.decoded if reading is not None else None
    if d is None or not d.ok:
        why = (reading.error if reading is not None else None) or (d.error if d else None)
        return Verdict(fl.name, FAIL, "field", expected, raw=d.raw if d else "",
                       detail=why or "not in the reply")
    ok = cmp.field_matches(fl, fe.expect, d)
    return Verdict(fl.name, PASS if ok else FAIL, "field", expected, d.text, d.raw)


async def _setting_verdict(dev, s, fixture: CommandFixture) -> Verdict:
    se = fixture.settings.get(s.name)
    if se is None:
        return Verdict(s.name, NO_FIXTURE, "setting")
    expected = cmp.expect_text(se.expect, s.unit)
    got = await dev.read_setting(s)
    text = value_text(s, got)
    if not cmp.setting_matches(s, se.expect, got, text):
        return Verdict(s.name, FAIL, "setting", expected, text,
                       detail=f"read back through {s.reads_back.command} {s.reads_back.field}")
    if se.setter is None:
        return Verdict(s.name, PASS, "setting", expected, text)
    try:
        plan = await dev.plan_write(s.name, cmp.setting_input(se.expect))
        command = plan.command
    except (ValueRejected, LinkError) as exc:
        return Verdict(s.name, FAIL, "setting", expected, text,
                       detail=f"the map cannot write it: {exc}")
    ok = command == se.setter
    return Verdict(s.name, PASS if ok else FAIL, "setting", f"{expected} by {se.setter}",
                   f"{text} by {command}", command,
                   "" if ok else f"the map writes {command}, the document {se.setter}")


async def verify(device_map, fixture: Fixture) -> MapRun:
    """verify_map, with a refused connection said in one line (the simulator is ours: a bug)."""
    try:
        return await verify_map(device_map, fixture)
    except LinkError as exc:
        raise SolartuiError(f"{device_map.id}: the simulator did not answer: {exc}") from None

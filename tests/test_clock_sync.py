"""Clock sets land on the host's second: for each device kind, through the real link at the map's
own pacing, the simulated device's arrival log (an independent witness) shows the whole second
written within a generous 0.75 s of the host time the frame arrived (the bench shows the real
figure), and the journal keeps the words read back, not the words written."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gate_help import write_one
from solartui.devices.clock import decode_clock
from solartui.devices.register_device import RegisterDevice
from solartui.devices.writes import VERIFIED
from solartui.journal import Journal
from solartui.links.clock_timing import wait_for_second
from solartui.links.pool import LinkPool
from solartui.links.target import parse_target
from solartui.registers import catalog
from solartui.session import Session
from solartui.shine.server import ShineServer
from solartui.sim.givenergy_dongle import GivEnergyDongle
from solartui.sim.modbus_server import ModbusSimulator
from solartui.sim.pi30_inverter import Pi30Inverter
from solartui.sim.pi30_pty import serve_pi30_on_pty
from solartui.sim.register_bank import RegisterBank
from solartui.sim.shine_logger import SimulatedDatalogger

BOUND = 0.75            # generous: a loaded 2-core machine; bench/clock_sync.py has the figures


def landed(clock_sets, zone=None) -> float:
    """|written − arrival| of the last clock set the device logged, in seconds."""
    arrival, written = clock_sets[-1]
    host = datetime.fromtimestamp(arrival, zone).replace(tzinfo=None)
    return abs((written - host).total_seconds())


async def test_wait_for_second_lands_on_a_whole_second():
    timed = await wait_for_second(0.01)
    assert abs(timed.second - timed.arrival) <= 0.25
    assert timed.arrival == pytest.approx(timed.sent_at + 0.01)


async def test_growatt_registers_at_850_ms_pacing(growatt_map, tmp_path):
    bank = RegisterBank(growatt_map, unit=1, clock_offset=-3600.4)
    sim = ModbusSimulator([bank])
    port = await sim.start_tcp("127.0.0.1", 0)
    pool = LinkPool()
    journal = Journal(tmp_path / "journal.jsonl")
    try:
        link = pool.get(parse_target(f"tcp://127.0.0.1:{port}?unit=1"), growatt_map.link)
        assert link.min_period == pytest.approx(0.85)          # the map's own pacing
        dev = RegisterDevice(growatt_map, link, 1, journal)
        plan = await dev.plan_clock()
        await asyncio.sleep(0.3)                # a person confirming: not drift
        outcome = await write_one(dev, plan)
    finally:
        await pool.close()
        await sim.stop()
    assert outcome.status == VERIFIED, outcome.line()
    assert len(bank.clock_sets) == 1 and landed(bank.clock_sets) <= BOUND
    assert abs(outcome.drift_after) <= BOUND
    entry = journal.entries()[-1]
    written = bank.clock_sets[-1][1]
    assert entry["words"] == [written.year - 2000, written.month, written.day, written.hour,
                              written.minute, written.second]      # the two-digit year written
    back = entry["readback_words"]
    assert back[0] == written.year                  # read back as a full year: the words read
    assert decode_clock(growatt_map.clock, back).isoformat(sep=" ") == entry["readback"]
    assert back != entry["words"]


async def test_growatt_cli_reports_drift_to_a_tenth_after_sync(growatt_map):
    from procs import run_cli
    bank = RegisterBank(growatt_map, unit=1, clock_offset=-7.6)
    sim = ModbusSimulator([bank])
    port = await sim.start_tcp("127.0.0.1", 0)
    try:
        code, out, err = await run_cli("time", f"tcp://127.0.0.1:{port}?unit=1", "--map",
                                       "growatt-protocol-ii", "--sync", "--yes")
    finally:
        await sim.stop()
    assert code == 0 and "clock: verified" in out, err
    after = out.split("clock: verified", 1)[1]
    drift = float(after.split("drift:", 1)[1].split()[0])
    assert abs(drift) <= BOUND and "as set" in after
    assert landed(bank.clock_sets) <= BOUND


async def test_givenergy_register_by_register(tmp_path):
    dongle = GivEnergyDongle(heartbeat_interval=0.3, unsolicited_interval=0.2)
    port = await dongle.start()
    dongle.plant.clock_offset = -5000.3
    session = Session(Journal(tmp_path / "journal.jsonl"))
    try:
        dev = await session.connect(f"givenergy://127.0.0.1:{port}?timeout=1000")
        assert dev.link.min_period == pytest.approx(0.3)
        outcome = await write_one(dev, await dev.plan_clock())
    finally:
        await session.close()
        await dongle.stop()
    assert outcome.status == VERIFIED, outcome.line()
    assert outcome.plan.function == 6
    sets = dongle.plant.clock_sets                  # one per register, seconds first
    assert len(sets) == 6 and landed(sets) <= BOUND  # the clock the last write left
    arrival, seconds_set = sets[0]
    entry = session.journal.entries()[-1]
    assert seconds_set.microsecond == 0 and entry["words"][-1] == seconds_set.second
    off = (seconds_set - datetime.fromtimestamp(arrival)).total_seconds() % 60
    assert min(off, 60 - off) <= BOUND              # the seconds in step with the host's
    back = entry["readback_words"]
    assert decode_clock(dev.map.clock, back).isoformat(sep=" ") == entry["readback"]
    assert back != entry["words"]                   # read a second or more after the write


async def test_pi30_dat_on_serial_pty(tmp_path):
    inverter = Pi30Inverter()
    inverter._clock_offset = -3600.7
    server = await serve_pi30_on_pty(inverter, mode="serial")
    session = Session(Journal(tmp_path / "journal.jsonl"))
    try:
        dev = await session.connect(f"pi30://{server.client_path}?timeout=800")
        assert dev.link.min_period == pytest.approx(0.5)       # the map's own pacing
        outcome = await write_one(dev, await dev.plan_clock())
    finally:
        await session.close()
        await server.stop()
    assert outcome.status == VERIFIED, outcome.line()
    assert len(inverter.clock_sets) == 1 and landed(inverter.clock_sets) <= BOUND
    written = inverter.clock_sets[-1][1]
    entry = session.journal.entries()[-1]
    assert entry["command"] == written.strftime("DAT%y%m%d%H%M%S")      # what was sent
    qt = [e for e in inverter.log if e.command == "QT"][-1]
    assert entry["readback"].replace("-", "").replace(" ", "").replace(":", "") in \
        qt.reply.decode("latin-1")                                      # what QT answered
    assert abs(outcome.drift_after) <= BOUND


async def test_shine_datalogger_register_31_at_a_paced_connection(tmp_path):
    zone = ZoneInfo("Europe/Amsterdam")
    m = catalog.resolve("growatt-protocol-ii")
    server = ShineServer(m, tz="Europe/Amsterdam", command_gap=0.85, logger_timeout=2.0,
                         inverter_timeout=2.0, journal=Journal(tmp_path / "journal.jsonl"))
    port = await server.start("127.0.0.1", 0)
    sim = SimulatedDatalogger(RegisterBank(m, identity={"serial": "INV0000001"}),
                              datalogger="LOG0000001", inverter="INV0000001", interval=0.5)
    await sim.start("127.0.0.1", port)
    try:
        deadline = time.monotonic() + 10
        while not sim.clock_sets:                   # the sync the server sends on announce
            assert time.monotonic() < deadline, "no clock sync on announce"
            await asyncio.sleep(0.05)
        sent = await server.sync_clock("LOG0000001")    # and one asked for, behind the pacing
    finally:
        await sim.stop()
        await server.stop()
    assert len(sim.clock_sets) == 2
    assert all(landed([s], zone) <= BOUND for s in sim.clock_sets)
    assert sim.clock_sets[-1][1].strftime("%Y-%m-%d %H:%M:%S") == sent

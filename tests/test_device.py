"""The device layer against the simulated Growatt inverter on loopback TCP: identify, poll,
writes with every outcome, the clock, and every fault option of the simulator."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

import pytest

from gate_help import write_one
from solartui.devices.register_device import RegisterDevice
from solartui.devices.writes import MISMATCHED, NO_ANSWER, REJECTED, VERIFIED
from solartui.errors import ValueRejected
from solartui.journal import Journal
from solartui.links.pool import LinkPool
from solartui.links.target import parse_target
from solartui.sim.modbus_server import Faults, ModbusSimulator
from solartui.sim.register_bank import RegisterBank


class Rig:
    """A simulator and a device talking to it, unpaced unless asked (pacing has its own tests)."""

    def __init__(self, m, journal_path, period_ms=0, timeout_ms=300):
        self.map = m
        self.bank = RegisterBank(m, unit=1, identity={"serial": "TEST123456"})
        self.faults = Faults()
        self.sim = ModbusSimulator([self.bank], faults=self.faults)
        self.period_ms, self.timeout_ms = period_ms, timeout_ms
        self.journal = Journal(journal_path)
        self.pool = LinkPool()

    async def __aenter__(self):
        port = await self.sim.start_tcp("127.0.0.1", 0)
        self.target = parse_target(f"tcp://127.0.0.1:{port}?unit=1&period={self.period_ms}"
                                   f"&timeout={self.timeout_ms}")
        self.link = self.pool.get(self.target, self.map.link)
        self.device = RegisterDevice(self.map, self.link, 1, self.journal)
        return self

    async def __aexit__(self, *exc):
        await self.pool.close()
        await self.sim.stop()


@pytest.fixture
def rig(growatt_map, tmp_path):
    return lambda **kw: Rig(growatt_map, tmp_path / "journal.jsonl", **kw)


def fast_readback(plan):
    from dataclasses import replace
    return replace(plan, readback_delay=0.05)


async def test_identify_and_poll(rig):
    async with rig() as r:
        ident = await r.device.identify()
        assert ident.serial == "TEST123456"
        assert r.link.stats.requests == 1      # all identification registers in one read
        readings = await r.device.poll()
        assert all(x.ok for x in readings), [x.error for x in readings if not x.ok][:3]
        by = {x.point.name: x for x in readings}
        assert by["vac1"].decoded.text.endswith(" V")
        assert 180 < by["vac1"].decoded.value < 280
        assert 45 < by["fac"].decoded.value < 65
        assert r.link.stats.requests <= 8       # planned reads, not one per point


async def test_write_verified_and_journalled(rig):
    async with rig() as r:
        await r.device.identify()
        plan = fast_readback(await r.device.plan_write("active_power_rate", "80"))
        assert plan.words == (80,) and plan.function == 6
        out = await write_one(r.device, plan)
        assert out.status == VERIFIED, out.detail
        assert r.bank.get_raw("holding", 3) == [80]
        [entry] = r.journal.entries()
        assert entry["point"] == "active_power_rate" and entry["outcome"] == VERIFIED
        assert entry["device"]["serial"] == "TEST123456" and entry["words"] == [80]


async def test_enum_label_and_special_value(rig):
    async with rig() as r:
        plan = await r.device.plan_write("active_power_rate", "unlimited")
        assert plan.words == (255,)
        plan = await r.device.plan_write("export_limit_enable", "CT")
        assert plan.words == (3,)


async def test_out_of_range_refused_before_the_wire(rig):
    async with rig() as r:
        before = r.link.stats.requests
        writes_before = r.bank.writes
        for bad in ("101", "-1", "abc", "50.5"):
            with pytest.raises(ValueRejected):
                await r.device.plan_write("active_power_rate", bad)
        with pytest.raises(ValueRejected):
            await r.device.plan_write("serial", "X")             # read-only
        with pytest.raises(ValueRejected):
            await r.device.plan_write("factory_reset", "1")      # guarded
        assert r.link.stats.requests == before
        assert r.bank.writes == writes_before
        assert r.journal.entries() == []


async def test_readback_mismatch_reported(rig):
    async with rig() as r:
        plan = await r.device.plan_write("active_power_rate", "70")
        plan = fast_readback(plan)

        async def revert():            # the device takes the write, then puts the old value back
            while r.bank.get_raw("holding", 3) != [70]:
                await asyncio.sleep(0.005)
            r.bank.set_raw("holding", 3, [255])

        reverter = asyncio.create_task(revert())
        out = await write_one(r.device, plan)
        await reverter
        assert out.status == MISMATCHED
        assert out.readback_words == (255,)
        assert r.journal.entries()[-1]["outcome"] == MISMATCHED


async def test_device_exception_is_rejected_outcome(rig):
    async with rig() as r:
        plan = fast_readback(await r.device.plan_write("active_power_rate", "60"))
        r.faults.exception = 3
        out = await write_one(r.device, plan)
        assert out.status == REJECTED and "exception 3" in out.detail
        r.faults.exception = None
        assert (await r.device.read_point(r.map.point("active_power_rate"))).ok   # keeps going


async def test_silent_device_is_no_answer_and_recovers(rig):
    async with rig(timeout_ms=200) as r:
        plan = fast_readback(await r.device.plan_write("active_power_rate", "60"))
        r.faults.silent = True
        out = await write_one(r.device, plan)
        assert out.status == NO_ANSWER
        readings = await r.device.poll([r.map.point("vac1")])
        assert not readings[0].ok and "no answer" in readings[0].error
        assert r.link.stats.timeouts >= 2
        r.faults.silent = False
        assert (await r.device.poll([r.map.point("vac1")]))[0].ok


async def test_delay_fault_within_and_beyond_timeout(rig):
    async with rig(timeout_ms=400) as r:
        p = r.map.point("vac1")
        r.faults.delay = 0.1
        t0 = time.monotonic()
        assert (await r.device.poll([p]))[0].ok
        assert time.monotonic() - t0 >= 0.1
        r.faults.delay = 0.8
        assert not (await r.device.poll([p]))[0].ok
        r.faults.delay = 0
        await asyncio.sleep(0.5)          # let the late reply arrive and be discarded
        assert (await r.device.poll([p]))[0].ok


async def test_dropped_connection_recovers(rig):
    async with rig() as r:
        p = r.map.point("vac1")
        r.faults.drop_after = 2
        results = [(await r.device.poll([p]))[0] for _ in range(4)]
        assert results[0].ok and results[1].ok
        assert any(not x.ok for x in results[2:])
        r.faults.drop_after = None
        for _ in range(3):                 # the link reconnects by itself
            if (await r.device.poll([p]))[0].ok:
                break
        else:
            pytest.fail("link did not recover after the drop")


async def test_clock_read_and_sync(rig):
    async with rig() as r:
        r.bank.clock_offset = -3600.0
        before = await r.device.read_clock()
        assert before.device is not None and abs(before.drift + 3600) < 5
        plan = fast_readback(await r.device.plan_clock())
        assert plan.words[0] < 100                    # year written as two digits (auto)
        out = await write_one(r.device, plan)
        assert out.status == VERIFIED, out.detail
        after = await r.device.read_clock()
        assert abs(after.drift) < 3
        assert r.journal.entries()[-1]["point"] == "clock"


async def test_clock_decoding_full_year(rig):
    async with rig() as r:
        now = datetime.now()
        words = await r.link.read(3, 1, 45, 6)
        assert words[0] >= 2000                       # the simulator reads back a full year
        dev_time = (await r.device.read_clock()).device
        assert abs(dev_time - now) < timedelta(seconds=5)

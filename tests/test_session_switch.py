"""Session.open / adopt against simulators on loopback: a new target is identified beside the
connected device, a failure leaves nothing behind, and adopting closes only what the old device
alone used (a channel both use is shared, never opened twice)."""

from __future__ import annotations

import pytest

from solartui.errors import SolartuiError
from solartui.session import Session
from solartui.sim.modbus_server import ModbusSimulator
from solartui.sim.register_bank import RegisterBank
from solartui.traffic import TrafficLog

MAP = "growatt-protocol-ii"
Q = "period=0&timeout=500"


@pytest.fixture
async def sims(growatt_map):
    out = []
    for serial in ("FIRST00001", "SECOND0001"):
        bank = RegisterBank(growatt_map, unit=1, identity={"serial": serial})
        extra = RegisterBank(growatt_map, unit=2, identity={"serial": serial[:-1] + "9"})
        sim = ModbusSimulator([bank, extra])
        sim.port = await sim.start_tcp("127.0.0.1", 0)
        out.append(sim)
    yield out
    for sim in out:
        await sim.stop()


async def test_failed_open_keeps_the_device_and_leaves_no_link(sims):
    session = Session(traffic=TrafficLog())
    try:
        first = await session.connect(f"tcp://127.0.0.1:{sims[0].port}?unit=1&{Q}", MAP)
        links = session.pool.links()
        with pytest.raises(SolartuiError):
            await session.open(f"tcp://127.0.0.1:1?unit=1&{Q}", MAP)
        assert session.device is first and session.pool.links() == links
        assert (await first.read_point(first.map.point("active_power_rate"))).ok
    finally:
        await session.close()


async def test_adopt_closes_only_what_the_old_device_alone_used(sims):
    session = Session(traffic=TrafficLog())
    try:
        first = await session.connect(f"tcp://127.0.0.1:{sims[0].port}?unit=1&{Q}", MAP)
        # the same channel, another unit: shared, and still open after the switch
        neighbour = await session.open(f"tcp://127.0.0.1:{sims[0].port}?unit=2&{Q}", MAP)
        assert neighbour.link is first.link and len(session.pool.links()) == 1
        await session.adopt(neighbour)
        assert session.device is neighbour and session.pool.links() == [first.link]
        assert neighbour.identity.serial == "FIRST00009"
        assert (await neighbour.read_point(neighbour.map.point("active_power_rate"))).ok

        # another channel: the old one is closed once the new device is adopted
        other = await session.open(f"tcp://127.0.0.1:{sims[1].port}?unit=1&{Q}", MAP)
        assert len(session.pool.links()) == 2
        await session.adopt(other)
        assert session.pool.links() == [other.link] and other.identity.serial == "SECOND0001"
        frames = [e for e in session.traffic.entries if "connected to" in str(e)]
        assert len(frames) == 3
    finally:
        await session.close()

"""Resync end to end (issue 21): a datalogger that puts a truncated data record before every data
record and every command reply, against the real Shine server and its HTTP API on loopback.
Before the fix the complete record behind a truncated one was lost, and so were replies (504)."""

from __future__ import annotations

import asyncio
import json

import pytest

from solartui.shine import frame as F
from solartui.sim.shine_logger import LoggerFaults
from test_shine_http import close_rig, make_rig


@pytest.fixture
async def rig():
    rig = await make_rig()
    try:
        yield rig
    finally:
        await close_rig(rig)


async def test_replies_and_records_behind_truncated_records_arrive(rig):
    sim = await rig.add("SIMLOG0001", "SIMINV0001", holding={3: 100},
                        faults=LoggerFaults(truncated=True))
    for _ in range(3):
        status, body, _ = await rig.get("/inverter?command=register&inverter=SIMINV0001&register=3")
        assert (status, json.loads(body)) == (200, {"value": 100})
    status, body, _ = await rig.put("/inverter?command=register&inverter=SIMINV0001&register=3&value=77")
    assert (status, body) == (200, "OK") and sim.bank.get_raw("holding", 3, 1) == [77]
    records = rig.server.counters["records"]
    for _ in range(3):
        await sim._send_data(F.DATA)                        # noqa: SLF001 - one record now
    for _ in range(200):
        if rig.server.counters["records"] >= records + 3:
            break
        await asyncio.sleep(0.01)
    assert rig.server.counters["records"] == records + 3     # every complete record, none lost
    assert rig.server.counters["rejected"] >= 7              # and each cut one counted


# --- GivEnergy: the link against the simulated dongle ---------------------------------------------

async def test_givenergy_read_behind_a_truncated_heartbeat_or_reply():
    from solartui.givenergy import frame as G
    from solartui.sim.givenergy_dongle import GivEnergyDongle
    from test_givenergy_link import HOST, make_link

    async with GivEnergyDongle(HOST, 0, heartbeat_interval=None) as d:
        lk = make_link(d.port, timeout_ms=2000)
        try:
            first = await lk.read(3, 0x11, 0, 60)
            heartbeat = G.encode(G.Heartbeat(d.adapter_serial, 1))
            reply = G.encode(G.ReadResponse(0x11, 3, "SA0000000", 0, 60, (0,) * 60, d.adapter_serial))
            for cut in (heartbeat[:-3], heartbeat[:-1], reply[:60], reply[:-2]):
                d.send_raw(cut)                     # the reply to the next read comes behind it
                assert await lk.read(3, 0x11, 0, 60) == first
            assert 4 <= lk.transport.rejected <= 8        # each cut one counted (TCP may split it)
        finally:
            await lk.close()

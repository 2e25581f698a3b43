"""A read-back of the wrong length is an error, never "verified" (issue 21): the simulated
inverter on loopback TCP answers every register read with one register too many."""

from __future__ import annotations

import pytest

from gate_help import write_one
from solartui.devices.writes import UNVERIFIED, VERIFIED
from solartui.errors import LinkError
from test_device import Rig, fast_readback


@pytest.fixture
def rig(growatt_map, tmp_path):
    return lambda **kw: Rig(growatt_map, tmp_path / "journal.jsonl", **kw)


async def test_a_read_with_one_register_too_many_is_an_error(rig):
    async with rig() as r:
        r.faults.extra_register = True
        with pytest.raises(LinkError, match="reply carried 3 registers, not 2"):
            await r.link.read(3, 1, 3, 2)


async def test_a_readback_with_one_register_too_many_is_not_verified(rig):
    async with rig() as r:
        plan = fast_readback(await r.device.plan_write("active_power_rate", "70"))
        r.faults.extra_register = True
        out = await write_one(r.device, plan)
        assert out.status == UNVERIFIED and "2 registers, not 1" in out.detail
        assert r.bank.get_raw("holding", 3) == [70]          # the write itself landed
        assert r.journal.entries()[-1]["outcome"] == UNVERIFIED
        r.faults.extra_register = False
        again = await write_one(r.device, fast_readback(await r.device.plan_write(
            "active_power_rate", "71")))
        assert again.status == VERIFIED

"""GivEnergy end to end: a givenergy:// target through Session, GivEnergyLink and the simulated
dongle on loopback, with its heartbeats, fan-out and write-safe list; every action written
register by register, read back and journalled; the CLI `action` command across processes."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from gate_help import run_action, write_one
from solartui.devices.actions import actions_for, plan_action
from solartui.devices.writes import VERIFIED
from solartui.errors import ValueRejected
from solartui.givenergy.frame import WriteRequest
from solartui.journal import Journal
from solartui.session import Session
from solartui.sim.givenergy_dongle import GivEnergyDongle

from procs import run_cli, simulator


ACTION_RUNS = [
    ("pause-charge-schedule", [], {96: 0}),
    ("resume-charge-schedule", [], {96: 1}),
    ("pause-discharge-schedule", [], {59: 0}),
    ("resume-discharge-schedule", [], {59: 1}),
    ("set-charge-target", ["85"], {96: 1, 20: 1, 116: 85}),
    ("set-charge-target", ["100"], {96: 1, 20: 0, 116: 100}),
    ("set-charge-slot-1", ["01:30", "04:45"], {94: 130, 95: 445, 96: 1}),
    ("set-charge-slot-1", ["2:00", "05:00", "90"], {94: 200, 95: 500, 96: 1, 20: 1, 116: 90}),
    ("set-battery-reserve", ["20"], {110: 20}),
    ("set-mode", ["eco-paused"], {27: 1, 59: 0, 110: 100}),
    ("set-mode", ["eco"], {27: 1, 59: 0, 110: 4}),        # from a paused reserve of 100
    ("set-mode", ["timed-export"], {27: 0, 59: 1}),
    ("set-mode", ["timed-demand"], {27: 1, 59: 1}),
]


@pytest.fixture
async def rig(tmp_path):
    dongle = GivEnergyDongle(heartbeat_interval=0.3, unsolicited_interval=0.2)
    port = await dongle.start()
    session = Session(Journal(tmp_path / "journal.jsonl"))
    dev = await session.connect(f"givenergy://127.0.0.1:{port}?period=0&timeout=1000")
    yield session, dev, dongle
    await session.close()
    await dongle.stop()


def _writes(dongle) -> list[tuple[int, int]]:
    return [(m.register, m.value) for m in dongle.requests if isinstance(m, WriteRequest)]


async def test_identified_and_polled_with_foreign_traffic_around(rig):
    session, dev, dongle = rig
    assert dev.map.id == "givenergy-hybrid" and dev.unit == 17
    assert dev.identity.serial == dongle.plant.inverter_serial
    await asyncio.sleep(0.7)                 # heartbeats and other clients' frames meanwhile
    readings = await dev.poll()
    assert all(r.ok for r in readings), [r.error for r in readings if not r.ok][:3]
    assert dongle.heartbeat_replies >= 1 and dev.link.transport.seen
    soc = next(r for r in readings if r.point.name == "battery_soc")
    assert 0 <= soc.decoded.value <= 100


@pytest.mark.parametrize("name,args,expected", ACTION_RUNS,
                         ids=[f"{n} {' '.join(a)}" for n, a, _ in ACTION_RUNS])
async def test_action_written_in_order_read_back_and_journalled(rig, name, args, expected):
    session, dev, dongle = rig
    if name == "set-mode" and args == ["eco"]:
        dongle.set_hr(110, 100)                 # paused: eco brings the reserve down to 4
    plans = [replace(p, readback_delay=0)
             for p in await plan_action(dev, actions_for(dev.map)[name], args)]
    before = len(_writes(dongle))
    outcomes = await run_action(dev, plans)
    assert [o.status for o in outcomes] == [VERIFIED] * len(plans), [o.line() for o in outcomes]
    sent = _writes(dongle)[before:]
    assert [(p.address, p.words[0]) for p in plans] == sent        # in order, one FC06 each
    assert {a for a, _ in sent} == set(expected)           # nothing more, nothing less
    for register, value in expected.items():
        assert dongle.hr(register) == value, register
    entries = session.journal.entries()[-len(plans):]
    assert [e["action"] for e in entries] == [name] * len(plans)
    assert [e["address"] for e in entries] == [p.address for p in plans]
    assert all(e["outcome"] == VERIFIED for e in entries)


async def test_set_clock_six_fc06_writes_verified(rig):
    session, dev, dongle = rig
    dongle.plant.clock_offset = -5000.0
    plan = await dev.plan_clock()
    assert plan.function == 6 and len(plan.words) == 6
    outcome = await write_one(dev, plan)
    assert outcome.status == VERIFIED, outcome.line()
    # seconds first (timed), then up to the year: a rollover mid-way cannot leave a field behind
    assert [r for r, _ in _writes(dongle)] == [40, 39, 38, 37, 36, 35]
    assert abs((await dev.read_clock()).drift) <= 2


@pytest.mark.parametrize("address", [101, 178, 0, 1000])
async def test_write_outside_the_write_safe_list_refused_before_the_wire(rig, address):
    session, dev, dongle = rig
    # a register the map knows as read-only is refused by the map first; either way, not sent
    with pytest.raises(ValueRejected, match="write-safe|read-only in the map"):
        await dev.plan_raw_write(address, [1])
    with pytest.raises(ValueRejected, match="write-safe"):
        await dev.link.write(6, 17, address, [1])
    assert _writes(dongle) == []


async def test_reboot_is_on_the_list_but_guarded_by_the_map(rig):
    session, dev, dongle = rig
    with pytest.raises(ValueRejected, match="guarded"):
        await dev.plan_raw_write(163, [100])
    assert _writes(dongle) == []


async def test_a_register_map_for_modbus_is_not_offered_to_plain_detection():
    from solartui.registers import catalog
    giv = ["givenergy-ac", "givenergy-ems", "givenergy-gateway", "givenergy-hybrid",
           "givenergy-three-phase"]                 # one per family, picked by HR0
    assert not set(giv) & {m.id for m in catalog.all_maps()}
    assert sorted(m.id for m in catalog.all_maps("givenergy")) == giv




async def test_cli_simulate_and_action_across_processes():
    async with simulator("givenergy", "--tcp", "127.0.0.1:0") as target:
        assert target.startswith("givenergy://127.0.0.1:")
        code, out, err = await run_cli("action", target)
        assert code == 0 and "set-charge-slot-1 START END [TARGET]" in out, err
        code, out, err = await run_cli("action", target, "set-battery-reserve", "30")
        assert code == 1 and "without confirmation" in err and "Traceback" not in err
        code, out, err = await run_cli("action", target, "set-battery-reserve", "30", "--yes")
        assert code == 0 and "battery_soc_reserve: verified" in out, err
        code, out, err = await run_cli("action", target, "set-battery-reserve", "2", "--yes")
        assert code == 1 and err.strip().count("\n") == 0 and "4..100" in err
        code, out, err = await run_cli("action", target, "set-clock", "--yes")
        assert code == 0 and "clock: verified" in out and "FC06 × 6" in out, err
        code, out, err = await run_cli("action", target, "set-mode", "timed-export", "--yes")
        assert code == 0, err
        steps = [line for line in err.splitlines() if line.startswith("step ")]
        assert steps and steps[0].startswith(f"step 1/{len(steps)}: "), err   # progress shown
        code, out, err = await run_cli("action", target, "explode")
        assert code == 1 and "no action 'explode'" in err

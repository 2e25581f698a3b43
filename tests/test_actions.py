"""Named actions: the GivEnergy set expanded on the shipped map (pure), argument binding, and end to
end against the simulated inverter on loopback Modbus TCP (unit 17) with a real RegisterDevice,
read-back and journal."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from gate_help import run_action, write_one
from solartui.devices.actions import (
    CURRENT, Action, ActionArg, actions_for, bind, check_step, plan_action,
)
from solartui.devices.register_device import RegisterDevice
from solartui.devices.writes import NOT_SENT, REJECTED, VERIFIED
from solartui.errors import SolartuiError, ValueRejected
from solartui.givenergy import write_safe
from solartui.journal import Journal
from solartui.links.pool import LinkPool
from solartui.links.target import parse_target
from solartui.registers.checks import check_map
from solartui.registers.loader import load_map
from solartui.sim.modbus_server import ModbusSimulator
from solartui.sim.register_bank import RegisterBank

MAP_FILE = Path(__file__).resolve().parent.parent / "maps" / "givenergy_hybrid.yaml"
SERIAL = "SA2114G047"


@pytest.fixture(scope="module")
def gmap():
    return load_map(MAP_FILE)


@pytest.fixture(scope="module")
def actions(gmap):
    return actions_for(gmap)


# --- the map -----------------------------------------------------------------------------------

def test_map_is_structurally_clean_and_claims_no_more(gmap):
    report = check_map(gmap)
    assert report.problems == [] and report.earned == "structure-verified"
    assert gmap.trust == "structure-verified"
    assert all(p.trust == "structure-verified" and p.source.startswith("givenergy.md §")
               for p in gmap.points)
    assert gmap.link.unit == 17 and gmap.link.max_read == 60 and 16 not in gmap.link.functions
    assert gmap.clock.year == "offset2000" and gmap.clock.address == 35


def test_writable_points_are_the_chosen_write_safe_registers(gmap):
    writable = {p.address for p in gmap.points if p.table == "holding" and p.writable}
    assert writable == {20, 27, 31, 32, 44, 45, 56, 57, 59, 94, 95, 96, 110, 111, 112, 114, 116}
    assert writable <= write_safe.SINGLE_PHASE
    assert all(p.table == "holding" for p in gmap.points if p.writable)
    guarded = {p.address for p in gmap.points if p.guard}
    assert guarded == {29, 163}
    slots = [p for p in gmap.points if "slot" in p.name]
    assert len(slots) == 8 and all(p.type == "hhmm_dec" for p in slots)


def test_reads_never_cross_a_60_register_bank(gmap):
    from solartui.registers.planner import plan_for_map
    reads = plan_for_map(gmap, [p for p in gmap.points if p.readable])
    for rd in reads:
        assert rd.count <= 60
        assert rd.address // 60 == (rd.address + rd.count - 1) // 60, rd


# --- what is offered ---------------------------------------------------------------------------

def test_givenergy_set_and_clock(actions, growatt_map):
    assert set(actions) == {
        "pause-charge-schedule", "resume-charge-schedule", "pause-discharge-schedule",
        "resume-discharge-schedule", "set-charge-target", "set-charge-slot-1",
        "set-battery-reserve", "set-mode", "set-clock"}
    clock = actions["set-clock"]
    assert clock.clock and clock.steps({}) == [] and clock.args == ()
    assert actions_for(growatt_map) == {}


def test_a_map_lacking_a_point_is_not_offered_its_actions(gmap):
    ro = replace(gmap, points=tuple(replace(p, access="r") if p.name == "enable_discharge" else p
                                    for p in gmap.points))
    offered = actions_for(ro)
    assert "pause-discharge-schedule" not in offered and "set-mode" not in offered
    assert "pause-charge-schedule" in offered
    assert "set-clock" not in actions_for(replace(gmap, clock=None))


def test_usage_lines(actions):
    assert actions["set-charge-slot-1"].usage() == "set-charge-slot-1 START END [TARGET]"
    assert actions["set-charge-target"].usage() == "set-charge-target SOC"
    assert actions["set-mode"].usage() == "set-mode eco|eco-paused|timed-demand|timed-export"
    assert actions["pause-charge-schedule"].usage() == "pause-charge-schedule"


def test_action_definitions_are_checked():
    with pytest.raises(ValueError):
        ActionArg("x", "x", "colour")
    with pytest.raises(ValueError):
        ActionArg("x", "x", "choice")
    with pytest.raises(ValueError):
        Action("a", "a", (ActionArg("x", "x", "text", optional=True), ActionArg("y", "y", "text")),
               lambda v: [])


# --- expansion (pure) --------------------------------------------------------------------------

EXPANSIONS = [
    ("pause-charge-schedule", [], {}, [("enable_charge", "0")]),
    ("resume-charge-schedule", [], {}, [("enable_charge", "1")]),
    ("pause-discharge-schedule", [], {}, [("enable_discharge", "0")]),
    ("resume-discharge-schedule", [], {}, [("enable_discharge", "1")]),
    ("set-charge-target", ["80"], {},
     [("enable_charge", "1"), ("enable_charge_target", "1"), ("charge_target_soc", "80")]),
    ("set-charge-target", ["100%"], {},
     [("enable_charge", "1"), ("enable_charge_target", "0"), ("charge_target_soc", "100")]),
    ("set-charge-slot-1", ["00:30", "04:30"], {},
     [("charge_slot_1_start", "00:30"), ("charge_slot_1_end", "04:30"), ("enable_charge", "1")]),
    ("set-charge-slot-1", ["23:30", "5:30", "90"], {},
     [("charge_slot_1_start", "23:30"), ("charge_slot_1_end", "5:30"), ("enable_charge", "1"),
      ("enable_charge_target", "1"), ("charge_target_soc", "90")]),
    ("set-charge-slot-1", ["01:00", "02:00", "100"], {},
     [("charge_slot_1_start", "01:00"), ("charge_slot_1_end", "02:00"), ("enable_charge", "1"),
      ("enable_charge_target", "0"), ("charge_target_soc", "100")]),
    ("set-battery-reserve", ["20"], {}, [("battery_soc_reserve", "20")]),
    ("set-mode", ["eco"], {"battery_soc_reserve": "30"},
     [("battery_power_mode", "1"), ("enable_discharge", "0")]),
    ("set-mode", ["ECO"], {"battery_soc_reserve": "100"},
     [("battery_power_mode", "1"), ("enable_discharge", "0"), ("battery_soc_reserve", "4")]),
    ("set-mode", ["eco-paused"], {"battery_soc_reserve": "30"},
     [("battery_power_mode", "1"), ("enable_discharge", "0"), ("battery_soc_reserve", "100")]),
    ("set-mode", ["timed-demand"], {}, [("battery_power_mode", "1"), ("enable_discharge", "1")]),
    ("set-mode", ["timed-export"], {}, [("battery_power_mode", "0"), ("enable_discharge", "1")]),
]


@pytest.mark.parametrize("name,args,current,steps", EXPANSIONS,
                         ids=[f"{e[0]}-{'-'.join(e[1]) or 'noargs'}" for e in EXPANSIONS])
def test_expansion(actions, gmap, name, args, current, steps):
    action = actions[name]
    values = {**bind(action, args), **{CURRENT + k: v for k, v in current.items()}}
    got = action.steps(values)
    assert got == steps
    for point, text in got:
        check_step(gmap, point, text)           # the map accepts every value
        assert point in action.points


def test_every_action_is_covered_by_the_expansion_table(actions):
    assert {e[0] for e in EXPANSIONS} == set(actions) - {"set-clock"}


def test_eco_without_a_known_reserve_is_refused(actions):
    with pytest.raises(ValueRejected, match="battery_soc_reserve could not be read"):
        actions["set-mode"].steps(bind(actions["set-mode"], ["eco"]))


# --- binding -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name,args,fragment", [
    ("set-charge-target", [], "takes 1 argument(s), got 0"),
    ("set-charge-target", ["80", "90"], "takes 1 argument(s), got 2"),
    ("set-charge-slot-1", ["01:00"], "takes 2-3 argument(s), got 1"),
    ("set-charge-slot-1", ["01:00", "02:00", "50", "x"], "takes 2-3 argument(s), got 4"),
    ("pause-charge-schedule", ["now"], "takes 0 argument(s), got 1"),
    ("set-charge-target", ["lots"], "SOC must be a number in %"),
    ("set-charge-target", [""], "SOC must be a number in %"),
    ("set-charge-slot-1", ["7pm", "02:00"], "START must be a time HH:MM"),
    ("set-charge-slot-1", ["01:00", "0200"], "END must be a time HH:MM"),
    ("set-mode", ["turbo"], "MODE must be one of eco, eco-paused, timed-demand, timed-export"),
])
def test_bind_errors_are_one_line_with_the_usage(actions, name, args, fragment):
    action = actions[name]
    with pytest.raises(ValueRejected) as info:
        bind(action, args)
    msg = str(info.value)
    assert msg.startswith(f"usage: {action.usage()}") and fragment in msg and "\n" not in msg


def test_bind_normalises(actions):
    assert bind(actions["set-mode"], [" Timed-Export "]) == {"mode": "timed-export"}
    assert bind(actions["set-battery-reserve"], ["20 %"]) == {"pct": "20"}
    assert bind(actions["set-charge-slot-1"], ["1:00", "02:00"]) == {"start": "1:00",
                                                                     "end": "02:00"}


@pytest.mark.parametrize("point,text", [
    ("charge_target_soc", "3"), ("charge_target_soc", "101"), ("battery_soc_reserve", "101"),
    ("charge_slot_1_start", "25:00"), ("charge_slot_1_end", "12:60"),
    ("enable_charge", "2"), ("battery_charge_limit", "51"),
])
def test_the_map_refuses_bad_step_values(gmap, point, text):
    with pytest.raises(ValueRejected):
        check_step(gmap, point, text)


@pytest.mark.parametrize("point", ["battery_calibration", "reboot", "battery_soc",
                                   "active_power_rate"])
def test_guarded_and_read_only_points_are_refused(gmap, point):
    with pytest.raises(ValueRejected):
        check_step(gmap, point, "1")
    with pytest.raises(SolartuiError):
        check_step(gmap, "no_such_point", "1")


# --- end to end against the simulated inverter -------------------------------------------------

class Rig:
    """The simulated GivEnergy registers at unit 17 on loopback, and a device on a real link.

    `server_map` lets a test give the simulated inverter different rules from the map the
    device uses (a firmware that refuses a register)."""

    def __init__(self, m, journal_path, server_map=None):
        self.map = m
        self.bank = RegisterBank(server_map or m, unit=17, identity={
            "serial": SERIAL, "device_type": 0x2001, "dsp_firmware": 449, "arm_firmware": 449,
            "protocol_version": 140})
        self.sim = ModbusSimulator([self.bank])
        self.journal = Journal(journal_path)
        self.pool = LinkPool()

    async def __aenter__(self):
        port = await self.sim.start_tcp("127.0.0.1", 0)
        # period=0: the map's 300 ms pacing is for the dongle, not for this loopback peer
        target = parse_target(f"tcp://127.0.0.1:{port}?unit=17&period=0&timeout=500")
        self.link = self.pool.get(target, self.map.link)
        self.device = RegisterDevice(self.map, self.link, 17, self.journal)
        await self.device.identify()
        return self

    async def __aexit__(self, *exc):
        await self.pool.close()
        await self.sim.stop()

    async def plan(self, actions, name, args):
        plans = await plan_action(self.device, actions[name], args)
        return [replace(p, readback_delay=0) for p in plans]


@pytest.fixture
def rig(gmap, tmp_path):
    return lambda **kw: Rig(gmap, tmp_path / "journal.jsonl", **kw)


async def test_identify_and_poll_the_simulated_inverter(rig):
    async with rig() as r:
        ident = r.device.identity
        assert ident.serial == SERIAL
        assert ident.values["device_type"] == 0x2001 and ident.values["protocol_version"] == 1.4
        readings = await r.device.poll()
        assert all(x.ok for x in readings), [x.error for x in readings if not x.ok][:3]
        by = {x.point.name: x.decoded for x in readings}
        assert by["charge_slot_1_start"].text == "00:00"
        assert by["inverter_status"].text == "normal"
        r.bank.set_raw("holding", 94, [60])
        assert (await r.device.read_point(r.map.point("charge_slot_1_start"))).decoded.text \
            == "invalid (60)"


@pytest.mark.parametrize("name,args,current,steps", EXPANSIONS,
                         ids=[f"{e[0]}-{'-'.join(e[1]) or 'noargs'}" for e in EXPANSIONS])
async def test_every_action_end_to_end(rig, actions, name, args, current, steps):
    async with rig() as r:
        for point, text in current.items():
            r.bank.set_raw("holding", r.map.point(point).address, [int(text)])
        plans = await r.plan(actions, name, args)
        assert [(p.name, p.action) for p in plans] == [(s, name) for s, _ in steps]
        assert all(p.function == 6 and p.unit == 17 and p.device_serial == SERIAL for p in plans)
        writes_before = r.bank.writes
        outcomes = await run_action(r.device, plans)
        assert [o.status for o in outcomes] == [VERIFIED] * len(steps), \
            [o.line() for o in outcomes]
        assert r.bank.writes - writes_before == len(steps)
        for point, text in steps:
            value = r.bank.value(point)
            p = r.map.point(point)
            if p.type == "hhmm_dec":
                h, m = text.split(":")
                assert value == f"{int(h):02d}:{m}"
            else:
                assert value == float(text)
        entries = r.journal.entries()
        assert [(e["point"], e["action"], e["outcome"]) for e in entries] == \
            [(s, name, VERIFIED) for s, _ in steps]
        assert all(e["device"]["serial"] == SERIAL and e["function"] == 6 for e in entries)


async def test_slot_words_on_the_wire_are_decimal_hhmm(rig, actions):
    async with rig() as r:
        await run_action(r.device, await r.plan(actions, "set-charge-slot-1", ["23:30", "4:30"]))
        assert r.bank.get_raw("holding", 94, 2) == [2330, 430]


async def test_a_failing_middle_step_leaves_the_rest_not_sent(rig, actions, gmap):
    refusing = replace(gmap, points=tuple(
        replace(p, access="r") if p.name == "charge_slot_1_end" else p for p in gmap.points))
    async with rig(server_map=refusing) as r:
        plans = await r.plan(actions, "set-charge-slot-1", ["01:00", "03:00", "80"])
        outcomes = await run_action(r.device, plans)
        assert [o.status for o in outcomes] == [VERIFIED, REJECTED, NOT_SENT, NOT_SENT, NOT_SENT]
        assert outcomes[2].detail == "not sent: charge_slot_1_end failed before it"
        assert r.bank.value("charge_slot_1_start") == "01:00"
        assert r.bank.value("enable_charge") == 0 and r.bank.value("charge_target_soc") != 80
        entries = r.journal.entries()
        assert [(e["point"], e["outcome"]) for e in entries] == [
            ("charge_slot_1_start", VERIFIED), ("charge_slot_1_end", REJECTED),
            ("enable_charge", NOT_SENT), ("enable_charge_target", NOT_SENT),
            ("charge_target_soc", NOT_SENT)]
        assert {e["action"] for e in entries} == {"set-charge-slot-1"}


@pytest.mark.parametrize("name,args", [
    ("set-battery-reserve", ["101"]), ("set-battery-reserve", ["3"]),
    ("set-charge-slot-1", ["25:00", "01:00"]), ("set-charge-slot-1", ["01:00", "02:00", "101"]),
    ("set-charge-target", ["2"]), ("set-charge-target", ["55.5"]),
    ("set-mode", ["sport"]), ("set-clock", []),
])
async def test_bad_values_are_refused_before_anything_is_sent(rig, actions, name, args):
    async with rig() as r:
        requests, writes = r.link.stats.requests, r.bank.writes
        with pytest.raises(ValueRejected):
            await plan_action(r.device, actions[name], args)
        assert r.link.stats.requests == requests       # not even a read
        assert r.bank.writes == writes
        assert r.journal.entries() == []


async def test_eco_keeps_a_set_reserve_and_lifts_a_paused_one(rig, actions):
    async with rig() as r:
        r.bank.set_raw("holding", 110, [30])
        plans = await r.plan(actions, "set-mode", ["eco"])
        assert [p.name for p in plans] == ["battery_power_mode", "enable_discharge"]
        await run_action(r.device, plans)
        assert r.bank.value("battery_soc_reserve") == 30
        await run_action(r.device, await r.plan(actions, "set-mode", ["eco-paused"]))
        assert r.bank.value("battery_soc_reserve") == 100
        await run_action(r.device, await r.plan(actions, "set-mode", ["eco"]))
        assert r.bank.value("battery_soc_reserve") == 4
        assert r.bank.value("battery_power_mode") == 1 and r.bank.value("enable_discharge") == 0


async def test_set_clock_through_the_device(rig):
    async with rig() as r:
        r.bank.clock_offset = -3600
        plan = await r.device.plan_clock()
        outcome = await write_one(r.device, replace(plan, readback_delay=0))
        assert outcome.status == VERIFIED, outcome.detail

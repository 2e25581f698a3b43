"""PI30 settings checked together (issue 14): the map's `requires` relations refuse, at plan time
and before anything goes on the wire, what the inverter's own menu refuses — float above bulk,
bulk below float, charging and cut-off voltages without battery type User, re-charge not below
re-discharge — and charging currents outside the unit's own QMCHGCR/QMUCHGCR lists.

Against the simulated inverter on a pty (the real serial path). The simulator itself answers
NAK to the same values, so "nothing in its log" shows the refusal was ours, before the wire."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gate_help import write_one
from solartui.devices.pi30_device import check_value
from solartui.devices.writes import VERIFIED
from solartui.errors import MapError, ValueRejected
from solartui.journal import Journal
from solartui.registers import catalog
from solartui.registers.command_map import parse_command_map
from solartui.registers.command_rules import relation_problems
from solartui.session import Session
from solartui.sim.pi30_inverter import Pi30Inverter
from solartui.sim.pi30_pty import serve_pi30_on_pty

from conftest import ROOT
from procs import one_line_error, run_cli

FAST = "period=0&timeout=800"
SETTERS = ("PBFT", "PCVV", "PSDV", "PBCV", "PBDV", "MCHGC", "MNCHGC", "MUCHGC", "PBT")


class Rig:
    def __init__(self, inverter, server, session, dev):
        self.inverter, self.server, self.session, self.dev = inverter, server, session, dev

    def setters_sent(self) -> list[str]:
        return [e.command for e in self.inverter.log
                if e.command and e.command.startswith(SETTERS)]


@pytest.fixture
async def rig(tmp_path):
    inverter = Pi30Inverter()
    server = await serve_pi30_on_pty(inverter, mode="serial")
    session = Session(Journal(tmp_path / "journal.jsonl"))
    dev = await session.connect(f"pi30://{server.client_path}?{FAST}")
    dev.map = replace(dev.map, link=replace(dev.map.link, readback_delay_ms=50))
    yield Rig(inverter, server, session, dev)
    await session.close()
    await server.stop()


async def refused(r: Rig, name: str, value: str, *fragments: str) -> str:
    """plan_write refuses with every fragment in the reason, and no setter reached the unit."""
    with pytest.raises(ValueRejected) as info:
        await r.dev.plan_write(name, value)
    text = str(info.value)
    for fragment in fragments:
        assert fragment in text, text
    assert r.setters_sent() == []
    assert "\n" not in text
    return text


# --- the relations, through the device layer ---------------------------------------------------

async def test_float_above_bulk_is_refused_before_the_wire(rig):
    assert rig.inverter.settings["battery_bulk_voltage"] == 56.4
    text = await refused(rig, "battery_float_voltage", "57.0", "57.0 V refused",
                         "at most battery_bulk_voltage (56.4 V now)", "raise the bulk")
    assert text.startswith("battery_float_voltage: ")
    assert any(e.command == "QPIRI" for e in rig.inverter.log)   # it did read the bulk voltage
    assert rig.inverter.settings["battery_float_voltage"] == 54.0
    # the simulated menu refuses the same value: had it gone out, the unit would answer NAK
    assert rig.inverter.set("PBFT57.0") is False


async def test_bulk_below_float_is_refused(rig):
    await refused(rig, "battery_bulk_voltage", "53.0",
                  "at least battery_float_voltage (54.0 V now)", "lower the float")
    assert rig.inverter.set("PCVV53.0") is False


async def test_equal_float_and_bulk_are_allowed(rig):
    plan = await rig.dev.plan_write("battery_float_voltage", "56.4")
    assert plan.command == "PBFT56.4" and plan.old_text == "54.0 V"
    assert (await write_one(rig.dev, plan)).status == VERIFIED


@pytest.mark.parametrize("name,value", [("battery_float_voltage", "53.5"),
                                        ("battery_bulk_voltage", "57.0"),
                                        ("battery_under_voltage", "44.0")])
async def test_charging_and_cutoff_voltages_need_battery_type_user(rig, name, value):
    rig.inverter.settings["battery_type"] = 0                     # AGM, set at the menu
    await refused(rig, name, value, "refused while battery_type is AGM",
                  "set battery_type to User first")
    assert rig.inverter.set(rig.dev.map.setting(name).setter.format(float(value))) is False


async def test_user_type_then_the_voltage_is_accepted(rig):
    rig.inverter.settings["battery_type"] = 1                     # Flooded
    await refused(rig, "battery_float_voltage", "53.5", "battery_type is Flooded")
    plan = await rig.dev.plan_write("battery_type", "User")
    assert (await write_one(rig.dev, plan)).status == VERIFIED
    plan = await rig.dev.plan_write("battery_float_voltage", "53.5")
    assert plan.command == "PBFT53.5"
    assert (await write_one(rig.dev, plan)).status == VERIFIED
    assert rig.inverter.settings["battery_float_voltage"] == 53.5


async def test_related_values_are_read_fresh_not_from_an_old_poll(rig):
    await rig.dev.poll()                                          # context: bulk 56.4 V
    rig.inverter.settings["battery_bulk_voltage"] = 58.0          # raised at the menu since
    plan = await rig.dev.plan_write("battery_float_voltage", "57.0")
    assert (await write_one(rig.dev, plan)).status == VERIFIED
    rig.inverter.settings["battery_bulk_voltage"] = 57.0          # and lowered again
    rig.inverter.log.clear()
    await refused(rig, "battery_bulk_voltage", "56.0", "(57.0 V now)")   # float is 57.0 now


async def test_recharge_must_stay_below_redischarge(rig):
    rig.inverter.settings["battery_redischarge_voltage"] = 50.0
    await refused(rig, "battery_recharge_voltage", "50", "below battery_redischarge_voltage",
                  "(50.0 V now)")
    assert rig.inverter.set("PBCV50.0") is False
    rig.inverter.settings["battery_recharge_voltage"] = 49.0
    await refused(rig, "battery_redischarge_voltage", "48", "above battery_recharge_voltage",
                  "(49.0 V now)")
    assert rig.inverter.set("PBDV48.0") is False
    # 00.0 (when full) is not a voltage: allowed, and then any re-charge voltage is
    plan = await rig.dev.plan_write("battery_redischarge_voltage", "when battery full")
    assert (await write_one(rig.dev, plan)).status == VERIFIED
    plan = await rig.dev.plan_write("battery_recharge_voltage", "51")
    assert (await write_one(rig.dev, plan)).status == VERIFIED


async def test_unreadable_related_setting_refuses(rig):
    await rig.dev.poll()                                          # battery rating known
    rig.inverter.faults.silent = True
    await refused(rig, "battery_float_voltage", "54.0", "battery_type, battery_bulk_voltage could not be read",
                  "cannot be checked against them")


# --- charging currents from the unit's own lists -----------------------------------------------

async def test_charging_currents_come_from_the_units_lists(rig):
    await refused(rig, "max_charging_current", "95", "this device offers only 10, 20")
    await refused(rig, "max_ac_charging_current", "5", "this device offers only 2, 10")
    assert {"QMCHGCR", "QMUCHGCR"} <= {e.command for e in rig.inverter.log}
    assert rig.inverter.set("MCHGC095") is False and rig.inverter.set("MUCHGC005") is False
    plan = await rig.dev.plan_write("max_charging_current", "100")
    assert plan.command == "MNCHGC0100"
    assert (await write_one(rig.dev, plan)).status == VERIFIED
    plan = await rig.dev.plan_write("max_ac_charging_current", "2")
    assert plan.command == "MUCHGC002"
    assert (await write_one(rig.dev, plan)).status == VERIFIED


async def test_unit_without_a_current_list_writes_no_current(rig):
    rig.inverter.canned["QMCHGCR"] = "NAK"
    await refused(rig, "max_charging_current", "60", "does not answer QMCHGCR",
                  "nothing was sent")


# --- the CLI: one line, non-zero exit, nothing sent ---------------------------------------------

async def test_cli_write_refuses_in_one_line_and_sends_nothing(tmp_path):
    inverter = Pi30Inverter()
    server = await serve_pi30_on_pty(inverter, mode="serial")
    try:
        target = f"pi30://{server.client_path}?{FAST}"
        code, out, err = await run_cli("write", target, "battery_float_voltage=57.0", "--yes")
        line = one_line_error(code, err)
        assert "at most battery_bulk_voltage (56.4 V now)" in line, line
        inverter.settings["battery_type"] = 0
        code, out, err = await run_cli("write", target, "battery_bulk_voltage=57.0", "--yes")
        assert "refused while battery_type is AGM" in one_line_error(code, err)
        code, out, err = await run_cli("write", target, "max_charging_current=95", "--yes")
        assert "this device offers only" in one_line_error(code, err)
        assert not [e.command for e in inverter.log if e.command and e.command.startswith(SETTERS)]
        inverter.settings["battery_type"] = 2
        code, out, err = await run_cli("write", target, "battery_float_voltage=56.0", "--yes")
        assert code == 0, err
        assert "PBFT56.0" in out and "verified" in out.lower(), out
        assert inverter.settings["battery_float_voltage"] == 56.0
    finally:
        await server.stop()


async def test_related_settings_in_one_write_are_checked_in_the_order_they_are_sent(tmp_path):
    """bulk then float in one confirmation: the float is checked against the bulk written just
    before it. Float first is refused: the inverter would NAK it with today's bulk."""
    inverter = Pi30Inverter()
    server = await serve_pi30_on_pty(inverter, mode="serial")
    try:
        target = f"pi30://{server.client_path}?{FAST}"
        code, out, err = await run_cli("write", target, "battery_float_voltage=57.0",
                                       "battery_bulk_voltage=58.0", "--yes")
        assert "at most battery_bulk_voltage (56.4 V now)" in one_line_error(code, err)
        assert not [e.command for e in inverter.log if e.command and e.command.startswith(SETTERS)]
        code, out, err = await run_cli("write", target, "battery_bulk_voltage=58.0",
                                       "battery_float_voltage=57.0", "--yes")
        assert code == 0, err
        assert (inverter.settings["battery_bulk_voltage"],
                inverter.settings["battery_float_voltage"]) == (58.0, 57.0)
    finally:
        await server.stop()


# --- inline hints and the map format -------------------------------------------------------------

def test_inline_check_uses_what_is_known_and_leaves_the_rest_to_the_plan():
    m = catalog.resolve("voltronic-pi30")
    s = m.setting("battery_float_voltage")
    assert check_value(s, "57.0", {"battery_rating_voltage": 48.0}) == "PBFT57.0"
    ctx = {"battery_rating_voltage": 48.0, "battery_type": 2, "battery_bulk_voltage": 56.4}
    with pytest.raises(ValueRejected, match="at most battery_bulk_voltage"):
        check_value(s, "57.0", ctx)
    assert relation_problems(s, 57.0, {"battery_type": 2}) == [
        "battery_float_voltage: refused: battery_bulk_voltage could not be read, so the value "
        "cannot be checked against it (the float voltage cannot be above the bulk (C.V.) "
        "voltage; raise the bulk voltage first)"]


def _map_with(relation: str) -> str:
    text = (ROOT / "maps" / "voltronic_pi30.yaml").read_text()
    anchor = '      - {field: battery_bulk_voltage, op: "<=", why: "the float voltage cannot be ' \
             'above the bulk (C.V.) voltage; raise the bulk voltage first"}\n'
    assert anchor in text
    return text.replace(anchor, relation + "\n")


@pytest.mark.parametrize("relation,message", [
    ('      - {field: battery_bulk, op: "<=", why: "x"}', "field must name a field"),
    ('      - {field: battery_bulk_voltage, op: "=<", why: "x"}', "op must be one of"),
    ('      - {field: battery_bulk_voltage, op: "<=", in: [1], why: "x"}', "exactly one of"),
    ('      - {field: battery_bulk_voltage, op: "<="}', "why must say"),
    ('      - {field: battery_type, in: [12], why: "x"}', "[12] are not values of battery_type"),
    ('      - {field: max_charging_current, op: "<=", why: "x"}', "in A; the setting is a number"),
    ('      - {field: battery_float_voltage, op: "<=", why: "x"}', "its own read-back field"),
    ('      - {field: battery_bulk_voltage, op: "<=", why: "x", when: 1}', "unknown key"),
])
def test_bad_relations_are_map_errors_with_a_line(relation, message):
    with pytest.raises(MapError) as info:
        parse_command_map(_map_with(relation), "pi30.yaml")
    text = str(info.value)
    assert message in text and "battery_float_voltage" in text, text
    assert "pi30.yaml:" in text


def test_shipped_relations_and_their_void_values():
    m = catalog.resolve("voltronic-pi30")
    rel = {s.name: s.requires for s in m.settings if s.requires}
    assert set(rel) == {"battery_float_voltage", "battery_bulk_voltage", "battery_under_voltage",
                        "battery_recharge_voltage", "battery_redischarge_voltage"}
    [recharge] = rel["battery_recharge_voltage"]
    assert recharge.op == "<" and recharge.void == (0.0,)          # PBDV 00.0 = when full

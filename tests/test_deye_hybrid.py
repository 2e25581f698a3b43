"""The Deye/Sunsynk single-phase hybrid map: it loads and earns its structural rung, decodes its
hand-worked fixture from the simulator, reads over a Solarman logger (the way these inverters are
reached on a LAN), and its settings are written through the gate with FC16 (the only write the
document lists) while out-of-range values and bit-field registers never reach the wire."""

from __future__ import annotations

import json

import pytest

from solartui.links import solarman_frame as F
from solartui.registers import catalog
from solartui.registers.checks import check_map
from solartui.sim.register_bank import RegisterBank
from solartui.sim.solarman_logger import SolarmanLogger
from solartui.trust.fixture import fixture_for
from solartui.trust.verify import FAIL, NO_FIXTURE, verify

from procs import one_line_error, run_cli as cli, simulator

MAP = "deye-hybrid"
SERIAL = 1234567890


@pytest.fixture(scope="module")
def deye():
    return catalog.resolve(MAP)


def test_the_map_loads_and_holds_together(deye):
    report = check_map(deye)
    assert not report.problems, report.findings
    assert deye.trust == "generated" and deye.link.functions == (3, 16)
    writable = {p.name for p in deye.points if p.writable}
    assert {"work_mode", "prog1_time", "prog6_soc", "battery_max_charge_current",
            "battery_low_capacity", "max_sell_power"} <= writable
    assert not {"time_of_use", "prog1_charge", "energy_management_mode"} & writable


@pytest.mark.parametrize("map_id", [MAP, "deye-hybrid-3p-lv"])
async def test_every_point_decodes_its_fixture(map_id):
    m = catalog.resolve(map_id)
    assert not check_map(m).problems and m.link.functions == (3, 16)
    run = await verify(m, fixture_for(m))
    fails = [f"{v.name}: {v.expected} != {v.decoded}" for v in run.verdicts if v.verdict == FAIL]
    assert not fails, fails
    assert not [v for v in run.verdicts if v.verdict == NO_FIXTURE]


@pytest.fixture
async def logger(deye):
    bank = RegisterBank(deye, unit=1, identity={"serial": "2305136043"})
    bank.set_raw("holding", 169, [0xFB2E])            # grid power −1234 W
    bank.set_raw("holding", 96, [0x86A0, 0x0001])     # total PV 100000 × 0.1, low word first
    bank.set_raw("holding", 184, [87])
    bank.set_raw("holding", 244, [0])
    bank.set_raw("holding", 268, [30])
    lg = SolarmanLogger(bank, serial=SERIAL)
    await lg.start()
    lg.url = f"solarman://127.0.0.1:{lg.port}?serial={SERIAL}&unit=1&period=0&timeout=400"
    yield lg
    await lg.stop()


def _writes(lg) -> list:
    return [r for r in (F.parse_rtu_request(F.parse_request(f)) for f in lg.frames)
            if r[1] in (6, 16)]


async def test_read_over_a_solarman_logger(logger):
    code, out, err = await cli("read", logger.url, "--map", MAP, "grid_power", "total_pv_energy",
                               "battery_soc", "serial", "work_mode", "--json")
    assert code == 0, err
    rows = {r["name"]: r["value"] for r in json.loads(out)}
    assert rows["grid_power"] == -1234 and rows["total_pv_energy"] == 10000.0
    assert rows["battery_soc"] == 87 and rows["serial"].strip() == "2305136043"


async def test_settings_are_written_through_the_gate_with_fc16(logger):
    code, out, err = await cli("write", logger.url, "--map", MAP, "work_mode=2", "--yes")
    assert code == 0, err
    assert logger.bank(1).get_raw("holding", 244) == [2]
    code, out, err = await cli("write", logger.url, "--map", MAP, "prog1_time=22:30", "--yes")
    assert code == 0, err
    assert logger.bank(1).get_raw("holding", 250) == [2230]
    assert [w[:3] for w in _writes(logger)] == [(1, 16, 244), (1, 16, 250)]


@pytest.mark.parametrize("assignment,fragment", [("prog1_soc=150", "outside"),
                                                 ("work_mode=7", ""),
                                                 ("battery_max_charge_current=400", "outside"),
                                                 ("time_of_use=1", "read-only")])
async def test_a_refused_setting_never_reaches_the_wire(logger, assignment, fragment):
    code, out, err = await cli("write", logger.url, "--map", MAP, assignment, "--yes")
    assert fragment in one_line_error(code, err)
    assert _writes(logger) == [] and logger.bank(1).writes == 0
    assert logger.bank(1).get_raw("holding", 268) == [30]


async def test_simulate_solarman_serves_the_deye_map():
    async with simulator("solarman", "--tcp", "127.0.0.1:0", "--serial", "77",
                         "--map", MAP) as target:
        code, out, err = await cli("read", f"{target}&period=0", "--map", MAP, "device_type",
                                   "pv1_power", "battery_soc", "--json")
        assert code == 0, err
        assert {r["name"] for r in json.loads(out) if r["error"] is None} == \
            {"device_type", "pv1_power", "battery_soc"}


async def test_three_phase_work_mode_and_slot_are_written_with_fc16():
    m = catalog.resolve("deye-hybrid-3p-lv")
    lg = SolarmanLogger(RegisterBank(m, unit=1, identity={"serial": "2402287719"}), serial=SERIAL)
    await lg.start()
    try:
        url = f"solarman://127.0.0.1:{lg.port}?serial={SERIAL}&unit=1&period=0&timeout=400"
        code, out, err = await cli("write", url, "--map", m.id, "work_mode=1", "prog3_soc=45",
                                   "--yes")
        assert code == 0, err
        assert lg.bank(1).get_raw("holding", 142) == [1]
        assert lg.bank(1).get_raw("holding", 168) == [45]
        code, out, err = await cli("write", url, "--map", m.id, "prog3_soc=101", "--yes")
        assert "outside" in one_line_error(code, err)
    finally:
        await lg.stop()

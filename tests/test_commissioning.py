"""Commissioning checks against the real simulators: each check passes, fails (with the site
fault knobs from sim/power_flow.py, or a register set on purpose) and, where it can, cannot tell.
Short sampling windows keep them fast."""

from __future__ import annotations

import pytest

from solartui.checks.context import CheckOptions
from solartui.checks.engine import applicable, run_checks
from solartui.checks.verdict import CANNOT_TELL, FAIL, PASS, exit_code
from solartui.devices import gate
from solartui.journal import Journal
from solartui.session import Session
from solartui.sim.givenergy_dongle import GivEnergyDongle
from solartui.sim.modbus_server import ModbusSimulator
from solartui.sim.pi30_inverter import Pi30Inverter
from solartui.sim.pi30_pty import serve_pi30_on_pty
from solartui.sim.register_bank import RegisterBank

MAP = "growatt-protocol-ii"
QUICK = CheckOptions(window_s=0.2, samples=3)


def opts(**kw) -> CheckOptions:
    return CheckOptions(**{"window_s": 0.2, "samples": 3, **kw})


@pytest.fixture
async def growatt(growatt_map, tmp_path):
    bank = RegisterBank(growatt_map, unit=1, identity={"serial": "CHK0000001"})
    bank.sun = 0.9
    bank.tick()
    sim = ModbusSimulator([bank], tick_interval=0.05)
    port = await sim.start_tcp("127.0.0.1", 0)
    session = Session(Journal(tmp_path / "journal.jsonl"))
    dev = await session.connect(f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=500", MAP)
    yield dev, bank
    await session.close()
    await sim.stop()


@pytest.fixture
async def givenergy(tmp_path):
    dongle = GivEnergyDongle(heartbeat_interval=None)
    dongle.plant.sun = 0.9
    port = await dongle.start()
    session = Session(Journal(tmp_path / "journal.jsonl"))
    dev = await session.connect(f"givenergy://127.0.0.1:{port}?period=0&timeout=1000")
    yield dev, dongle.plant
    await session.close()
    await dongle.stop()


async def one(dev, check, options=QUICK):
    [v] = await run_checks(dev, options, only=[check])
    assert v.check == check
    return v


def set_export_limit(bank, percent_tenths: int) -> None:
    bank.set_raw("holding", 122, [1])                  # export_limit_enable: RS485 meter
    bank.set_raw("holding", 123, [percent_tenths])     # export_limit_power_rate, 0.1 %
    bank.tick()


# --- which checks apply: data in the map -----------------------------------------------------

def test_maps_declare_their_checks(growatt_map):
    from solartui.registers import catalog
    assert applicable(growatt_map) == ["identity", "clock", "ct_direction", "export_limit",
                                       "battery", "settings"]
    assert applicable(catalog.resolve("voltronic-pi30")) == ["identity", "clock", "battery"]
    assert applicable(catalog.resolve("modbus-generic")) == []


# --- Growatt -----------------------------------------------------------------------------------

async def test_identity_pass_and_fail(growatt):
    dev, bank = growatt
    v = await one(dev, "identity")
    assert v.status == PASS and "CHK0000001" in v.reason and "firmware DH1.0" in v.reason
    assert v.readings["firmware"].startswith("DH1.0")
    bank.set_raw("holding", 9, [0x2020] * 3)           # firmware words blank
    v = await one(dev, "identity")
    assert v.status == FAIL and "firmware" in v.reason


async def test_clock_pass_fail_and_sync_through_the_gate(growatt):
    dev, bank = growatt
    assert (await one(dev, "clock")).status == PASS
    bank.clock_offset = 65.0
    v = await one(dev, "clock")
    assert v.status == FAIL and "+65 s" in v.reason and "--sync" in v.reason
    v = await one(dev, "clock", opts(sync=True))       # no confirm step: nothing written
    assert v.status == FAIL and not bank.clock_sets
    v = await one(dev, "clock", opts(sync=True, confirm=gate.confirmed))
    assert v.status == PASS and "synced" in v.reason and len(bank.clock_sets) == 1
    assert dev.journal.entries()[-1]["outcome"] == "verified"


async def test_ct_direction_pass_reversed_and_cannot_tell(growatt):
    dev, bank = growatt
    v = await one(dev, "ct_direction")
    assert v.status == PASS and "expect export" in v.reason and "grid reads export" in v.reason
    bank.faults.reversed_ct = True
    bank.tick()
    v = await one(dev, "ct_direction")
    assert v.status == FAIL and v.reason.startswith("reversed CT")
    assert "grid reads import" in v.reason and v.samples and v.samples[0]["grid_w"] < 0
    bank.faults.reversed_ct = False
    bank.sun = 0.0                                     # night: the battery covers the load
    bank._soc = 5.0
    bank.tick()
    v = await one(dev, "ct_direction")
    assert v.status == CANNOT_TELL or (v.status == PASS and "import" in v.reason)


async def test_export_limit_honoured_ignored_and_unset(growatt):
    dev, bank = growatt
    v = await one(dev, "export_limit")
    assert v.status == CANNOT_TELL and "no export limit" in v.reason
    set_export_limit(bank, 100)                        # 10 % of 5000 VA = 500 W
    v = await one(dev, "export_limit")
    assert v.status == PASS, v.reason
    assert v.readings["limit_w"] == 500 and "limiting seen" in v.reason
    bank.faults.ignore_export_limit = True
    bank.tick()
    v = await one(dev, "export_limit")
    assert v.status == FAIL and "> limit 500 W" in v.reason


async def test_export_limit_not_fooled_by_a_reversed_ct(growatt):
    dev, bank = growatt
    set_export_limit(bank, 100)
    bank.faults.reversed_ct = True                     # the inverter sees import: no limiting
    bank.tick()
    v = await one(dev, "export_limit")
    assert v.status == FAIL and "check the CT first" in v.reason


async def test_battery_pass_and_bms_silent(growatt):
    dev, bank = growatt
    v = await one(dev, "battery")
    assert v.status == PASS and "SOC 60 %" in v.reason and "no BMS error" in v.reason
    bank.set_raw("input", 1014, [0])                   # soc 0 %
    bank.set_raw("input", 1085, [3])                   # bms_error
    v = await one(dev, "battery")
    assert v.status == FAIL and "soc 0 %" in v.reason and "bms_error" in v.reason


async def test_settings_defaults_and_intended(growatt):
    dev, bank = growatt
    v = await one(dev, "settings")
    assert v.status == PASS and "active_power_rate 100" in v.reason
    bank.set_raw("holding", 3, [80])
    v = await one(dev, "settings")
    assert v.status == FAIL and "active_power_rate 80 % (the safe default is 100)" in v.reason
    v = await one(dev, "settings", opts(intended={"active_power_rate": 80}))
    assert v.status == PASS
    v = await one(dev, "settings", opts(intended={"export_limit_enable": "CT"}))
    assert v.status == FAIL and "the intended is CT" in v.reason


async def test_full_run_and_exit_code(growatt):
    dev, bank = growatt
    set_export_limit(bank, 100)
    verdicts = await run_checks(dev, opts(intended={"export_limit_enable": "RS485 meter"}))
    assert [v.status for v in verdicts] == [PASS] * 6, [v.line() for v in verdicts]
    assert exit_code(verdicts) == 0
    bank.faults.reversed_ct = True
    bank.tick()
    verdicts = await run_checks(dev, opts(intended={"export_limit_enable": "RS485 meter"}))
    assert exit_code(verdicts) == 1


# --- GivEnergy: one signed grid point, the limit from the site --------------------------------

async def test_givenergy_ct_direction(givenergy):
    dev, plant = givenergy
    assert (await one(dev, "ct_direction")).status == PASS
    plant.faults.reversed_ct = True
    v = await one(dev, "ct_direction")
    assert v.status == FAIL and "reversed CT" in v.reason


async def test_givenergy_export_limit_from_the_site(givenergy):
    dev, plant = givenergy
    v = await one(dev, "export_limit")
    assert v.status == CANNOT_TELL and "--export-limit" in v.reason
    plant.export_limit_w = 600.0
    v = await one(dev, "export_limit", opts(export_limit_w=600))
    assert v.status == PASS, v.reason
    plant.faults.ignore_export_limit = True
    v = await one(dev, "export_limit", opts(export_limit_w=600))
    assert v.status == FAIL and "> limit 600 W" in v.reason


async def test_givenergy_identity_battery_settings(givenergy):
    dev, plant = givenergy
    verdicts = await run_checks(dev, QUICK, only=["identity", "clock", "battery", "settings"])
    assert [v.status for v in verdicts] == [PASS] * 4, [v.line() for v in verdicts]
    plant.set_ir(59, 0)
    plant.set_ir(50, 0)
    v = await one(dev, "battery")
    assert v.status == FAIL and "battery_soc 0 %" in v.reason


# --- PI30: what an off-grid inverter's map declares -------------------------------------------

async def test_pi30_checks(tmp_path):
    inverter = Pi30Inverter()
    server = await serve_pi30_on_pty(inverter, mode="serial")
    session = Session(Journal(tmp_path / "journal.jsonl"))
    try:
        dev = await session.connect(f"pi30://{server.client_path}?period=0&timeout=1000")
        verdicts = await run_checks(dev, QUICK)
        assert [(v.check, v.status) for v in verdicts] == [
            ("identity", PASS), ("clock", PASS), ("battery", PASS)], [v.line() for v in verdicts]
    finally:
        await session.close()
        await server.stop()


# --- the map's checks section is validated like the rest of the map ---------------------------

def test_checks_section_errors_name_the_line():
    from solartui.errors import MapError
    from solartui.registers.loader import parse_map
    text = ("schema: 1\ndevice: {id: t, vendor: T, name: T}\nprotocol: modbus\nlink: {}\n"
            "points:\n  - {name: pv, doc: P, table: input, address: 0, type: u16, unit: W}\n"
            "checks:\n  apply: [ct_direction, magic]\n  points:\n    pv_power: [pv, nope]\n"
            "    colour: pv\n")
    with pytest.raises(MapError) as exc:
        parse_map(text, "t.yaml")
    msg = "\n".join(exc.value.findings)
    assert "t.yaml:8: checks.apply: unknown check 'magic'" in msg
    assert "t.yaml:10: checks.points.pv_power: no point 'nope'" in msg
    assert "t.yaml:11: checks.points: unknown role 'colour'" in msg
    assert "'ct_direction' needs points pv_power, load_power and grid_power" in msg


async def test_demo_rig_site_fault_fails_the_ct_check(tmp_path):
    from solartui.sim.demo_rig import DemoRig
    from solartui.sim.power_flow import PlantFaults
    rig = DemoRig(shine=False, pi30=False, givenergy=False,
                  site_faults=PlantFaults(reversed_ct=True))
    targets = await rig.start()
    session = Session(Journal(tmp_path / "journal.jsonl"))
    try:
        bank = rig.banks[1]                          # the loopback TCP inverter
        bank.sun = 0.9
        bank.tick()
        dev = await session.connect(f"{targets[1]}&period=0&timeout=1000", MAP)
        v = await one(dev, "ct_direction")
        assert v.status == FAIL and "reversed CT" in v.reason
    finally:
        await session.close()
        await rig.stop()

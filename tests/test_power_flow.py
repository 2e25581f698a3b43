"""The simulators' one power balance: grid = PV + battery − load, export limiting on what the
CT reports, and the two site faults."""

from __future__ import annotations

import pytest

from solartui.sim.power_flow import PlantFaults, apply_fault, balance


def test_balance_signs_and_limit():
    f = balance(3000, 500, -1000)
    assert f.grid == pytest.approx(1500) and f.grid_ct == f.grid and f.curtailed == 0
    f = balance(3000, 500, 0, export_limit_w=1000)
    assert f.grid == pytest.approx(1000) and f.pv == pytest.approx(1500)
    f = balance(200, 900, 300)
    assert f.grid == pytest.approx(-400)           # import


def test_faults():
    f = balance(3000, 500, 0, export_limit_w=1000, faults=PlantFaults(reversed_ct=True))
    assert f.grid == pytest.approx(2500) and f.grid_ct == pytest.approx(-2500)  # never limits
    f = balance(3000, 500, 0, export_limit_w=1000, faults=PlantFaults(ignore_export_limit=True))
    assert f.grid == pytest.approx(2500) and f.curtailed == 0
    faults = PlantFaults()
    assert apply_fault(faults, "reversed-ct") and faults.reversed_ct
    assert not apply_fault(faults, "silent")


def test_growatt_bank_points_follow_the_balance(growatt_map):
    from solartui.sim.register_bank import RegisterBank
    bank = RegisterBank(growatt_map)
    bank.sun = 0.9
    bank.tick()
    fl = bank.flows
    assert bank.value("ppv") == pytest.approx(fl.pv, abs=0.1)
    assert bank.value("local_load_power") == pytest.approx(fl.load, abs=0.1)
    exp, imp = bank.value("grid_export_power"), bank.value("grid_import_power")
    assert exp - imp == pytest.approx(fl.pv + fl.battery - fl.load, abs=0.5)
    bank.faults.reversed_ct = True
    bank.tick()
    assert bank.value("grid_import_power") > 0 and bank.value("grid_export_power") == 0


def test_givenergy_plant_grid_register():
    from solartui.sim.givenergy_plant import GivEnergyPlant
    plant = GivEnergyPlant(sun=0.9)
    grid = plant.ir(30)
    grid = grid - 0x10000 if grid & 0x8000 else grid
    pv, load = plant.ir(18) + plant.ir(20), plant.ir(42)
    batt = plant.ir(52)
    batt = batt - 0x10000 if batt & 0x8000 else batt
    assert grid == pytest.approx(pv + batt - load, abs=3)
    plant.export_limit_w = 300.0
    plant.tick()
    grid = plant.ir(30)
    assert (grid - 0x10000 if grid & 0x8000 else grid) <= 301

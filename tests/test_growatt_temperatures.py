"""Growatt 0.1 °C temperatures are signed int16 (growatt-modbus.md §4.9): a battery at −5.0 °C
sends 0xFFCE, which an unsigned decode shows as 6548.6 °C. Read through the real path: the
simulated inverter on loopback TCP, the link, the register device and the map's codec."""

from __future__ import annotations

import pytest

from solartui.devices.register_device import RegisterDevice
from solartui.links.pool import LinkPool
from solartui.links.target import parse_target
from solartui.registers import catalog
from solartui.sim.modbus_server import ModbusSimulator
from solartui.sim.register_bank import RegisterBank

TEMPERATURES = ["temp_inverter", "temp_ipm", "temp_boost", "battery_temperature",
                "max_cell_temperature", "min_cell_temperature"]
# settings in °C with a documented positive raw range (200-1000); their sign never shows
POSITIVE_LIMITS = {"bat_discharge_upper_limit", "bat_charge_upper_limit"}


async def _read(growatt_map, bank: RegisterBank, names: list[str]):
    sim = ModbusSimulator([bank])
    port = await sim.start_tcp("127.0.0.1", 0)
    pool = LinkPool()
    try:
        link = pool.get(parse_target(f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=500"),
                        growatt_map.link)
        dev = RegisterDevice(growatt_map, link, 1)
        readings = await dev.poll([growatt_map.point(n) for n in names])
        return {r.point.name: r for r in readings}
    finally:
        await pool.close()
        await sim.stop()


async def test_minus_five_degrees_reads_minus_five(growatt_map):
    bank = RegisterBank(growatt_map, unit=1)
    bank.set_raw("input", 1040, [0xFFCE])
    bank.set_raw("input", 93, [0xFFD7])            # grott issue 630: −4.1 °C read as 6549.5
    got = await _read(growatt_map, bank, ["battery_temperature", "temp_inverter"])
    battery, inverter = got["battery_temperature"], got["temp_inverter"]
    assert battery.ok and battery.decoded.value == pytest.approx(-5.0)
    assert battery.decoded.text == "-5.0 °C"
    assert inverter.ok and inverter.decoded.value == pytest.approx(-4.1)


async def test_simulator_temperatures_stay_plausible_and_positive(growatt_map):
    bank = RegisterBank(growatt_map, unit=1, seed=3)
    for hour in (0, 6, 12, 18):                     # night, dawn, noon, evening
        bank.tick(1_700_000_000 + hour * 3600)
        got = await _read(growatt_map, bank, TEMPERATURES)
        for name in TEMPERATURES:
            r = got[name]
            assert r.ok, (name, r.error)
            assert 5.0 < r.decoded.value < 80.0, (hour, name, r.decoded.value)


def test_every_live_temperature_is_signed_with_its_evidence(growatt_map):
    celsius = [p for p in growatt_map.points if p.unit == "°C"]
    assert {p.name for p in celsius} == set(TEMPERATURES) | POSITIVE_LIMITS
    for p in celsius:
        if p.name in POSITIVE_LIMITS:
            assert p.range and p.range[0] >= 0
            continue
        assert p.type == "s16" and p.scale == 0.1, p.name
        for evidence in ("grott issue 630", "grott issue 491", "solax-modbus issue 1775",
                         "givenergy-modbus PR 381"):
            assert evidence in p.note, (p.name, evidence)


def test_givenergy_temperatures_are_signed():
    m = catalog.resolve("givenergy-hybrid")
    celsius = [p for p in m.points if p.unit == "°C"]
    assert celsius and all(p.type == "s16" for p in celsius), \
        [(p.name, p.type) for p in celsius if p.type != "s16"]

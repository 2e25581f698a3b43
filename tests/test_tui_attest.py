"""Attesting values against the device's display in the live screens, driven with Pilot against
real simulators (Modbus over loopback TCP, PI30 on a pty): what is stored, the rung the trust
cell shows afterwards, Escape storing nothing, other firmware earning nothing, and the demo's
simulators stored as simulated without raising any rung."""

from __future__ import annotations

import time
from contextlib import asynccontextmanager

import pytest
from textual.widgets import DataTable

from solartui.journal import Journal
from solartui.session import Session
from solartui.settings import load_settings
from solartui.sim.modbus_server import ModbusSimulator
from solartui.sim.pi30_inverter import Pi30Inverter
from solartui.sim.pi30_pty import serve_pi30_on_pty
from solartui.sim.register_bank import RegisterBank
from solartui.traffic import TrafficLog
from solartui.trust.attestations import Attestation, AttestationStore
from solartui.trust.rungs import HARDWARE, MISMATCH
from solartui.tui.app import SolartuiApp
from solartui.tui.screens.attest import AttestScreen
from solartui.tui.screens.live import LiveScreen
from solartui.tui.screens.pi30_live import Pi30LiveScreen

from tui_rig import record_notifications, type_keys

MAP = "growatt-protocol-ii"
MODEL, FIRMWARE = "0x00102231 type 5100", "DH1.0 control DH1.0"     # the simulator's identity


async def until(pilot, cond, timeout=10.0):
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "condition not reached"
        await pilot.pause(0.05)


@asynccontextmanager
async def live_app(growatt_map, tmp_path, firmware: str = "DH1.0", demo_target=False):
    bank = RegisterBank(growatt_map, unit=1, identity={"serial": "ATT0000001",
                                                        "firmware": firmware})
    sim = ModbusSimulator([bank])
    port = await sim.start_tcp("127.0.0.1", 0)
    # a generous reply timeout: a poll timing out on a loaded machine leaves a point with no
    # current value, and "m" then (rightly) asks for no attestation
    url = f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=1000"
    session = Session(Journal(tmp_path / "j.jsonl"), TrafficLog())
    try:
        await session.connect(url, MAP)
        app = SolartuiApp(session=session)
        if demo_target:
            app.demo_targets = [f"tcp://127.0.0.1:{port}?unit=1"]   # as the demo lists it
        async with app.run_test(size=(120, 40)) as pilot:
            app.notes = record_notifications(app)
            app.sim = sim
            await until(pilot, lambda: isinstance(app.screen, LiveScreen))
            yield app, pilot
    finally:
        await session.close()
        await sim.stop()


def cell(screen, row: str, col: str) -> str:
    screen.action_show_table()                  # rows are painted when in view
    table = screen.query_one(DataTable)
    table.move_cursor(row=table.get_row_index(row))
    return str(table.get_cell(row, col))


async def attest(app, pilot, point: str, display: str | None = None, person: str | None = None):
    """Highlight `point`, press m, answer matches (display None) or not, sign, store."""
    app.screen.action_show_table()              # it opens on the overview; t shows the table
    table = app.screen.query_one(DataTable)
    table.move_cursor(row=table.get_row_index(point))
    await pilot.press("m")
    await until(pilot, lambda: isinstance(app.screen, AttestScreen))
    dialog = app.screen
    if display is not None:
        await pilot.press("down")
    await pilot.press("enter")
    if display is not None:
        await type_keys(pilot, display)
        await pilot.press("enter")
    if person is not None:
        dialog.query_one("#person").value = ""
        await type_keys(pilot, person)
    await pilot.press("enter")
    await until(pilot, lambda: not isinstance(app.screen, AttestScreen))


async def test_matches_and_differs_stored_and_shown(growatt_map, tmp_path):
    async with live_app(growatt_map, tmp_path) as (app, pilot):
        live = app.screen
        await until(pilot, lambda: cell(live, "vac1", "value") and cell(live, "fac", "value"))
        assert cell(live, "vac1", "trust") == "structure-verified"
        await attest(app, pilot, "vac1", person="Ann Lee")
        [a] = AttestationStore().all()
        assert (a.map_id, a.point, a.model, a.firmware, a.serial) == (
            MAP, "vac1", MODEL, FIRMWARE, "ATT0000001")
        assert a.shown.endswith(" V") and a.display == a.shown and a.matches
        assert a.person == "Ann Lee" and a.target == app.device.target_text
        assert not a.simulated and a.time[:2] == "20"
        assert cell(live, "vac1", "trust") == HARDWARE
        assert any("shown now: hardware-verified" in n for n, _ in app.notes)
        assert load_settings().person == "Ann Lee"            # remembered for next time
        assert "Ann Lee saw" in str(live.query_one("#detail").render())

        await attest(app, pilot, "fac", display="49.9 Hz")     # the name is prefilled now
        b = AttestationStore().all()[-1]
        assert (b.point, b.matches, b.display, b.person) == ("fac", False, "49.9 Hz", "Ann Lee")
        assert b.shown.endswith(" Hz")
        assert cell(live, "fac", "trust") == MISMATCH
        assert ("warning" in {s for n, s in app.notes if "does not match" in n})

        # Escape stores nothing
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, AttestScreen))
        await pilot.press("down", "enter", *"12", "escape")
        await until(pilot, lambda: isinstance(app.screen, LiveScreen))
        assert len(AttestationStore().all()) == 2

        # a value that did not answer cannot be attested
        app.sim.faults.silent = True
        await until(pilot, lambda: cell(live, "vac2", "age") == "failed")
        table = live.query_one(DataTable)
        table.move_cursor(row=table.get_row_index("vac2"))
        await pilot.press("m")
        await pilot.pause(0.1)
        assert isinstance(app.screen, LiveScreen)
        assert any("vac2 has no current value" in n for n, _ in app.notes)
        assert len(AttestationStore().all()) == 2


async def test_other_firmware_does_not_show_hardware_verified(growatt_map, tmp_path):
    store = AttestationStore()
    store.add(Attestation(MAP, "vac1", MODEL, "ATT0000001", FIRMWARE, "230.0 V", "230.0 V",
                          True, "Ann"))
    store.add(Attestation(MAP, "fac", MODEL, "ATT0000001", FIRMWARE, "50.00 Hz", "49 Hz",
                          False, "Ann"))
    async with live_app(growatt_map, tmp_path, firmware="DH2.0") as (app, pilot):
        live = app.screen
        assert cell(live, "vac1", "trust") == "structure-verified"
        assert cell(live, "fac", "trust") == "structure-verified"
    async with live_app(growatt_map, tmp_path) as (app, pilot):        # the attested firmware
        assert cell(app.screen, "vac1", "trust") == HARDWARE
        assert cell(app.screen, "fac", "trust") == MISMATCH


@pytest.mark.parametrize("how", ["demo target", "demo mode"])
async def test_demo_simulator_is_stored_as_simulated_and_earns_nothing(how, growatt_map,
                                                                       tmp_path):
    async with live_app(growatt_map, tmp_path, demo_target=how == "demo target") as (app, pilot):
        if how == "demo mode":
            app.demo = True           # what `solartui demo` sets (its rig is not started here)
        live = app.screen
        await until(pilot, lambda: cell(live, "vac1", "value"))
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, AttestScreen))
        assert "simulator" in " ".join(str(w.render()) for w in app.screen.query(".caution"))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, LiveScreen))
        await attest(app, pilot, "vac1", person="Demo Dan")
        [a] = AttestationStore().all()
        assert a.simulated and a.matches and a.point == "vac1"
        assert cell(live, "vac1", "trust") == "structure-verified"
        assert any("a simulator: earns no rung" in n for n, _ in app.notes)


class QmnPi30(Pi30Inverter):
    """A newer unit that answers QMN with its model (older ones answer NAK)."""

    def answer(self, command: str):
        return "MKS2-5000" if command == "QMN" else super().answer(command)


@pytest.mark.parametrize("inverter", [QmnPi30])
async def test_pi30_field_attested(inverter, tmp_path):
    server = await serve_pi30_on_pty(inverter())
    session = Session(Journal(tmp_path / "j.jsonl"), TrafficLog())
    try:
        await session.connect(f"pi30://{server.client_path}?period=0&timeout=800")
        app = SolartuiApp(session=session)
        async with app.run_test(size=(120, 40)) as pilot:
            app.notes = record_notifications(app)
            await until(pilot, lambda: isinstance(app.screen, Pi30LiveScreen))
            live = app.screen
            table = live.query_one(DataTable)
            await until(pilot, lambda: str(table.get_cell("battery_voltage", "value")) != "")
            await attest(app, pilot, "battery_voltage", person="Pia")
            [a] = AttestationStore().all()
            assert (a.map_id, a.model, a.firmware, a.person) == (
                "voltronic-pi30", "MKS2-5000", "00072.70", "Pia")
            assert a.shown.endswith(" V") and a.matches and not a.simulated
            assert str(table.get_cell("battery_voltage", "trust")) == HARDWARE
            assert str(table.get_cell("battery_capacity", "trust")) == "structure-verified"
            await attest(app, pilot, "mode", display="Battery")
            assert str(table.get_cell("mode", "trust")) == MISMATCH
    finally:
        await session.close()
        await server.stop()

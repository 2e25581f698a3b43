"""The TUI on a SunSpec device: connected by identification (no map named), the header names the
maker, the live screen shows scaled values and "not implemented", and the register browser reads
the SunSpec block at 40000 with the point names."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input

from solartui.sim.modbus_server import ModbusSimulator
from solartui.sim.sunspec_bank import SunSpecBank
from solartui.tui.app import SolartuiApp
from solartui.tui.screens.browser import BrowserScreen
from solartui.tui.screens.live import LiveScreen

from test_tui_live import row, until


@pytest.fixture
async def url():
    sim = ModbusSimulator([SunSpecBank(sun=0.5)])
    port = await sim.start_tcp("127.0.0.1", 0)
    yield f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=500"
    await sim.stop()


async def test_live_screen_and_browser_on_a_sunspec_device(url):
    app = SolartuiApp(url, None)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LiveScreen), timeout=20)
        assert "SunSim" in app.sub_title and "SIM0000001" in app.sub_title
        table = app.screen.query_one("#points", DataTable)
        await until(pilot, lambda: table.row_count > 100)
        await until(pilot, lambda: row(table, "m103_Hz")["value"] != "", timeout=20)
        assert row(table, "m103_Hz")["value"].startswith("50.01")
        await until(pilot, lambda: row(table, "m103_VAr")["value"] != "")
        assert "not implemented" in row(table, "m103_VAr")["value"]
        app.switch_to(BrowserScreen(start=40000, count=40))
        await until(pilot, lambda: isinstance(app.screen, BrowserScreen))
        await pilot.pause()
        app.screen.query_one("#browser-start", Input).value = "40000"
        await pilot.press("r")
        grid = app.screen.query_one("#browser-table", DataTable)
        await until(pilot, lambda: grid.row_count > 0 and str(grid.get_cell("40000", "raw")) != "")
        assert str(grid.get_cell("40000", "raw")).upper() in ("5375", "0X5375")
        assert "m1_Mn" in str(grid.get_cell("40004", "name"))

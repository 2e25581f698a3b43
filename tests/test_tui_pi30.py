"""The PI30 live screen and its settings, driven with Pilot against the simulated inverter on a
pty (the pi30:// path): grouped fields with mode and warnings as words, a setting chosen,
confirmed, written, read back and journalled; a refused value and a NAK."""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import replace

import pytest
from textual.widgets import Button, DataTable, Select

from solartui.devices.writes import REJECTED, VERIFIED
from solartui.journal import Journal
from solartui.session import Session
from solartui.sim.pi30_inverter import Pi30Inverter
from solartui.sim.pi30_pty import serve_pi30_on_pty
from solartui.traffic import TrafficLog
from solartui.tui.app import SolartuiApp
from solartui.tui.screens.clock import ClockScreen
from solartui.tui.screens.confirm import ConfirmScreen
from solartui.tui.screens.pi30_live import Pi30LiveScreen
from solartui.tui.screens.setting_edit import SettingEditScreen

from tui_rig import Rig, record_notifications


@asynccontextmanager
async def pi30_app(tmp_path):
    inverter = Pi30Inverter()
    inverter.warnings = {1}                          # inverter fault: shown in words
    server = await serve_pi30_on_pty(inverter)
    session = Session(Journal(tmp_path / "j.jsonl"), TrafficLog())
    try:
        dev = await session.connect(f"pi30://{server.client_path}?period=0&timeout=800")
        dev.map = replace(dev.map, link=replace(dev.map.link, readback_delay_ms=50))
        app = SolartuiApp(session=session)
        async with app.run_test(size=(120, 40)) as pilot:
            notes = record_notifications(app)
            rig = Rig(app, pilot, None, None, session, None, notes)
            rig.inverter = inverter
            yield rig
    finally:
        await session.close()
        await server.stop()


def cell(screen, row: str, col: str) -> str:
    return str(screen.query_one("#fields", DataTable).get_cell(row, col))


async def go_to(r, screen, name: str) -> None:
    screen.action_show_table()                  # it opens on the overview; t shows the table
    table = screen.query_one("#fields", DataTable)
    table.move_cursor(row=table.get_row_index(name))
    await r.pilot.pause()


@pytest.fixture
def rig(tmp_path):
    return lambda: pi30_app(tmp_path)


async def test_live_fields_grouped_with_words(rig):
    async with rig() as r:
        live = await r.screen(Pi30LiveScreen)
        await r.until(lambda: cell(live, "mode", "value") == "Line")
        await r.until(lambda: cell(live, "output_source_priority", "value") == "Utility first")
        assert "(fault)" in cell(live, "warnings", "value")
        assert cell(live, "battery_voltage", "unit") == "V"
        assert "not reported" in cell(live, "solar_feed_to_grid", "value")
        groups = [cell(live, f.name, "group") for f in live.fields]
        assert groups.index("Status") < groups.index("Settings")
        assert groups == sorted(groups, key=lambda g: groups.index(g))   # contiguous groups
        assert "2400 8N1" in r.app.sub_title and " unit " not in r.app.sub_title


async def test_setting_chosen_confirmed_written_and_read_back(rig):
    async with rig() as r:
        live = await r.screen(Pi30LiveScreen)
        await r.until(lambda: cell(live, "output_source_priority", "value") == "Utility first")
        await go_to(r, live, "output_source_priority")
        await r.pilot.press("e")
        edit = await r.screen(SettingEditScreen)
        assert "Utility first" in r.text("#current")
        edit.query_one("#value", Select).value = "SBU"
        await r.pilot.pause()
        assert "POP02" in r.texts("#verdict")[0]
        await r.pilot.click("#ok")
        await r.screen(ConfirmScreen)
        shown = " ".join(r.texts(".value"))
        for part in (r.inverter.serial, "output_source_priority", "Utility first", "SBU", "POP02"):
            assert part in shown, part
        await r.pilot.click("#confirm")
        await r.until(lambda: r.journal.entries())
        [entry] = r.journal.entries()
        assert entry["outcome"] == VERIFIED and entry["command"] == "POP02"
        assert r.inverter.settings["output_source_priority"] == 2
        assert any("verified" in m for m, _ in r.notes)
        await r.until(lambda: cell(live, "output_source_priority", "value") == "SBU")


async def test_out_of_range_refused_inline_and_nothing_sent(rig):
    async with rig() as r:
        live = await r.screen(Pi30LiveScreen)
        await r.until(lambda: cell(live, "battery_float_voltage", "value") != "")
        await go_to(r, live, "battery_float_voltage")
        await r.pilot.press("e")
        edit = await r.screen(SettingEditScreen)
        await r.pilot.press("7", "0")
        await r.pilot.pause()
        assert edit.query_one("#ok", Button).disabled
        assert "48-58.4 V" in r.texts("#verdict")[0]
        await r.pilot.press("escape")
        await r.screen(Pi30LiveScreen)
        assert not any(e.command and e.command.startswith("PBFT") for e in r.inverter.log)
        assert r.journal.entries() == []


async def test_nak_is_notified_and_journalled(rig):
    async with rig() as r:
        live = await r.screen(Pi30LiveScreen)
        await r.until(lambda: cell(live, "buzzer", "value") == "enabled")
        await go_to(r, live, "buzzer")
        await r.pilot.press("e")
        edit = await r.screen(SettingEditScreen)
        edit.query_one("#value", Select).value = "disable"
        await r.pilot.pause()
        await r.pilot.click("#ok")
        await r.screen(ConfirmScreen)
        r.inverter.faults.nak_all = True
        await r.pilot.click("#confirm")
        await r.until(lambda: r.journal.entries())
        assert r.journal.entries()[0]["outcome"] == REJECTED
        assert any("NAK" in m and sev == "error" for m, sev in r.notes)


async def test_read_only_field_and_no_register_browser(rig):
    async with rig() as r:
        live = await r.screen(Pi30LiveScreen)
        await go_to(r, live, "mode")
        await r.pilot.press("e")
        await r.pilot.press("f3")
        await r.pilot.pause()
        assert isinstance(r.app.screen, Pi30LiveScreen)
        assert any("read-only" in m for m, _ in r.notes)
        assert any("no registers" in m for m, _ in r.notes)


async def test_clock_screen_syncs_a_pi30_clock(rig):
    async with rig() as r:
        r.inverter._clock_offset = 600.0
        await r.screen(Pi30LiveScreen)
        await r.pilot.press("f4")
        clock = await r.screen(ClockScreen)
        assert "QT" in r.text("#source") and "DAT" in r.text("#source")
        await r.until(lambda: clock.last_good is not None)
        assert clock.last_good.drift == pytest.approx(600, abs=3)
        await r.pilot.click("#sync")
        await r.screen(ConfirmScreen)
        assert "DAT" in " ".join(r.texts(".value"))
        await r.pilot.click("#confirm")
        await r.until(lambda: r.journal.entries(), timeout=10)
        assert r.journal.entries()[0]["outcome"] == VERIFIED
        assert abs(r.inverter._clock_offset) < 3


async def test_connecting_elsewhere_from_the_live_screen(rig):
    """The live screen of the old device must not outlive its session (it used to crash)."""
    other = Pi30Inverter(serial="22233344455566")
    server = await serve_pi30_on_pty(other)
    try:
        async with rig() as r:
            live = await r.screen(Pi30LiveScreen)
            await r.until(lambda: cell(live, "mode", "value") == "Line")
            r.app.connect(f"pi30://{server.client_path}?period=0&timeout=800")
            await r.until(lambda: r.device is not None and r.device.serial == other.serial)
            new = await r.screen(Pi30LiveScreen)
            assert new is not live
            await r.until(lambda: cell(new, "mode", "value") == "Line")
            assert r.app.is_running and not any(sev == "error" for _, sev in r.notes)
    finally:
        await server.stop()


async def test_filter_and_the_whole_of_a_long_value(rig):
    """`/` filters like the register live screen; the detail line holds a value its cell cuts,
    and cites the protocol by its own title."""
    async with rig() as r:
        r.inverter.warnings = {1, 2, 3, 4, 5}           # a list far wider than the cell
        live = await r.screen(Pi30LiveScreen)
        # a poll made before the five were set shows the rig's one warning: wait for the five
        await r.until(lambda: "warnings" in live._last
                      and len(live._last["warnings"].decoded.text) > 26, timeout=10)
        await r.pilot.press("slash", *"warn", "enter")
        table = live.query_one("#fields", DataTable)
        assert [f.name for f in live.shown] == ["warnings"] and table.row_count == 1
        await r.until(lambda: "(fault)" in cell(live, "warnings", "value"))   # still updated
        await r.until(lambda: "value: " in r.text("#detail"))
        full = live._last["warnings"].decoded.text
        assert len(full) > 26 and full in r.text("#detail").replace("\n", " ")
        assert "Voltronic Inverter Communication Protocol PI30" in r.text("#detail")
        assert ".md" not in r.text("#detail")
        await r.pilot.press("escape")                   # clears the filter: every field again
        assert table.row_count == len(live.fields)
        await r.pilot.press("slash", *"qpiri", "enter")   # by command too
        assert live.shown and all(f.command == "QPIRI" for f in live.shown)

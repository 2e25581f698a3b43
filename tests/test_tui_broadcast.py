"""The live screen of a listen-only device, driven with Pilot against the simulated FLEXmax on a
pty: the page's fields appear and follow the pages, a device that falls silent is said and its
last values kept, pages coming again bring it back, the filter takes keys typed fast, and every
key that would ask the device something (registers, clock, actions, report, checks, e) answers
with one notification instead — pressed repeatedly, the app keeps running."""

from __future__ import annotations

import time
from contextlib import asynccontextmanager

from textual.widgets import DataTable

from solartui.session import Session
from solartui.sim.flexmax_pty import FlexmaxPtyServer
from solartui.traffic import TrafficLog
from solartui.tui.app import SolartuiApp
from solartui.tui.screens.broadcast_live import BroadcastLiveScreen

from tui_rig import press_repeatedly, record_notifications, type_keys


async def until(pilot, cond, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        await pilot.pause(0.05)


def value(screen, name: str) -> str:
    table = screen.query_one("#fields", DataTable)
    return str(table.get_cell(name, "value")) if name in [r.value for r in table.rows] else ""


@asynccontextmanager
async def flexmax_app(size=(120, 40)):
    sim = FlexmaxPtyServer(interval=0.1)
    path = await sim.start()
    session = Session(None, TrafficLog())
    app = SolartuiApp(session=session)
    try:
        async with app.run_test(size=size) as pilot:
            notes = record_notifications(app)
            app.connect(f"broadcast://{path}?map=outback-flexmax&timeout=1000")
            await until(pilot, lambda: isinstance(app.screen, BroadcastLiveScreen))
            yield app, pilot, sim, notes
    finally:
        await session.close()
        await sim.stop()


async def test_the_page_fields_show_and_follow_the_pages():
    async with flexmax_app() as (app, pilot, sim, notes):
        live = app.screen
        await until(pilot, lambda: value(live, "battery_voltage") != "")
        assert value(live, "charger_mode") == "Bulk"
        assert "listen-only" in app.sub_title and "FLEXmax" in app.sub_title
        sim.state.battery_tenths = 281
        await until(pilot, lambda: value(live, "battery_voltage") == "28.1")
        status = str(live.query_one("#status").render())
        assert "good pages" in status and "last page" in status
        assert not [n for n, sev in notes if sev == "error"]


async def test_silence_is_said_the_last_values_kept_and_pages_bring_it_back():
    async with flexmax_app() as (app, pilot, sim, _notes):
        live = app.screen
        await until(pilot, lambda: value(live, "battery_voltage") != "")
        sim.rts_low = False                      # the MATE stops talking
        await until(pilot, lambda: "no page" in str(live.query_one("#status").render()))
        assert value(live, "battery_voltage") != ""          # kept, not blanked
        sim.rts_low = True
        await until(pilot, lambda: "no page" not in str(live.query_one("#status").render()))
        assert app.is_running


async def test_the_filter_takes_keys_typed_fast():
    async with flexmax_app() as (app, pilot, _sim, _notes):
        live = app.screen
        await until(pilot, lambda: value(live, "battery_voltage") != "")
        await type_keys(pilot, "/battery")
        await until(pilot, lambda: live.query_one("#filter").value == "battery")
        names = [f.name for f in live.shown]
        assert "battery_voltage" in names and len(names) < len(live.fields)
        assert all("battery" in f"{f.name} {f.group} {f.doc}".lower() for f in live.shown)
        await pilot.press("escape")
        await until(pilot, lambda: len(live.shown) == len(live.fields))


async def test_keys_that_would_ask_the_device_answer_with_a_notification():
    async with flexmax_app() as (app, pilot, _sim, notes):
        live = app.screen
        for key in ("f3", "f4", "f6", "f8", "e"):
            before = len(notes)
            await press_repeatedly(pilot, key, 2, "burst")
            await until(pilot, lambda: len(notes) > before)
            assert app.screen is live and app.is_running, key
            assert all("listen-only" in n for n, _sev in notes[before:]), notes[before:]
        await pilot.press("f7")                 # the journal works: nothing was written
        await pilot.pause(0.2)
        assert app.screen is not live
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is live)
        await pilot.press("p")
        await until(pilot, lambda: "PAUSED" in str(live.query_one("#status").render()))
        await pilot.press("p")
        assert not [n for n, sev in notes if sev == "error"]


async def test_it_fits_80_by_24():
    async with flexmax_app(size=(80, 24)) as (app, pilot, _sim, _notes):
        live = app.screen
        await until(pilot, lambda: value(live, "battery_voltage") != "")
        table = live.query_one("#fields", DataTable)
        assert table.virtual_size.width <= 80
        assert {"field", "value", "unit"} <= {c.label.plain for c in table.columns.values()}


async def test_a_missing_port_is_one_notification_and_nothing_changes(tmp_path):
    session = Session(None, TrafficLog())
    app = SolartuiApp(session=session)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            notes = record_notifications(app)
            app.connect(f"broadcast://{tmp_path}/tty?map=outback-flexmax")
            await until(pilot, lambda: notes)
            await pilot.pause(0.2)
            assert session.device is None and app.is_running
            [(text, severity)] = notes
            assert "does not exist" in text and severity == "error"
    finally:
        await session.close()

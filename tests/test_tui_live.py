"""The TUI shell, connect screen and live screen, driven with Pilot against the simulator."""

from __future__ import annotations

import asyncio

import pytest
from textual.widgets import DataTable

from solartui.journal import Journal
from solartui.session import Session
from solartui.sim.modbus_server import ModbusSimulator
from solartui.sim.register_bank import RegisterBank
from solartui.traffic import TrafficLog
from solartui.tui.app import SolartuiApp
from solartui.tui.screens.connect import ConnectScreen
from solartui.tui.screens.discover import DiscoverScreen
from solartui.tui.screens.live import LiveScreen
from tui_rig import type_keys

MAP = "growatt-protocol-ii"


@pytest.fixture
async def sim(growatt_map):
    bank = RegisterBank(growatt_map, unit=1, identity={"serial": "TUI0000001"})
    server = ModbusSimulator([bank])
    port = await server.start_tcp("127.0.0.1", 0)
    server.bank = bank
    server.url = f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=200"
    yield server
    await server.stop()


async def until(pilot, cond, timeout=10.0):
    for _ in range(int(timeout / 0.05)):
        if cond():
            return True
        await pilot.pause(0.05)
    raise AssertionError("condition not reached")


async def connected_app(sim, tmp_path):
    session = Session(Journal(tmp_path / "journal.jsonl"), TrafficLog())
    await session.connect(sim.url, MAP)
    return SolartuiApp(session=session)


def row(table: DataTable, key: str) -> dict:
    """The row as painted; cells are painted when in view, so bring it into view first."""
    index = table.get_row_index(key)
    if table.cursor_row != index:
        table.move_cursor(row=index)
    cols = [c.key.value for c in table.ordered_columns]
    return dict(zip(cols, (str(c) for c in table.get_row(key))))


async def test_connect_screen_refuses_bad_url_then_connects(sim):
    app = SolartuiApp()
    async with app.run_test(size=(100, 30)) as pilot:
        assert isinstance(app.screen, DiscoverScreen)          # the start screen without a target
        await pilot.press("ctrl+o")
        await pilot.pause(0.1)
        assert isinstance(app.screen, ConnectScreen)
        await type_keys(pilot, "tcp://host:99999")
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert "Port out of range" in str(app.screen.query_one("#error").render())
        assert app.device is None
        app.screen.query_one("#url").value = sim.url
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, LiveScreen))
        assert "TUI0000001" in app.sub_title and "Growatt" in app.sub_title
        assert app.settings.recent[0] == sim.url          # remembered in the settings file


async def test_connect_to_silent_target_is_a_notification(sim, growatt_map):
    sim.faults.silent = True
    app = SolartuiApp(sim.url, MAP)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: any("no answer" in n.message for n in app._notifications))
        assert app.device is None and app.is_running


async def test_live_values_with_units_update_in_place(sim, tmp_path):
    app = await connected_app(sim, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, LiveScreen)
        table = screen.query_one(DataTable)
        await until(pilot, lambda: row(table, "vac1")["value"] != "")
        r = row(table, "vac1")
        assert r["unit"] == "V" and 180 < float(r["value"]) < 280 and r["trust"] == "structure-verified"
        assert row(table, "fac")["unit"] == "Hz"
        count = table.row_count
        sim.bank.set_raw("input", 38, [2345])
        await until(pilot, lambda: row(table, "vac1")["value"] == "234.5")
        assert table.row_count == count                    # updated in place, not rebuilt
        assert "refresh" in str(screen.query_one("#status").render())


async def test_filter_pause_and_detail(sim, tmp_path):
    app = await connected_app(sim, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        table = screen.query_one(DataTable)
        total = table.row_count
        await pilot.press("slash")
        await type_keys(pilot, "battery")
        await pilot.pause(0.1)
        assert 0 < table.row_count < total
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert table.row_count == total
        await pilot.press("p")
        await pilot.pause(0.1)
        before = app.device.link.stats.requests
        await asyncio.sleep(1.5)
        assert app.device.link.stats.requests == before   # paused: nothing on the wire
        assert "PAUSED" in str(screen.query_one("#status").render())
        await pilot.press("p")
        await until(pilot, lambda: app.device.link.stats.requests > before)
        await pilot.press("down")
        await pilot.pause(0.1)
        detail = str(screen.query_one("#detail").render())
        assert "Growatt Inverter Modbus RTU Protocol II V1.24, input" in detail   # its title


async def test_silent_device_greys_values_and_recovers(sim, tmp_path):
    app = await connected_app(sim, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        table = screen.query_one(DataTable)
        await until(pilot, lambda: row(table, "vac1")["value"] != "")
        last = row(table, "vac1")["value"]
        sim.faults.silent = True
        await until(pilot, lambda: "not answering" in str(screen.query_one("#status").render()))
        assert row(table, "vac1")["value"] == last        # keeps its last value...
        assert row(table, "vac1")["age"] == "failed"        # ...marked, with the reason in detail
        assert app.is_running
        sim.faults.silent = False
        await until(pilot, lambda: row(table, "vac1")["age"] != "failed", timeout=15)
        assert "not answering" not in str(screen.query_one("#status").render())


async def test_leaving_mid_request_does_not_crash(sim, tmp_path):
    sim.faults.delay = 0.15
    app = await connected_app(sim, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.05)                 # a poll is on the wire
        await pilot.press("f4")                 # another screen on top: polling pauses
        await pilot.pause(0.3)
        await pilot.press("escape")
        await pilot.press("ctrl+o")             # back to connect: the live screen goes away
        await pilot.pause(0.3)
        assert app.is_running
        assert not [n for n in app._notifications if "internal error" in n.message]


async def test_command_palette_offers_every_action(sim, tmp_path):
    app = await connected_app(sim, tmp_path)
    async with app.run_test(size=(120, 40)):
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Discover", "Connect", "Live values", "Register browser", "Clock", "Traffic log"} <= titles


def footer_keys(screen) -> dict[str, str]:
    from textual.widgets._footer import FooterKey
    return {k.description: k.key for k in screen.query(FooterKey)}


async def test_pause_is_visible_at_80_columns(sim, tmp_path):
    """Paused: the status line starts with PAUSED (seen at 80 columns), the footer offers Resume
    instead of Pause, and the ages count on instead of saying `now`."""
    app = await connected_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        table = screen.query_one(DataTable)
        await until(pilot, lambda: row(table, "vac1")["age"] == "now")
        await until(pilot, lambda: "Pause" in footer_keys(screen))     # (drawn after mount)
        assert "Resume" not in footer_keys(screen)
        await pilot.press("p")
        await until(pilot, lambda: "Resume" in footer_keys(screen))
        status = str(screen.query_one("#status").render())
        assert status.strip().startswith("PAUSED")
        assert "PAUSED" in app.export_screenshot()           # on screen, not cut off
        assert footer_keys(screen).get("Resume") == "p" and "Pause" not in footer_keys(screen)
        before = app.device.link.stats.requests
        await until(pilot, lambda: row(table, "vac1")["age"] not in ("now", "1 s"))
        assert row(table, "vac1")["age"].endswith(" s")       # 2 s, 3 s…: counting while paused
        assert app.device.link.stats.requests == before        # and nothing on the wire

        await pilot.press("p")                                 # the footer's Resume
        await until(pilot, lambda: row(table, "vac1")["age"] == "now")
        await until(pilot, lambda: "Pause" in footer_keys(screen))
        assert "Resume" not in footer_keys(screen)
        assert "PAUSED" not in str(screen.query_one("#status").render())


async def test_every_key_of_the_screen_is_in_the_command_palette(sim, tmp_path):
    """ctrl+p on the live screen offers its own keys (Pause, Write, Mark …) and the recent
    targets; choosing Pause pauses, as `p` does."""
    from textual.command import CommandPalette
    app = await connected_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        table = screen.query_one(DataTable)
        await until(pilot, lambda: row(table, "vac1")["age"] == "now")
        titles = [c.title for c in app.get_system_commands(screen)]
        for wanted in ("Pause", "Write", "Mark", "Filter", "Actions", "Journal", "Clock"):
            assert wanted in titles, (wanted, titles)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"pause")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen)
        await until(pilot, lambda: str(screen.query_one("#status").render()).strip()
                    .startswith("PAUSED"))
        assert "Resume" in [c.title for c in app.get_system_commands(screen)]


async def test_f1_and_question_mark_list_every_key_of_the_screen_and_the_app(sim, tmp_path):
    from solartui.tui.screens.help import HelpScreen
    app = await connected_app(sim, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        live = app.screen
        await until(pilot, lambda: row(live.query_one(DataTable), "vac1")["age"] == "now")
        for key in ("f1", "question_mark"):
            await pilot.press(key)
            await until(pilot, lambda: isinstance(app.screen, HelpScreen))
            rows = [tuple(r) for r in app.screen.rows]
            for wanted in (("p", "Pause", "Live"), ("e", "Write", "Live"), ("m", "Mark", "Live"),
                           ("f4", "Clock", "app"), ("f7", "Journal", "app"),
                           ("^q", "Quit", "app"), ("^o", "Connect", "app")):
                assert wanted in rows, (wanted, rows)
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is live)
        live.query_one("#filter").focus()                 # ? typed into the filter stays there
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        assert app.screen is live and live.query_one("#filter").value == "?"

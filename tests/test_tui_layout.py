"""Layouts by width: at 80×24 every screen's footer shows only whole keys and always Help; the
tables show the columns that fit, the least needed dropped first, more as the terminal widens;
the title keeps the serial and model. Driven with Pilot against the simulated inverters."""

from __future__ import annotations

from textual.widgets import DataTable, Input
from textual.widgets._footer import FooterKey
from textual.widgets._header import HeaderTitle

from solartui.layout_width import Part, choose, elide_middle, fit_text
from solartui.tui.chrome import Footer
from solartui.tui.screens.browser import BrowserScreen
from solartui.tui.screens.checks import ChecksScreen
from solartui.tui.screens.clock import ClockScreen
from solartui.tui.screens.connect import ConnectScreen
from solartui.tui.screens.discover import DiscoverScreen
from solartui.tui.screens.journal import JournalScreen
from solartui.tui.screens.live import LiveScreen
from solartui.tui.screens.pi30_live import Pi30LiveScreen
from solartui.tui.screens.server import ServerScreen
from solartui.tui.screens.traffic import TrafficScreen

from test_tui_pi30 import pi30_app
from tui_rig import running

# --- the Textual-free helper ---------------------------------------------------------------------


def test_choose_keeps_the_most_needed_in_their_own_order_and_grows_the_rest():
    parts = [Part("a", 10, 0, grow=5), Part("b", 10, 2), Part("c", 4, 1), Part("d", 30, 3)]
    assert [(p.key, w) for p, w in choose(parts, 33, gap=2)] == [("a", 13), ("b", 10), ("c", 4)]
    # a part that does not fit is skipped; a smaller, less needed one takes the room left
    assert [p.key for p, _ in choose(parts, 20, gap=2)] == ["a", "c"]
    assert [p.key for p, _ in choose(parts, 5, gap=2)] == ["a"]      # priority 0 always shows


def test_elide_middle_keeps_both_ends():
    assert elide_middle("rtu:///dev/ttyUSB0?unit=1", 12) == "rtu://…nit=1"
    assert elide_middle("short", 10) == "short"
    assert len(elide_middle("x" * 50, 9)) == 9


def test_fit_text_drops_the_least_needed_then_shortens_in_the_middle():
    pieces = [("Growatt", 3), ("TEST123456", 0), ("fw DH1.0", 4), ("model 0x00102231", 1),
              ("pty /dev/pts/12 9600 8N1 unit 1", 2), ("850 ms pacing", 5)]
    wide = fit_text(pieces, 200)
    assert wide.count(" · ") == 5
    at80 = fit_text(pieces, 63)
    assert at80 == "TEST123456 · model 0x00102231 · pty /dev/pts/12 9600 8N1 unit 1"
    narrow = fit_text(pieces, 50)
    assert len(narrow) <= 50 and "TEST123456" in narrow and "model 0x00102231" in narrow
    assert "…" in narrow and narrow.endswith("unit 1")          # cut in the middle, not the end


# --- the footer at 80 columns ---------------------------------------------------------------------


def footer_keys(screen) -> list[str]:
    """The descriptions of the footer's keys; fails when one is cut (not whole, or under the
    palette key, or past the right edge)."""
    footer = screen.query_one(Footer)
    keys = list(footer.query(FooterKey))
    palette = [k for k in keys if k.has_class("-command-palette")]
    right = palette[0].region.x if palette else footer.region.right
    shown = []
    for k in keys:
        if k in palette:
            assert k.region.right <= footer.region.right
            continue
        text = k.render().plain
        assert k.region.width >= len(text), f"{text!r} cut to {k.region.width}"
        assert k.region.right <= right, f"{text!r} runs under the palette key"
        shown.append(k.description)
    return shown


async def settled(r, screen_type) -> object:
    screen = await r.screen(screen_type)
    await r.until(lambda: any(True for _ in screen.query_one(Footer).query(FooterKey)))
    await r.pilot.pause()
    return screen


async def test_every_screen_footer_at_80x24_is_whole_and_has_help(growatt_map, tmp_path):
    async with running(growatt_map, tmp_path) as r:
        await r.pilot.resize_terminal(80, 24)
        r.app.show_connected()
        live = await settled(r, LiveScreen)
        await one_row(r, live)
        keys = footer_keys(live)
        assert {"Help", "Filter", "Write", "Mark"} <= set(keys)
        for action, cls, wanted in (("show_browser", BrowserScreen, {"Read", "Write"}),
                                    ("show_clock", ClockScreen, {"Sync to host time"}),
                                    ("show_traffic", TrafficScreen, {"Save"}),
                                    ("show_journal", JournalScreen, {"Filter", "All devices"}),
                                    ("show_connect", ConnectScreen, {"Back"}),
                                    ("show_discover", DiscoverScreen, {"Serial", "Network"}),
                                    ("show_server", ServerScreen, {"Start/stop", "Read all"}),
                                    ("show_checks", ChecksScreen, {"Run again", "Back"})):
            await r.app.run_action(action)
            screen = await settled(r, cls)
            keys = footer_keys(screen)
            assert "Help" in keys and wanted <= set(keys), (cls.__name__, keys)
            r.app.pop_screen()
            await r.screen(LiveScreen)
        # wider: the app's keys join
        await r.pilot.resize_terminal(160, 30)
        await r.until(lambda: "Registers" in footer_keys(live))
        assert {"Live", "Clock", "Help"} <= set(footer_keys(live))


# --- the title and the live table by width --------------------------------------------------------


def columns(screen, table_id: str) -> list[str]:
    return [str(c.key.value) for c in screen.query_one(f"#{table_id}", DataTable).ordered_columns]


async def one_row(r, live) -> None:
    """Filter the live table to one point: each re-layout refills the rows, and a test need
    not pay for a hundred of them each time."""
    live.query_one("#filter", Input).value = "inverter_status"
    await r.until(lambda: live.query_one("#points", DataTable).row_count == 1)


async def at_width(r, width: int, height: int, cond) -> None:
    await r.pilot.resize_terminal(width, height)
    await r.until(cond)


async def test_live_columns_and_title_follow_the_width(growatt_map, tmp_path):
    async with running(growatt_map, tmp_path) as r:
        await r.pilot.resize_terminal(80, 24)
        r.app.show_connected()
        live = await settled(r, LiveScreen)
        await one_row(r, live)
        await r.until(lambda: str(live.query_one("#points", DataTable).get_cell(
            "inverter_status", "value")) != "")
        assert columns(live, "points") == ["point", "value", "unit", "age", "addr", "group"]
        title = str(live.query_one(HeaderTitle).render())
        assert "TEST123456" in title and "model" in title and not title.endswith("…")
        await at_width(r, 100, 30, lambda: "trust" in columns(live, "points"))
        assert columns(live, "points") == ["point", "value", "unit", "age", "addr", "group",
                                           "trust"]
        await at_width(r, 160, 50, lambda: "raw" in columns(live, "points"))
        assert columns(live, "points") == ["point", "value", "unit", "age", "raw", "table", "addr",
                                           "group", "trust"]
        # the rows came back with their values after each re-layout
        table = live.query_one("#points", DataTable)
        await r.until(lambda: str(table.get_cell("inverter_status", "value")) != "")
        assert "Growatt" in str(live.query_one(HeaderTitle).render())

        # the journal, the browser, the server pane and discover, at 80 and 160
        for action, cls, table_id, narrow, wide in (
                ("show_journal", JournalScreen, "journal",
                 ["time", "what", "change", "outcome", "origin"],
                 ["time", "serial", "what", "change", "outcome", "origin", "where"]),
                ("show_browser", BrowserScreen, "browser-table",
                 ["address", "name", "raw", "value"], ["address", "name", "raw", "value"]),
                ("show_server", ServerScreen, "devices",
                 ["device", "serial", "last seen", "details"],
                 ["device", "serial", "address", "proto", "last seen", "records", "details"]),
                ("show_discover", DiscoverScreen, "found", ["device", "link"],
                 ["device", "link", "map"])):
            await r.app.run_action(action)
            screen = await r.screen(cls)
            await at_width(r, 80, 24, lambda: columns(screen, table_id) == narrow)
            await at_width(r, 160, 50, lambda: columns(screen, table_id) == wide)
            r.app.pop_screen()
            await r.screen(LiveScreen)


async def test_pi30_columns_follow_the_width_and_long_values_get_room(tmp_path):
    async with pi30_app(tmp_path) as r:
        live = await r.screen(Pi30LiveScreen)
        await at_width(r, 80, 24, lambda: columns(live, "fields") == [
            "field", "value", "unit", "age"])
        assert "Help" in footer_keys(live)
        await at_width(r, 100, 30, lambda: "trust" in columns(live, "fields"))
        await at_width(r, 160, 50, lambda: len(columns(live, "fields")) == 7)
        value = live.query_one("#fields", DataTable).columns
        widths = {str(k.value): c.width for k, c in value.items()}
        assert widths["value"] > 60


async def test_a_resize_under_a_dialog_refits_the_screen_beneath(growatt_map, tmp_path):
    """Help open at 120 columns, the terminal narrowed to 80, Help closed: the live screen's
    footer and table are fitted to 80 (a screen under a dialog is told of the size late)."""
    async with running(growatt_map, tmp_path) as r:
        r.app.show_connected()
        live = await settled(r, LiveScreen)
        await r.until(lambda: "trust" in columns(live, "points"))
        await r.pilot.press("f1")
        await r.until(lambda: type(r.app.screen).__name__ == "HelpScreen")
        await r.pilot.resize_terminal(80, 24)
        await r.pilot.pause()
        assert "Help" in footer_keys(live)          # whole keys even while under the dialog
        await r.pilot.press("escape")
        await r.until(lambda: r.app.screen is live and "trust" not in columns(live, "points"))
        assert "Help" in footer_keys(live)

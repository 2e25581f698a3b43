"""The journal screen (f7) against the simulated inverter on loopback TCP: a write made in the TUI
(origin tui) and one through the gate as the CLI makes it (origin cli) both show, newest first,
with old → new and outcome; typing filters; `a` adds other devices' entries; 80×24 shows every
column it needs."""

from __future__ import annotations

from textual.widgets import DataTable

from solartui.devices import gate
from solartui.devices.gate import WriteRequest
from solartui.devices.writes import VERIFIED
from solartui.journal_view import row
from solartui.tui.screens.confirm import ConfirmScreen
from solartui.tui.screens.edit import EditScreen
from solartui.tui.screens.journal import JournalScreen
from solartui.tui.write_flow import start_point_write

from tui_rig import running, type_keys


NARROW = ("time", "what", "change", "outcome", "origin")     # the columns shown at 80 columns


def table_rows(screen, keys=NARROW) -> list[list[str]]:
    """The rows' cells of `keys` (the serial and where join as the width allows)."""
    table = screen.query_one("#journal", DataTable)
    return [[str(table.get_cell(row, key)) for key in keys] for row in table.rows]


async def test_journal_screen_shows_tui_and_cli_writes_filters_and_all_devices(growatt_map,
                                                                               tmp_path):
    async with running(growatt_map, tmp_path, fast=True) as r:
        # a write through the TUI's own flow: origin tui
        point = r.device.map.point("active_power_rate")
        worker = start_point_write(r.app.screen, point, current_text="100 %")
        await r.screen(EditScreen)
        await r.pilot.press("8", "0", "enter")
        await r.screen(ConfirmScreen)
        await r.pilot.click("#confirm")
        assert (await worker.wait()).status == VERIFIED

        await r.pilot.press("f7")
        journal = await r.screen(JournalScreen)
        assert [row[1] for row in table_rows(journal)] == ["active_power_rate"]
        [row] = table_rows(journal)
        assert row[2] == "100 % → 80 %" and row[3] == VERIFIED and row[4] == "tui"

        # a write through the gate as the CLI makes it: the screen sees the file change
        await gate.run(r.device, WriteRequest.point("active_power_rate", "70"), gate.confirmed,
                       "cli")
        await r.until(lambda: len(table_rows(journal)) == 2)
        newest, older = table_rows(journal)
        assert newest[2] == "80 % → 70 %" and newest[4] == "cli"
        assert older[4] == "tui"
        assert "from cli" in r.text("#journal-detail")     # the highlighted (newest) entry

        # another device's write (through the Growatt server) is hidden until `a`
        r.journal.append({"kind": "shine-write", "datalogger": "LOG0000001",
                          "inverter": "OTHER00001", "space": "holding", "register": 3,
                          "old": "100", "new": "50", "outcome": "acknowledged",
                          "origin": "server"})
        await r.pilot.press("r")
        assert len(table_rows(journal)) == 2
        await r.pilot.press("a")
        assert [row[4] for row in table_rows(journal)] == ["server", "cli", "tui"]
        assert "every device" in r.text("#journal-status")

        # filtering by typing: the door, then a value
        # (waited for: a starved process looks idle to Pilot, which then returns early)
        await r.pilot.press("slash", *"tui")
        await r.until(lambda: [row[4] for row in table_rows(journal)] == ["tui"])
        await r.pilot.press("escape")                      # clears the filter
        await r.until(lambda: len(table_rows(journal)) == 3)
        await r.pilot.press("slash", *"70", "enter")
        await r.until(lambda: [row[2] for row in table_rows(journal)] == ["80 % → 70 %"])
        await r.pilot.press("escape", "escape")            # clear, then back
        assert not isinstance(r.app.screen, JournalScreen)


async def test_journal_screen_at_80x24(growatt_map, tmp_path):
    async with running(growatt_map, tmp_path, fast=True) as r:
        await gate.run(r.device, WriteRequest.point("active_power_rate", "60"), gate.confirmed,
                       "cli")
        await r.pilot.resize_terminal(80, 24)
        await r.pilot.press("f7")
        journal = await r.screen(JournalScreen)
        table = journal.query_one("#journal", DataTable)
        assert [c.label.plain for c in table.columns.values()] == [
            "time", "point", "old → new", "outcome", "from"]
        assert table.virtual_size.width <= 80              # no column cut off to the right
        [row] = table_rows(journal)
        assert row[1:] == ["active_power_rate", "100 % → 60 %", VERIFIED, "cli"]
        await r.pilot.resize_terminal(160, 40)             # room for serial and where
        await r.pilot.pause()
        assert "serial" in [c.label.plain for c in table.columns.values()]
        assert table_rows(journal, ("time", "serial"))[0][1] == "TEST123456"


async def test_filter_typed_fast_keeps_every_key(growatt_map, tmp_path):
    """`/70` arriving in one read from the terminal: the filter gets the 7 too (the focus moves
    before the next key is handled, not after the queued keys)."""
    async with running(growatt_map, tmp_path, fast=True) as r:
        for value in ("80", "70"):
            await gate.run(r.device, WriteRequest.point("active_power_rate", value),
                           gate.confirmed, "cli")
        await r.pilot.press("f7")
        journal = await r.screen(JournalScreen)
        await r.until(lambda: len(table_rows(journal)) == 2)
        await type_keys(r.pilot, "/70")
        print("DBG", repr(journal.query_one("#filter").value), journal.focused, r.app.focused)
        await r.until(lambda: journal.query_one("#filter").value == "70")
        await r.until(lambda: [row[2] for row in table_rows(journal)] == ["80 % → 70 %"])


def test_rows_carry_origin():
    assert row({"point": "x", "origin": "http"}).origin == "http"
    assert row({"point": "x"}).origin == ""


async def test_an_interrupted_write_shows_as_outcome_unknown(growatt_map, tmp_path):
    """An intent whose outcome never came (its process was killed) is a row of its own."""
    from solartui.journal import INTERRUPTED, forget
    async with running(growatt_map, tmp_path, fast=True) as r:
        plan = await r.device.plan_write("active_power_rate", "55")
        forget(r.journal.intend({**plan.intent_entry(), "origin": "cli"}))
        await r.pilot.press("f7")
        journal = await r.screen(JournalScreen)
        [row_] = table_rows(journal)
        assert row_[1:] == ["active_power_rate", "100 % → 55 %", "interrupted", "cli"]
        assert INTERRUPTED in r.text("#journal-detail") and "read it back" in r.text(
            "#journal-detail")
        assert "1 interrupted: outcome unknown" in r.text("#journal-status")

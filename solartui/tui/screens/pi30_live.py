"""The live screen of a PI30 inverter: every field of its live and settings queries, grouped.
It opens on the overview (tui/screens/overview.py); `t` shows the full table described here.

A worker asks the live queries (QPIGS, QMOD, QPIWS...) every pass and the settings queries (QPIRI,
QFLAG...) every few passes and after each write: at 0.5 s between commands the settings would
otherwise double every refresh. Mode and warnings show as words, a set warning in the warning
colour, a fault in the error colour. A field that shows a setting is edited with `e`, through
the same confirm dialog and journal as a register write. The trust column shows the rung each
field has earned for this unit's model and firmware; `m` compares the highlighted value with the
unit's display and stores the attestation. `/` filters the fields by name, group, command or
description, as on the register live screen; the detail line under the table holds the
highlighted field's whole value (a long warning list or model string is cut in its cell).
"""

from __future__ import annotations

import asyncio
import time

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Static

from solartui.devices.pi30_device import setting_for_field
from solartui.registers.cite import cite, strip_ours
from solartui.tui.messages import LinkDown, Polled
from solartui.tui.screens.attest import Attesting, device_evidence, trust_cell
from solartui.tui.screens.filtering import FilteredTable
from solartui.tui.screens.overview import OverviewView
from solartui.tui.screens.polling import PollingScreen, age_text
from solartui.tui.chrome import Footer, Header
from solartui.tui.fit_table import FitColumns, set_cell
from solartui.tui.focus import focus_now

# (name, width, which drops first when narrow (0: never), how much wider it may grow): the value
# takes the room a wide terminal has, so long values show whole
COLUMNS = (("field", 26, 0), ("value", 26, 0, 60), ("unit", 4, 0), ("age", 6, 1),
           ("command", 10, 3), ("group", 9, 4), ("trust", 18, 2))
GROUP_ORDER = ("Status", "PV", "Battery", "AC", "Grid", "Temperature", "Settings", "Other")
SETTINGS_EVERY = 5          # passes between two reads of the settings queries


def _group_key(group: str) -> int:
    return GROUP_ORDER.index(group) if group in GROUP_ORDER else len(GROUP_ORDER)


def _split_unit(text: str, unit: str) -> str:
    return text[: -len(unit) - 1] if unit and text.endswith(" " + unit) else text


def _alarm_style(reading) -> str:
    value = reading.decoded.value
    if reading.point.type != "flags" or not value:
        return "bold"
    return "bold red" if any(a.severity == "fault" for a in value) else "bold yellow"


class Pi30LiveScreen(OverviewView, Attesting, PollingScreen, FilteredTable):
    TABLE_ID = "fields"
    BINDINGS = [
        ("slash", "focus_filter", "Filter"),
        ("e", "edit", "Change setting"),
        ("r", "refresh_settings", "Re-read settings"),
        ("m", "attest", "Mark"),
        Binding("escape", "clear_filter", "Clear filter", show=False),   # the filter says so
    ]

    def __init__(self) -> None:
        super().__init__()
        self._settings_due = True
        self._last: dict[str, object] = {}
        self._errors: dict[str, str] = {}
        self.evidence: dict = {}                 # field name -> Evidence (its rung and why)
        self.shown: list = []                    # the fields the filter lets through, in order

    def compose(self) -> ComposeResult:
        yield Header()
        yield from self.overview_widgets()            # what it opens on; t: the table
        with Vertical(id="table-view"):
            yield Input(placeholder="filter: name, group, command or description (/ to focus, "
                        "escape to clear)", id="filter")
            yield DataTable(id="fields", cursor_type="row", zebra_stripes=True)
            yield Static("", id="detail")
        yield Static("", id="status")
        yield Footer()

    def on_mount(self) -> None:
        # the screen's own device: a reconnect closes the session's before this screen goes
        dev = self.device = self.app.device
        order = {id(f): i for i, f in enumerate(dev.fields())}
        self.fields = sorted(dev.fields(), key=lambda f: (_group_key(f.group), order[id(f)]))
        self.live = [f for f in self.fields if dev.map.command(f.command).role == "live"]
        self.evidence = device_evidence(self, dev)
        table = self.query_one("#fields", DataTable)
        self.fit = FitColumns(COLUMNS)
        self.fit_columns()
        self._fill("")
        focus_now(table)
        self.setup_overview(dev)
        self.poll()
        self._status()

    def _fill(self, needle: str) -> None:
        """(Re)build the rows for a filter: the one time rows are rebuilt."""
        dev = self.device
        table = self.query_one("#fields", DataTable)
        table.clear()
        n = needle.lower().strip()
        self.shown = [f for f in self.fields
                      if not n or any(n in t.lower() for t in (f.name, f.group, f.command, f.doc))]
        now = time.time()
        for f in self.shown:
            editable = setting_for_field(dev.map, f.name) is not None
            table.add_row(*self.fit.row({
                "field": f.name + (" ✎" if editable else ""), "unit": f.unit,
                "command": f"{f.command}[{f.index}]", "group": f.group,
                "trust": trust_cell(self.evidence.get(f.name), f.trust)}), key=f.name)
            last = self._last.get(f.name)
            if last is not None:
                self._show(table, last, now)
        self._detail()

    def _show(self, table: DataTable, r, now: float) -> None:
        value = Text(_split_unit(r.decoded.text, r.point.unit), style=_alarm_style(r),
                     justify="right")
        table.update_cell(r.point.name, "value", value)
        set_cell(table, self.fit, r.point.name, "age", age_text(now - r.time))

    # --- polling -------------------------------------------------------------------------------

    @work(exclusive=True, group="live-poll", exit_on_error=False)
    async def poll(self) -> None:
        dev = self.device
        passes = 0
        while True:
            await self.wait_while_paused()
            started = time.monotonic()
            full = self._settings_due or passes % SETTINGS_EVERY == 0
            self._settings_due = False
            readings = await dev.poll(self.fields if full else self.live)
            passes += 1
            took = time.monotonic() - started
            if readings and not any(r.ok for r in readings):
                self.post_message(LinkDown(readings[0].error or "no answer"))
                self._settings_due = full
                await asyncio.sleep(max(1.0, self.min_refresh))
                continue
            self.post_message(Polled(readings, took))
            await self.overview_clock(dev)
            rest = self.min_refresh - (time.monotonic() - started)
            if rest > 0:
                await asyncio.sleep(rest)

    def on_polled(self, message: Polled) -> None:
        self._down = None
        self._pass_seconds = message.seconds
        table = self.query_one("#fields", DataTable)
        shown = {f.name for f in self.shown}
        now = time.time()
        for r in message.readings:
            name = r.point.name
            if r.ok:
                self._last[name] = r
                self._errors.pop(name, None)
            elif not r.absent:
                self._errors[name] = r.error or "unreadable"
            if name not in shown:
                continue
            if r.ok:
                self._show(table, r, now)
            elif r.absent:
                table.update_cell(name, "value", Text("not reported", style="dim",
                                                      justify="right"))
            else:
                set_cell(table, self.fit, name, "age", Text("failed", style="red"))
        self._status()
        self._detail()
        self.overview_polled(message.readings, message.seconds)

    def refresh_ages(self, now: float) -> None:
        table = self.query_one("#fields", DataTable)
        shown = {f.name for f in self.shown}
        for name, last in self._last.items():
            if name not in self._errors and name in shown:
                set_cell(table, self.fit, name, "age", age_text(now - last.time))

    def on_link_down(self, message: LinkDown) -> None:
        self._down = message.reason
        self._status()
        self.overview_down(message.reason)

    # --- status and detail ---------------------------------------------------------------------

    def _highlighted(self):
        table = self.query_one("#fields", DataTable)
        row = table.cursor_row
        if row is None or not 0 <= row < len(self.shown):
            return None
        return self.shown[row]

    @on(DataTable.RowHighlighted)
    def _detail(self, _event=None) -> None:
        f = self._highlighted()
        if f is None:
            return
        setting = setting_for_field(self.device.map, f.name)
        how = (f"setting {setting.name}: e to change ({setting.doc})" if setting
               else "read-only")
        where = cite(self.device.map.source, f.source, f"{f.command} field {f.index}")
        text = f"[b]{f.name}[/b] — {escape(f.doc)} ({escape(where)}, {f.type}); {escape(how)}"
        last = self._last.get(f.name)
        if last is not None:                # the whole value: a cell cuts a long one
            text += f"\nvalue: {escape(last.decoded.text)}"
        if f.name in self._errors:
            text += f"\n[red]last read failed: {self._errors[f.name]}[/red]"
        if f.name in self.evidence:
            text += f"\n{escape(self.evidence[f.name].why)}"
        if f.note:
            text += f"\n{escape(strip_ours(f.note))}"
        self.query_one("#detail", Static).update(text)

    # --- actions -------------------------------------------------------------------------------

    def action_refresh_settings(self) -> None:
        self._settings_due = True
        self.wake()

    def on_write_finished(self, _message) -> None:
        self.action_refresh_settings()

    def action_edit(self) -> None:
        f = self._highlighted()
        if self.table_first("e") or f is None:
            return
        setting = setting_for_field(self.device.map, f.name)
        if setting is None:
            self.notify(f"{f.name} is read-only", severity="warning")
            return
        from solartui.tui.write_flow import start_setting_write
        last = self._last.get(f.name)
        start_setting_write(self, setting, last.decoded.text if last is not None else None)

    def _show_rungs(self) -> None:
        table = self.query_one("#fields", DataTable)
        for f in self.shown:
            set_cell(table, self.fit, f.name, "trust", trust_cell(self.evidence.get(f.name), f.trust))

"""The live screen: every point of the map, polled through the paced link, updated in place.

It opens on the overview (status, faults, PV, grid, battery, load, today's energy, clock drift,
link health, trends: tui/screens/overview.py); `t` shows the full table described here.

A worker polls and posts Polled messages; the screen turns them into cell updates (only cells that
changed; rows are rebuilt only when the filter changes). A point that did not answer keeps its
last value, greyed, with the reason. Polling pauses while another screen is on top, so the link is
free for the browser, the editor or the clock. The trust column shows the rung each point has
earned for this device's model and firmware (or that its display differed); `m` compares the
highlighted value with the device's display and stores the attestation.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Sparkline, Static

from solartui.registers.cite import cite, strip_ours
from solartui.registers.loader import GROUPS
from solartui.registers.planner import plan_for_map
from solartui.tui.messages import LinkDown, Polled
from solartui.tui.screens.attest import Attesting, device_evidence, trust_cell
from solartui.tui.screens.filtering import FilteredTable
from solartui.tui.screens.overview import OverviewView
from solartui.tui.screens.polling import PollingScreen, age_text
from solartui.tui.chrome import Footer, Header
from solartui.tui.fit_table import FitColumns
from solartui.tui.focus import focus_now

# the columns an installer needs first come first; the last numbers say which drop first when the
# terminal is narrow (0: never) and how much wider a column may grow when there is room
COLUMNS = (("point", 22, 0, 12), ("value", 14, 0, 16), ("unit", 4, 0), ("age", 8, 1),
           ("raw", 11, 5), ("table", 7, 6), ("addr", 5, 2), ("group", 9, 4), ("trust", 18, 3))
HISTORY = 120


def _value_and_unit(reading) -> tuple[str, str]:
    text, unit = reading.decoded.text, reading.point.unit
    if unit and text.endswith(" " + unit):
        return text[: -len(unit) - 1], unit
    return text, unit if text[-1:].isdigit() else ""


class LiveScreen(OverviewView, Attesting, PollingScreen, FilteredTable):
    TABLE_ID = "points"
    BINDINGS = [
        ("slash", "focus_filter", "Filter"),
        ("e", "edit", "Write"),
        ("a", "action", "Actions"),
        ("m", "attest", "Mark"),
        Binding("escape", "clear_filter", "Clear filter", show=False),   # the filter says so
    ]

    def __init__(self, device=None) -> None:
        """`device`: another device than the session's (an inverter behind a datalogger)."""
        super().__init__()
        self._own_device = device
        self._last: dict[str, object] = {}       # point name -> last good Reading
        self._errors: dict[str, str] = {}        # point name -> why its last read failed
        self._cells: dict[tuple[str, str], object] = {}   # what each cell shows now
        self._want: dict[str, dict[str, object]] = {}      # row -> col -> what it should show
        self._history: dict[str, deque] = {}
        self._shown: list = []
        self.evidence: dict = {}                 # point name -> Evidence (its rung and why)

    # --- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        yield from self.overview_widgets()            # what it opens on; t: the table
        with Vertical(id="table-view"):
            yield Input(placeholder="filter: name or group (/ to focus, escape to clear)",
                        id="filter")
            yield DataTable(id="points", cursor_type="row", zebra_stripes=True)
            with Horizontal(id="detail-row"):
                yield Sparkline([], id="history")
                yield Static("", id="detail")
        yield Static("", id="status")
        yield Footer()

    def on_mount(self) -> None:
        # the screen's own device: a reconnect closes the session's before this screen goes
        dev = self.device = self._own_device or self.app.device
        self.points = sorted((p for p in dev.map.points if p.readable),
                             key=lambda p: (GROUPS.index(p.group), p.table != "input", p.address))
        self.reads = len(plan_for_map(dev.map, self.points))
        self.evidence = device_evidence(self, dev)
        table = self.query_one("#points", DataTable)
        self.fit = FitColumns(COLUMNS)
        self.fit_columns()
        self._fill("")
        focus_now(table)
        self.setup_overview(dev)
        self.set_interval(0.25, self._flush)        # rows scrolled into view catch up
        self.poll()
        self._status()

    def _fill(self, needle: str) -> None:
        """(Re)build the rows for a filter: the one time rows are rebuilt."""
        table = self.query_one("#points", DataTable)
        table.clear()
        self._cells.clear()
        self._want.clear()
        n = needle.lower().strip()
        self._shown = [p for p in self.points
                       if not n or n in p.name.lower() or n in p.group.lower() or n in p.doc.lower()]
        for p in self._shown:
            table.add_row(*self.fit.row({
                "point": p.name, "unit": p.unit, "table": p.table, "addr": str(p.address),
                "group": p.group, "trust": trust_cell(self.evidence.get(p.name), p.trust)}),
                key=p.name)
            if p.name in self._last:
                self._show(p, self._last[p.name], None, time.time())
        self.call_after_refresh(self._flush)

    # --- polling -------------------------------------------------------------------------------

    @work(exclusive=True, group="live-poll", exit_on_error=False)
    async def poll(self) -> None:
        dev = self.device
        while True:
            await self.wait_while_paused()
            started = time.monotonic()
            readings = await dev.poll(self.points)
            took = time.monotonic() - started
            if readings and not any(r.ok for r in readings):
                self.post_message(LinkDown(readings[0].error or "no answer"))
                await asyncio.sleep(max(1.0, self.min_refresh))      # retry, gently
                continue
            self.post_message(Polled(readings, took))
            await self.overview_clock(dev)
            rest = self.min_refresh - (time.monotonic() - started)
            if rest > 0:
                await asyncio.sleep(rest)

    def on_polled(self, message: Polled) -> None:
        self._down = None
        self._pass_seconds = message.seconds
        now = time.time()
        shown = {p.name for p in self._shown}
        for r in message.readings:
            name = r.point.name
            if r.ok:
                self._last[name] = r
                if isinstance(r.decoded.value, (int, float)) and not r.point.enum:
                    self._history.setdefault(name, deque(maxlen=HISTORY)).append(float(r.decoded.value))
            if name in shown:
                self._show(r.point, self._last.get(name), None if r.ok else r.error, now)
        self._flush()
        self._status()
        self._detail()
        self.overview_polled(message.readings, message.seconds)

    def on_link_down(self, message: LinkDown) -> None:
        self._down = message.reason
        now = time.time()
        for p in self._shown:
            self._show(p, self._last.get(p.name), message.reason, now)
        self._flush()
        self._status()
        self.overview_down(message.reason)

    def _set(self, row: str, col: str, value) -> None:
        """Record what a cell should show; _flush paints the rows in view (a map of 1,000
        points would otherwise cost thousands of cell updates per refresh)."""
        self._want.setdefault(row, {})[col] = value

    def _flush(self) -> None:
        table = self.query_one("#points", DataTable)
        first = int(table.scroll_y)
        for p in self._shown[first:first + table.size.height + 1]:
            want = self._want.get(p.name)
            if not want:
                continue
            for col, value in want.items():
                if self._cells.get((p.name, col)) != value and self.fit.shows(col):
                    self._cells[(p.name, col)] = value
                    table.update_cell(p.name, col, value)
            want.clear()

    def _show(self, p, last, error: str | None, now: float) -> None:
        if error:
            self._errors[p.name] = error
        else:
            self._errors.pop(p.name, None)
        if last is None:
            if error:
                self._set(p.name, "age", Text("failed", style="red"))
            return
        value, unit = _value_and_unit(last)
        raw = " ".join(f"{w:04X}" for w in last.decoded.words)
        style = "dim" if error else ""
        self._set(p.name, "raw", Text(raw, style="dim"))
        self._set(p.name, "value", Text(value, style=style or "bold", justify="right"))
        self._set(p.name, "unit", unit)
        if error:
            self._set(p.name, "age", Text("failed", style="red"))
        else:
            self._set(p.name, "age", age_text(now - last.time))

    def refresh_ages(self, now: float) -> None:
        for p in self._shown:
            last = self._last.get(p.name)
            if last is not None and p.name not in self._errors:
                self._set(p.name, "age", age_text(now - last.time))
        self._flush()

    # --- status and detail ---------------------------------------------------------------------

    def _limit_text(self) -> str:
        limit = self.reads * self.device.link.min_period
        if limit:
            return (f"limit {limit:.2f} s = {self.reads} reads × "
                    f"{self.device.link.min_period * 1000:.0f} ms")
        return f"{self.reads} reads, unpaced"

    def _highlighted(self):
        table = self.query_one("#points", DataTable)
        if not self._shown or table.cursor_row is None or table.cursor_row >= len(self._shown):
            return None
        return self._shown[table.cursor_row]

    @on(DataTable.RowHighlighted)
    def _detail(self, _event=None) -> None:
        p = self._highlighted()
        if p is None:
            return
        self.query_one("#history", Sparkline).data = list(self._history.get(p.name, ()))
        rng = f" range {p.range[0]}..{p.range[1]}" if p.range else ""
        access = {"r": "read-only", "rw": "writable (e)", "w": "write-only"}[p.access]
        if p.guard:
            access = "guarded: never written"
        labels = p.enum or p.special
        choices = (" choices: " + ", ".join(labels.values())) if labels else ""
        self.query_one("#detail", Static).update(
            f"[b]{p.name}[/b] — {p.doc} "
            f"({escape(cite(self.device.map.source, p.source, f'{p.table} {p.address}'))}), "
            + (f"({p.type} − {p.offset}) × {p.scale:g} {p.unit}" if p.offset
               else f"{p.type} × {p.scale:g} {p.unit}") + f"; {access}{rng}{choices}"
            + (f"\n[red]last read failed: {self._errors[p.name]}[/red]" if p.name in self._errors else "")
            + (f"\n{escape(self.evidence[p.name].why)}" if p.name in self.evidence else "")
            + (f"\n{escape(strip_ours(p.note))}" if p.note else ""))

    # --- actions -------------------------------------------------------------------------------

    def action_edit(self) -> None:
        p = self._highlighted()
        if self.table_first("e") or p is None:
            return
        if p.guard or not p.writable:
            self.notify(f"{p.name} is {'guarded' if p.guard else 'read-only'}", severity="warning")
            return
        try:
            from solartui.tui.write_flow import start_point_write
        except ImportError:
            self.notify("writing is not available in this build", severity="error")
            return
        last = self._last.get(p.name)
        start_point_write(self, p, last.decoded.text if last is not None else None,
                          device=self.device)

    def action_action(self) -> None:
        from solartui.tui.write_flow import start_action
        start_action(self)

    def _show_rungs(self) -> None:
        for p in self._shown:
            self._set(p.name, "trust", trust_cell(self.evidence.get(p.name), p.trust))
        self._flush()

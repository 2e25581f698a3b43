"""The live screen of a listen-only device (an OutBack FLEXmax behind a MATE): the fields of the
status page it broadcasts, updated as each good page arrives.

Why its own screen: such a device is never asked anything — no requests, no pacing, no clock, no
settings — so the register live screen's counters, editor and overview have nothing to show.
What matters instead is whether pages keep coming: the status line says how many good and bad
pages were heard and how old the last one is, and when the device falls silent (the PC's RTS
high, a cable out) it says so and keeps the last values, dimmed, until pages come again. `/`
filters the fields, `p` pauses the updates, and the detail line holds the highlighted field's
whole value and where the map found it. A write or clock key is answered with why there is
nothing to write (the device's own words, as the CLI's).
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

from solartui.errors import SolartuiError
from solartui.layout_width import fit_text
from solartui.registers.cite import cite
from solartui.tui.chrome import Footer, Header
from solartui.tui.fit_table import FitColumns, set_cell
from solartui.tui.focus import focus_now
from solartui.tui.messages import LinkDown, Polled
from solartui.tui.screens.filtering import FilteredTable
from solartui.tui.screens.polling import PollingScreen, age_text

# (name, width, which drops first when narrow (0: never), how much wider it may grow)
COLUMNS = (("field", 24, 0), ("value", 18, 0, 40), ("unit", 5, 0), ("age", 6, 1),
           ("token", 6, 3), ("group", 10, 2))


def _value_text(text: str, unit: str) -> str:
    return text[: -len(unit) - 1] if unit and text.endswith(" " + unit) else text


class BroadcastLiveScreen(PollingScreen, FilteredTable):
    TABLE_ID = "fields"
    BINDINGS = [
        ("slash", "focus_filter", "Filter"),
        Binding("e", "edit", "Change setting", show=False),     # answered: nothing to change
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._last: dict[str, object] = {}        # field name -> its last PageReading
        self._page_at: float | None = None        # when the last good page arrived
        self.shown: list = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="table-view"):
            yield Input(placeholder="filter: name, group or description (/ to focus, escape "
                        "to clear)", id="filter")
            yield DataTable(id="fields", cursor_type="row", zebra_stripes=True)
            yield Static("", id="detail")
        yield Static("", id="status")
        yield Footer()

    def on_mount(self) -> None:
        dev = self.device = self.app.device
        self.fields = list(dev.fields())
        self.fit = FitColumns(COLUMNS)
        self.fit_columns()
        self._fill("")
        focus_now(self.query_one("#fields", DataTable))
        self.poll()
        self._status()

    def _fill(self, needle: str) -> None:
        table = self.query_one("#fields", DataTable)
        table.clear()
        n = needle.lower().strip()
        self.shown = [f for f in self.fields
                      if not n or any(n in t.lower() for t in (f.name, f.group, f.doc))]
        now = time.time()
        for f in self.shown:
            table.add_row(*self.fit.row({"field": f.name, "unit": f.unit,
                                         "token": str(f.index), "group": f.group}), key=f.name)
            last = self._last.get(f.name)
            if last is not None:
                self._show(table, last, now)
        self._detail()

    def _show(self, table: DataTable, r, now: float) -> None:
        style = "dim" if self._down else "bold"
        table.update_cell(r.point.name, "value",
                          Text(_value_text(r.decoded.text, r.point.unit), style=style,
                               justify="right"))
        set_cell(table, self.fit, r.point.name, "age", age_text(now - r.time))

    # --- listening -----------------------------------------------------------------------------

    @work(exclusive=True, group="live-poll", exit_on_error=False)
    async def poll(self) -> None:
        dev = self.device
        while True:
            await self.wait_while_paused()
            started = time.monotonic()
            try:
                readings = await dev.poll(self.fields)
            except SolartuiError as exc:        # silent (no page in time) or the port is gone
                self.post_message(LinkDown(str(exc)))
                await asyncio.sleep(1.0)
                continue
            self.post_message(Polled(readings, time.monotonic() - started))

    def on_polled(self, message: Polled) -> None:
        was_down, self._down = self._down, None
        self._pass_seconds = message.seconds
        for r in message.readings:
            self._last[r.point.name] = r
            self._page_at = r.time
        table = self.query_one("#fields", DataTable)
        now = time.time()
        shown = {f.name for f in self.shown}
        for name, r in self._last.items():
            if name in shown and (was_down or r in message.readings):
                self._show(table, r, now)
        self._status()
        self._detail()

    def on_link_down(self, message: LinkDown) -> None:
        first = self._down is None
        self._down = message.reason
        if first:                       # keep the last values, dimmed: they are not live
            table = self.query_one("#fields", DataTable)
            now = time.time()
            for f in self.shown:
                if f.name in self._last:
                    self._show(table, self._last[f.name], now)
        self._status()

    def refresh_ages(self, now: float) -> None:
        table = self.query_one("#fields", DataTable)
        shown = {f.name for f in self.shown}
        for name, last in self._last.items():
            if name in shown:
                set_cell(table, self.fit, name, "age", age_text(now - last.time))
        self._status()

    # --- status and detail ---------------------------------------------------------------------

    def _status(self) -> None:
        link = self.device.link
        width = max(20, self.app.size.width - 2)
        if self._page_at is None:
            age = "waiting for the first page…"
        else:
            ago = age_text(time.time() - self._page_at)
            age = "last page just now" if ago == "now" else f"last page {ago} ago"
        pieces = [(age, 0), (f"{link.good} good pages", 1), (f"{link.bad} bad", 2),
                  (f"{link.foreign} from other devices", 5), ("listen-only: nothing is sent", 3)]
        if getattr(link, "lines_note", ""):
            pieces.append((link.lines_note, 6))
        line = Text()
        if self.paused:
            line.append(" PAUSED ", style="bold reverse")
            line.append(" ")
            pieces.insert(0, ("p resumes", 0))
        elif self._down:
            line.append(fit_text([(f"no page: {self._down} — still listening", 0)],
                                 width - 20), style="bold red")
            line.append(" · ")
        line.append(fit_text(pieces, width - line.cell_len, shorten=False))
        self.query_one("#status", Static).update(line)

    def _highlighted(self):
        row = self.query_one("#fields", DataTable).cursor_row
        if row is None or not 0 <= row < len(self.shown):
            return None
        return self.shown[row]

    @on(DataTable.RowHighlighted)
    def _detail(self, _event=None) -> None:
        f = self._highlighted()
        if f is None:
            return
        where = cite(self.device.map.source, "", f"page token {f.index}")
        text = f"[b]{f.name}[/b] — {escape(f.doc)} ({escape(where)}, {f.type}); read-only"
        last = self._last.get(f.name)
        if last is not None:
            text += f"\nvalue: {escape(last.decoded.text)}"
        self.query_one("#detail", Static).update(text)

    # --- actions -------------------------------------------------------------------------------

    def action_edit(self) -> None:
        self.notify(self.device.listen_only_reason, severity="warning")

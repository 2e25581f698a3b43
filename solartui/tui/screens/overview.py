"""The overview a live screen opens on, and the `t` key between it and the full point table.

What an installer checks first (status and faults in words, PV, grid, battery, load, today's
energy, clock drift, link health) on one screen, with sparklines of the key powers; the map says
which points (registers/overview.py), the model (devices/overview.py) holds their state.

The full table is a key away rather than below: at 80×24 the overview takes the rows a table
would need (a table squeezed under it shows two or three rows, and its filter and detail lines
would push the overview's own lines off the first screen). `t` toggles; `/`, `e` and `m` act on
the table's rows, so from the overview they bring the table up first.

A live screen mixes in OverviewView and calls: `overview_widgets()` in compose (beside its table
view, a container `#table-view`), `setup_overview(device)` on mount, `overview_polled()` /
`overview_down()` from its Polled / LinkDown handlers, and `await overview_clock(device)` in its
poll loop after a good pass (the clock is read once, then every CLOCK_EVERY seconds).
"""

from __future__ import annotations

import time

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Label, Sparkline, Static

from solartui.devices.overview import FAULT, MISSING, OK, STALE, WARNING, model_for
from solartui.tui.focus import focus_now

#: seconds between two reads of the device clock for the drift line (one transaction each)
CLOCK_EVERY = 60.0
STYLE = {OK: "bold", STALE: "dim", MISSING: "dim italic", WARNING: "bold yellow",
         FAULT: "bold red"}
TITLE_STYLE = {OK: "bold", STALE: "bold", MISSING: "bold", WARNING: "bold yellow",
               FAULT: "bold red"}


class ClockRead(Message):
    """The device clock, read for the overview's drift line."""

    def __init__(self, reading) -> None:
        super().__init__()
        self.reading = reading


def render_lines(lines) -> Table:
    """The overview's lines as a two-column grid: section title, then its parts in words."""
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(width=7, no_wrap=True)
    grid.add_column(ratio=1, overflow="fold")
    for line in lines:
        text = Text()
        for i, part in enumerate(line.parts):
            if i:
                text.append(" · ", style="dim")
            if part.label:
                text.append(part.label + " ", style="dim" if part.state != FAULT else "red")
            text.append(part.value, style=STYLE[part.state])
        grid.add_row(Text(line.title, style=TITLE_STYLE[line.state]), text)
    return grid


class OverviewPanel(Vertical):
    """The overview's lines and one sparkline row per key power."""

    def compose(self) -> ComposeResult:
        yield Static("", id="ov-lines")
        yield Vertical(id="ov-trends")

    def build(self, model) -> None:
        """Make a row per trend (once: the trends are the map's)."""
        rows = self.query_one("#ov-trends", Vertical)
        for i, t in enumerate(model.trends()):
            rows.mount(Horizontal(Label(t.label, classes="ov-trend-label"),
                                  Sparkline([], id=f"ov-spark-{i}", classes="ov-spark"),
                                  Label("", id=f"ov-last-{i}", classes="ov-trend-last"),
                                  classes="ov-trend"))
        self.show(model)

    _shape: tuple = ()

    def show(self, model) -> None:
        lines = model.lines()
        # a layout only when a line's length changed (it may wrap anew): most passes change
        # digits, not lengths, and a layout of the screen each pass is most of the repaint
        shape = tuple(len(line.text) for line in lines)
        self.query_one("#ov-lines", Static).update(render_lines(lines), layout=shape != self._shape)
        self._shape = shape
        for i, t in enumerate(model.trends()):
            try:
                spark = self.query_one(f"#ov-spark-{i}", Sparkline)
                last = self.query_one(f"#ov-last-{i}", Label)
            except Exception:  # noqa: BLE001 - not mounted yet: the next pass paints it
                return
            # one value has no trend (Textual would draw it as a full bar, even a 0)
            data = list(t.values) if len(t.values) > 1 else []
            if list(spark.data or ()) != data:
                spark.data = data
            last.update(t.last)


class OverviewView(Screen):
    """The overview half of a live screen: the panel, the `t` key, the model's feeding."""

    BINDINGS = [              # one key, two faces: the footer says where t goes
        Binding("t", "show_table", "Table"),
        Binding("t", "show_overview", "Overview"),
    ]

    showing_overview = True
    overview = None                     # the OverviewModel, once mounted
    _clock_due = 0.0

    def overview_widgets(self) -> ComposeResult:
        yield OverviewPanel(id="overview")

    def setup_overview(self, device) -> None:
        self.overview = model_for(device)
        self._clock_due = 0.0
        self.query_one("#overview", OverviewPanel).build(self.overview)
        self._apply_view()

    # --- feeding -------------------------------------------------------------------------------

    def overview_polled(self, readings, seconds: float | None) -> None:
        if self.overview is None:
            return
        self.overview.update(readings)
        self.overview.set_link(self.device.link.stats, seconds)
        self._paint_overview()

    def overview_down(self, reason: str) -> None:
        if self.overview is None:
            return
        self.overview.link_down(reason)
        self._paint_overview()

    async def overview_clock(self, device) -> None:
        """In the poll loop, after a good pass: read the clock when it is due."""
        if self.overview is None or not self.overview.has_clock \
                or time.monotonic() < self._clock_due:
            return
        self._clock_due = time.monotonic() + CLOCK_EVERY
        self.post_message(ClockRead(await device.read_clock()))

    def on_clock_read(self, message: ClockRead) -> None:
        if self.overview is not None:
            self.overview.clock_read(message.reading)
            self._paint_overview()

    def on_write_finished(self, _message) -> None:
        """A clock set or a write may have moved the clock: read it on the next pass."""
        self._clock_due = 0.0

    def on_screen_resume(self) -> None:
        """Back from another screen (the clock screen may have set it): read it again."""
        self._clock_due = 0.0

    def _paint_overview(self) -> None:
        if self.showing_overview:
            self.query_one("#overview", OverviewPanel).show(self.overview)

    # --- the view ------------------------------------------------------------------------------

    def _apply_view(self) -> None:
        self.query_one("#overview").display = self.showing_overview
        self.query_one("#table-view").display = not self.showing_overview
        if self.showing_overview:
            if self.overview is not None:
                self.query_one("#overview", OverviewPanel).show(self.overview)
        else:
            focus_now(self._table())
        self.refresh_bindings()

    def action_show_table(self) -> None:
        self.showing_overview = False
        self._apply_view()

    def action_show_overview(self) -> None:
        self.showing_overview = True
        self._apply_view()

    def table_first(self, key: str) -> bool:
        """From the overview, `key` needs a row of the table: bring the table up, say so."""
        if not self.showing_overview:
            return False
        self.action_show_table()
        self.notify(f"the full table: choose the point, then {key}", timeout=4)
        return True

    def action_attest(self) -> None:
        if not self.table_first("m"):
            super().action_attest()

    def action_focus_filter(self) -> None:
        if self.showing_overview:
            self.action_show_table()
        super().action_focus_filter()

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "show_table":
            return self.showing_overview
        if action == "show_overview":
            return not self.showing_overview
        return super().check_action(action, parameters)

"""TrafficScreen: every frame on the link (TX/RX, time stamp, hex) and every write outcome, live.

Opened from any screen with ctrl+t (ctrl+t or escape closes it). It shows what the session's
TrafficLog already holds, then follows it. The log calls its listeners on the asyncio loop, but
from whichever task moved the frame (pymodbus's, whose context lacks Textual's context variables
when the session was connected before the app started), so the listener only queues the entry; an
interval timer started on mount, in the screen's own context, writes the queued lines to the
widget in one go: a flood of frames from an unpaced link costs one widget update per tick, not one
per frame. The view keeps the last MAX_LINES lines; the log keeps its own bound, and `s` saves all
of it to state_dir()/traffic-YYYYmmdd-HHMMSS.log.
"""

from __future__ import annotations

import time
from collections import deque

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import RichLog, Static

from solartui.errors import SolartuiError
from solartui.links.stats import Frame
from solartui.paths import state_dir
from solartui.tui.chrome import Footer, Header

MAX_LINES = 2000
FLUSH_SECONDS = 0.05

_BAD_OUTCOMES = ("mismatched", "rejected", "no answer", "failed", "error")


def _stamp(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t % 1 * 1000):03d}"


def render_entry(entry) -> Text:
    """One log entry as one coloured line: TX cyan, RX green, notes highlighted by outcome."""
    if isinstance(entry, Frame):
        tx = entry.direction == "tx"
        colour = "cyan" if tx else "green"
        return Text.assemble((_stamp(entry.time), "dim"), " ",
                             (entry.direction.upper(), f"bold {colour}"), " ",
                             (entry.data.hex(" "), colour))
    text = getattr(entry, "text", str(entry))
    t = getattr(entry, "time", None)
    lowered = text.lower()
    if any(f": {word}" in lowered for word in _BAD_OUTCOMES):
        style = "bold white on dark_red"
    elif ": verified" in lowered:
        style = "bold black on green"
    else:
        style = "bold yellow"
    stamp = _stamp(t) if isinstance(t, float) else "--:--:--.---"
    return Text.assemble((stamp, "dim"), " ", ("--", "bold yellow"), " ", (text, style))


class TrafficScreen(Screen):
    """The traffic log, live."""

    BINDINGS = [
        Binding("s", "save", "Save"),
        Binding("c", "clear_view", "Clear"),
        Binding("p", "toggle_scroll", "Pause scroll"),
        Binding("escape", "app.pop_screen", "Back"),
        Binding("ctrl+t", "app.pop_screen", "Back", show=False),    # ctrl+t toggles the pane
    ]

    def __init__(self) -> None:
        super().__init__()
        self._pending: deque = deque(maxlen=MAX_LINES)
        self._shown = 0
        self._subscribed = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield RichLog(id="traffic-log", max_lines=MAX_LINES, wrap=False, markup=False,
                      highlight=False, auto_scroll=True)
        yield Static("", id="traffic-status")
        yield Footer()

    @property
    def traffic(self):
        return getattr(getattr(self.app, "session", None), "traffic", None)

    @property
    def log_view(self) -> RichLog:
        return self.query_one("#traffic-log", RichLog)

    def on_mount(self) -> None:
        traffic = self.traffic
        if traffic is not None:
            existing = list(traffic.entries)[-MAX_LINES:]
            self._pending.extend(existing)
            traffic.subscribe(self._on_entry)
            self._subscribed = traffic
        self._flush()
        self._update_status()
        self.set_interval(FLUSH_SECONDS, self._flush)

    def on_unmount(self) -> None:
        if self._subscribed is not None:
            self._subscribed.unsubscribe(self._on_entry)
            self._subscribed = None

    # --- the listener (called on the loop for every frame: keep it cheap) ----------------------

    def _on_entry(self, entry) -> None:
        self._pending.append(entry)

    def _flush(self) -> None:
        if not self._pending:
            return
        view = self.log_view
        batch = list(self._pending)
        self._pending.clear()
        for entry in batch:
            view.write(render_entry(entry))
        self._shown = min(self._shown + len(batch), MAX_LINES)
        self._update_status()

    def _update_status(self) -> None:
        traffic = self.traffic
        total = len(traffic.entries) if traffic is not None else 0
        scroll = "following" if self.log_view.auto_scroll else "scroll paused (p resumes)"
        self.query_one("#traffic-status", Static).update(
            f"{self._shown} shown (view keeps {MAX_LINES}) · {total} in the log · {scroll}")

    # --- actions -------------------------------------------------------------------------------

    def action_save(self) -> None:
        traffic = self.traffic
        if traffic is None:
            self.notify("no traffic log in this session", severity="warning")
            return
        stem = f"traffic-{time.strftime('%Y%m%d-%H%M%S')}"
        path = state_dir() / f"{stem}.log"
        n = 1
        while path.exists():                # two saves within one second: keep both
            n += 1
            path = state_dir() / f"{stem}-{n}.log"
        try:
            saved = traffic.save(path)
        except SolartuiError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        self.notify(f"saved {len(traffic.entries)} entries to {saved}", title="traffic log")

    def action_clear_view(self) -> None:
        self._pending.clear()
        self.log_view.clear()
        self._shown = 0
        self._update_status()

    def action_toggle_scroll(self) -> None:
        view = self.log_view
        view.auto_scroll = not view.auto_scroll
        if view.auto_scroll:
            view.scroll_end(animate=False)
        self._update_status()

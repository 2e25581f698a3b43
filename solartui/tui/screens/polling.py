"""PollingScreen: what every screen that polls a device in a loop shares.

Polling pauses with `p` (the footer then offers Resume, the status line starts with PAUSED and the
ages keep counting, so a paused screen never looks live), and pauses by itself while another screen is on top (so the link is free
for the editor, the browser or the clock) — except under the traffic pane, which is there to
watch this very polling. The poll loop calls `await self.wait_while_paused()` before each pass;
`_status()` draws the #status line from the link's counters (set `self.device` on mount).
"""

from __future__ import annotations

import asyncio
import time

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from solartui.layout_width import fit_text


def age_text(seconds: float) -> str:
    """How old a reading is, for the age column."""
    if seconds < 1:
        return "now"
    if seconds < 100:
        return f"{seconds:.0f} s"
    if seconds < 6000:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.0f} h"


class PollingScreen(Screen):
    BINDINGS = [              # one key, two faces: the footer says what p does now
        Binding("p", "pause", "Pause"),
        Binding("p", "resume", "Resume"),
    ]
    #: seconds between the starts of two passes; a paced link that needs longer sets the pace
    min_refresh: float = 1.0

    def __init__(self) -> None:
        super().__init__()
        self.paused = False
        self.suspended = False
        self._wake = asyncio.Event()
        self._pass_seconds: float | None = None      # how long the last pass took
        self._down: str | None = None                # why the last whole pass failed

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick_ages)

    def on_resize(self, _event: events.Resize) -> None:
        if getattr(self, "device", None) is not None:
            self.call_after_refresh(self._status)

    def _tick_ages(self) -> None:
        """Ages count on between passes, and while paused (subclasses redraw their cells)."""
        self.refresh_ages(time.time())

    def refresh_ages(self, now: float) -> None:
        """Redraw the age of every shown reading (wall-clock `now`)."""

    async def wait_while_paused(self) -> None:
        while self.paused or self.suspended:
            self._wake.clear()
            await self._wake.wait()

    def wake(self) -> None:
        self._wake.set()

    def _period_text(self) -> str:
        return ("first pass…" if self._pass_seconds is None
                else f"refresh {self._pass_seconds:.2f} s")

    def _limit_text(self) -> str:
        """What bounds the refresh period (a paced link's reads × period), or ""."""
        return ""

    def _status(self) -> None:
        """The #status line: refresh period, the link's counters, polling state — fitted to the
        width, the least needed parts dropped first (PAUSED and a device not answering stay)."""
        st = self.device.link.stats
        lat = f"{st.last_latency * 1000:.0f} ms" if st.last_latency is not None else "–"
        width = max(20, self.app.size.width - 2)     # the line's padding; a screen under a
        # dialog keeps its old size until it is shown again
        pieces = [(self._period_text(), 0), (self._limit_text(), 4), (f"{st.requests} req", 3),
                  (f"{st.timeouts} timeouts", 1), (f"{st.errors} errors", 2), (f"last {lat}", 5)]
        line = Text()
        if self.paused:             # first, so that it shows at 80 columns whatever follows
            line.append(" PAUSED ", style="bold reverse")
            line.append(" ")
            pieces.insert(0, ("p resumes", 0))
        elif self._down:
            down = f"device not answering: {self._down} — retrying"
            line.append(fit_text([(down, 0)], width - 20), style="bold red")
            line.append(" · ")
        else:
            pieces.append(("polling", 6))
        line.append(fit_text(pieces, width - line.cell_len, shorten=False))
        self.query_one("#status", Static).update(line)

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "pause":
            return not self.paused
        if action == "resume":
            return self.paused
        return True

    def action_pause(self) -> None:
        if not self.paused:
            self.action_toggle_pause()

    def action_resume(self) -> None:
        if self.paused:
            self.action_toggle_pause()

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        self._wake.set()
        self._status()
        self.refresh_bindings()

    def on_screen_suspend(self) -> None:
        self.call_after_refresh(self._suspend_unless_traffic)

    def _suspend_unless_traffic(self) -> None:
        from solartui.tui.screens.traffic import TrafficScreen
        if self.app.screen is not self:
            self.suspended = not isinstance(self.app.screen, TrafficScreen)

    def on_screen_resume(self) -> None:
        self.suspended = False
        self._wake.set()

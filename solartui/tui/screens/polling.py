"""PollingScreen: what every screen that polls a device in a loop shares.

Polling pauses with `p`, and pauses by itself while another screen is on top (so the link is free
for the editor, the browser or the clock) — except under the traffic pane, which is there to
watch this very polling. The poll loop calls `await self.wait_while_paused()` before each pass;
`_status()` draws the #status line from the link's counters (set `self.device` on mount).
"""

from __future__ import annotations

import asyncio

from textual.screen import Screen
from textual.widgets import Static


class PollingScreen(Screen):
    #: seconds between the starts of two passes; a paced link that needs longer sets the pace
    min_refresh: float = 1.0

    def __init__(self) -> None:
        super().__init__()
        self.paused = False
        self.suspended = False
        self._wake = asyncio.Event()
        self._pass_seconds: float | None = None      # how long the last pass took
        self._down: str | None = None                # why the last whole pass failed

    async def wait_while_paused(self) -> None:
        while self.paused or self.suspended:
            self._wake.clear()
            await self._wake.wait()

    def wake(self) -> None:
        self._wake.set()

    def _period_text(self) -> str:
        return ("first pass…" if self._pass_seconds is None
                else f"refresh {self._pass_seconds:.2f} s")

    def _status(self) -> None:
        """The #status line: refresh period, the link's counters, polling state."""
        st = self.device.link.stats
        lat = f"{st.last_latency * 1000:.0f} ms" if st.last_latency is not None else "–"
        state = ("paused" if self.paused else
                 f"[b red]device not answering: {self._down} — retrying[/]" if self._down else
                 "polling")
        self.query_one("#status", Static).update(
            f"{self._period_text()} · {st.requests} req · {st.timeouts} timeouts · "
            f"{st.errors} errors · last {lat} · {state}")

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        self._wake.set()
        self._status()

    def on_screen_suspend(self) -> None:
        self.call_after_refresh(self._suspend_unless_traffic)

    def _suspend_unless_traffic(self) -> None:
        from solartui.tui.screens.traffic import TrafficScreen
        if self.app.screen is not self:
            self.suspended = not isinstance(self.app.screen, TrafficScreen)

    def on_screen_resume(self) -> None:
        self.suspended = False
        self._wake.set()

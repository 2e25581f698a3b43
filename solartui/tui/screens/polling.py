"""PollingScreen: what every screen that polls a device in a loop shares.

Polling pauses with `p`, and pauses by itself while another screen is on top (so the link is free
for the editor, the browser or the clock) — except under the traffic pane, which is there to
watch this very polling. The poll loop calls `await self.wait_while_paused()` before each pass.
"""

from __future__ import annotations

import asyncio

from textual.screen import Screen


class PollingScreen(Screen):
    #: seconds between the starts of two passes; a paced link that needs longer sets the pace
    min_refresh: float = 1.0

    def __init__(self) -> None:
        super().__init__()
        self.paused = False
        self.suspended = False
        self._wake = asyncio.Event()

    async def wait_while_paused(self) -> None:
        while self.paused or self.suspended:
            self._wake.clear()
            await self._wake.wait()

    def wake(self) -> None:
        self._wake.set()

    def _status(self) -> None:  # pragma: no cover - each screen draws its own
        pass

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

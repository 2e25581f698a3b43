"""ClockScreen: device time, host time and drift, refreshed; sync to host time with confirmation.

One worker reads the clock, waits, reads again: never more than one read on the (paced) link at a
time. A silent device shows the reason, keeps the last good reading (marked stale) and keeps
retrying. A sync goes through the shared write flow (confirm, write, read-back, journal); the
outcome and the drift read right after it are shown here.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Static
from textual.worker import Worker, WorkerState

from solartui.registers.command_model import ClockCommand
from solartui.tui.write_flow import WriteFinished, start_clock_sync
from solartui.tui.chrome import Footer, Header

YEAR_ENCODING = {
    "full": "full year (2026)",
    "offset2000": "years since 2000 (26)",
    "auto": "reads 2026 or 26, writes 26",
}


class ClockRead(Message):
    """One clock read finished (device time, or the reason there is none)."""

    def __init__(self, reading) -> None:
        super().__init__()
        self.reading = reading


def drift_text(drift: float | None) -> str:
    if drift is None:
        return "—"
    sign = "+" if drift >= 0 else "−"
    a = abs(drift)
    if a < 60:
        return f"{sign}{a:.1f} s"
    h, rem = divmod(int(round(a)), 3600)
    m, s = divmod(rem, 60)
    hms = f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
    return f"{sign}{a:.0f} s ({sign}{hms})"


class ClockScreen(Screen):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("s", "sync", "Sync to host time"),
    ]

    def __init__(self, interval: float = 2.0) -> None:
        super().__init__()
        self.interval = interval
        self.last_good = None       # the last ClockReading with a device time
        self.last_error: str | None = None
        self.reads = 0
        self._wake = asyncio.Event()
        self._after_sync = False
        self.outcome_text = ""
        self._sync_worker: Worker | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="clock-body"):
            for key, label in (("device-time", "device time"), ("host-time", "host time"),
                               ("drift", "drift"), ("year", "year encoding"),
                               ("source", "registers")):
                with Horizontal(classes="row"):
                    yield Static(label, classes="label")
                    yield Static("…", id=key, classes="value", markup=False)
            yield Static("reading the device clock…", id="status", markup=False)
            yield Button("Sync to host time", variant="warning", id="sync")
            yield Static("", id="outcome", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        device = self.app.session.device
        spec = device.map.clock if device is not None else None
        if spec is None:
            self.query_one("#year", Static).update("—")
            self.query_one("#status", Static).update(
                "not connected" if device is None else f"map {device.map.id} describes no clock")
            self.query_one("#sync", Button).disabled = True
            return
        if isinstance(spec, ClockCommand):       # a command device (PI30)
            self.query_one("#year", Static).update(f"as {spec.command} shows it ({spec.format})")
            self.query_one("#source", Static).update(
                f"read by {spec.command}; set by {' or '.join(p.split('%')[0] for p in spec.setters)}"
                f" ({', '.join(spec.setters)}), each verified by {spec.command}")
        else:
            self.query_one("#year", Static).update(YEAR_ENCODING.get(spec.year, spec.year)
                                                   + f" (map: {spec.year})")
            self.query_one("#source", Static).update(
                f"{spec.table} {spec.address}..{spec.address + len(spec.fields) - 1}: "
                + ", ".join(spec.fields) + f" · FC{spec.function:02d}")
        self.set_interval(0.5, self._tick)
        self.run_worker(self._poll(device), name="clock", group="clock", exclusive=True,
                        exit_on_error=False)

    # --- the read loop: one read at a time -----------------------------------------------------

    async def _poll(self, device) -> None:
        while True:
            reading = await device.read_clock()
            self.post_message(ClockRead(reading))
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval)
            except asyncio.TimeoutError:
                pass

    def refresh_now(self) -> None:
        """Read again without waiting out the interval (after a sync)."""
        self._wake.set()

    def on_clock_read(self, message: ClockRead) -> None:
        r = message.reading
        self.reads += 1
        status = self.query_one("#status", Static)
        if r.device is not None:
            self.last_good, self.last_error = r, None
            words = " ".join(str(w) for w in r.words)
            status.update(f"read {r.host:%H:%M:%S}" + (f" · words {words}" if words else ""))
            status.remove_class("error")
            if self._after_sync:
                self._after_sync = False
                self.outcome_text += f" · drift after: {drift_text(r.drift)}"
                self.query_one("#outcome", Static).update(self.outcome_text)
        else:
            self.last_error = r.error or "no answer"
            kept = (f"; showing the reading of {self.last_good.host:%H:%M:%S}"
                    if self.last_good else "")
            status.update(f"no clock reading: {self.last_error}{kept} — retrying")
            status.add_class("error")
        self._tick()

    def _tick(self) -> None:
        """Redraw the times: the device clock advances with the host between reads."""
        now = datetime.now()
        self.query_one("#host-time", Static).update(f"{now:%Y-%m-%d %H:%M:%S}")
        dev = self.query_one("#device-time", Static)
        drift = self.query_one("#drift", Static)
        good = self.last_good
        if good is None:
            dev.update("— (no reading yet)" if self.last_error else "…")
            drift.update("—")
            return
        stale = self.last_error is not None
        shown = good.device if stale else good.device + (now - good.host)
        dev.update(f"{shown:%Y-%m-%d %H:%M:%S}" + ("  (last good reading)" if stale else ""))
        drift.update(drift_text(good.drift) + ("  (last good reading)" if stale else ""))
        dev.set_class(stale, "stale")
        drift.set_class(stale, "stale")

    # --- sync ----------------------------------------------------------------------------------

    def action_sync(self) -> None:
        if self.query_one("#sync", Button).disabled:
            return
        worker = start_clock_sync(self)
        if worker is not None:
            self._sync_worker = worker
            self._set_outcome("sync: waiting for confirmation…", bad=False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "sync":
            event.stop()
            self.action_sync()

    def on_write_finished(self, message: WriteFinished) -> None:
        o = message.outcome
        self._set_outcome(f"sync {time.strftime('%H:%M:%S')}: {o.status} — {o.detail}",
                          bad=not o.ok)
        self._after_sync = True
        self.refresh_now()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # not stopped: the app's central handler still sees failures
        if event.worker is self._sync_worker and event.state in (
                WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self._sync_worker = None
            if event.state == WorkerState.SUCCESS and event.worker.result is None:
                self._set_outcome("sync cancelled, nothing written", bad=False)
            elif event.state == WorkerState.ERROR:
                self._set_outcome(f"sync failed: {event.worker.error}", bad=True)

    def _set_outcome(self, text: str, bad: bool) -> None:
        self.outcome_text = text
        out = self.query_one("#outcome", Static)
        out.update(text)
        out.set_class(bad, "bad")

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

"""While f6 reads every mapped value for the report: how far it is, and Escape to stop.

A paced link takes seconds (Growatt: 5 reads × 850 ms, then the clock); a toast that says
"reading…" and then nothing looked hung. The worker calls `step()` before each read; the dialog
shows the read k of n with a bar. Being a screen on top, it also pauses the live screen's
polling, so the report's reads do not queue behind it. Escape cancels the report's worker.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static

from solartui.tui.screens.dialog import Dialog


class ReportProgressScreen(Dialog[None]):
    BINDINGS = [Binding("escape", "stop", "Stop")]

    def __init__(self, serial: str = "") -> None:
        super().__init__()
        self.serial = serial
        self.steps: list[str] = []          # what each step said, for tests and the log

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(f"Commissioning report{' of ' + self.serial if self.serial else ''}",
                         id="title", markup=False)
            yield Static("connecting the pieces…", id="step", markup=False)
            yield ProgressBar(total=None, show_eta=False, id="bar")
            yield Static("Esc stops (nothing is written)", classes="muted", markup=False)

    def step(self, done: int, total: int, what: str) -> None:
        text = f"{done}/{total}: {what}"
        self.steps.append(text)
        if not self.is_mounted:
            return
        self.query_one("#step", Static).update(text)
        self.query_one("#bar", ProgressBar).update(total=total, progress=done - 1)

    def finish(self) -> None:
        self.dismiss(None)

    def action_stop(self) -> None:
        self.app.workers.cancel_group(self.app, "report")
        self.app.notify("report stopped: nothing written", severity="warning", timeout=5)
        self.dismiss(None)

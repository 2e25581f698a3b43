"""ChecksScreen: the commissioning checks of the connected device, one row each, as they finish.

Opened with f8 (f8 or escape closes it). The checks themselves are solartui/checks (the same code
`solartui check` runs); this screen only starts them in a worker and shows the verdicts it posts:
check, verdict (green pass, red fail, yellow cannot tell) and reason; the row under the cursor
shows the readings it used below the table. `r` runs them again; f4 opens the Clock screen, where
a clock that failed is synced through the shared write flow (confirmation, read-back, journal).
"""

from __future__ import annotations

import json

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from solartui.checks.context import CheckOptions
from solartui.checks.verdict import FAIL, PASS, Verdict, exit_code
from solartui.errors import SolartuiError

STYLE = {PASS: "green", FAIL: "bold red"}


class VerdictReady(Message):
    def __init__(self, verdict: Verdict) -> None:
        super().__init__()
        self.verdict = verdict


class ChecksProgress(Message):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class ChecksScreen(Screen):
    """Run the map's commissioning checks and show each verdict with its evidence."""

    DEFAULT_CSS = """
    ChecksScreen #checks { height: 1fr; }
    ChecksScreen #checks-status { height: 1; }
    ChecksScreen #checks-detail { height: auto; max-height: 8; }
    """

    BINDINGS = [
        ("r", "rerun", "Run again"),
        Binding("escape", "back", "Back"),
        Binding("f8", "app.pop_screen", "Back", show=False),      # f8 toggles the screen
    ]

    def __init__(self, window_s: float = 10.0, samples: int = 5) -> None:
        super().__init__()
        self.options = CheckOptions(window_s=window_s, samples=samples)
        self.verdicts: list[Verdict] = []
        self.running = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="checks-status")
        yield DataTable(id="checks", cursor_type="row", zebra_stripes=True)
        yield Static("", id="checks-detail")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#checks", DataTable)
        table.add_column("check", width=22)
        table.add_column("verdict", width=11)
        table.add_column("reason")
        self.action_rerun()

    def action_rerun(self) -> None:
        if self.running:
            self.notify("the checks are running", severity="warning")
            return
        device = self.app.device
        if device is None:
            self.query_one("#checks-status", Static).update("not connected: open a target "
                                                            "first (ctrl+o)")
            return
        self.verdicts = []
        self.query_one("#checks", DataTable).clear()
        self.query_one("#checks-detail", Static).update("")
        self.running = True
        self._run(device)

    @work(exclusive=True, group="checks", exit_on_error=False)
    async def _run(self, device) -> None:
        from solartui.checks.engine import applicable, run_checks
        try:
            if not applicable(device.map):
                self.post_message(ChecksProgress(f"map {device.map.id} declares no "
                                                 "commissioning checks"))
                return
            await run_checks(device, self.options,
                             on_verdict=lambda v: self.post_message(VerdictReady(v)),
                             on_progress=lambda t: self.post_message(ChecksProgress(t)))
            self.post_message(ChecksProgress("done"))
        except SolartuiError as exc:
            self.post_message(ChecksProgress(f"stopped: {exc}"))
        finally:
            self.running = False

    def on_checks_progress(self, message: ChecksProgress) -> None:
        text = message.text
        if text == "done":
            passed = sum(1 for v in self.verdicts if v.status == PASS)
            code = exit_code(self.verdicts)
            text = (f"{passed} of {len(self.verdicts)} pass"
                    + ("" if code == 0 else " — not ready to sign off") + "  (r: run again)")
        self.query_one("#checks-status", Static).update(text)

    def on_verdict_ready(self, message: VerdictReady) -> None:
        v = message.verdict
        self.verdicts.append(v)
        table = self.query_one("#checks", DataTable)
        table.add_row(v.title, Text(v.status, style=STYLE.get(v.status, "yellow")), v.reason,
                      key=v.check)
        if len(self.verdicts) == 1:
            self._show_detail(0)

    @on(DataTable.RowHighlighted, "#checks")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(event.cursor_row)

    def _show_detail(self, index: int) -> None:
        if not 0 <= index < len(self.verdicts):
            return
        v = self.verdicts[index]
        used = json.dumps(v.readings, ensure_ascii=False, default=str)
        self.query_one("#checks-detail", Static).update(
            Text(f"{v.title}: {v.reason}\nreadings: {used}"
                 + (f"\n{len(v.samples)} samples" if v.samples else "")))

    def action_back(self) -> None:
        self.app.pop_screen()

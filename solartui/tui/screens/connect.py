"""The connect screen: a target URL (with an optional map), a recent target, or a simulator.

Recent targets come from the settings file; a bad URL is refused inline, before any I/O. While a
target is being identified the screen says so and ignores another Connect (Enter pressed twice
would otherwise start over); the device connected before stays connected meanwhile, and stays if
the new target fails (one notification; the reason is shown here too).
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Input, Label, OptionList, Select, Static

from solartui.errors import TargetError, said_in_tui
from solartui.links.target import parse_target
from solartui.registers import catalog
from solartui.tui.chrome import Footer, Header
from solartui.tui.focus import focus_now

IDENTIFY = "(identify)"


class ConnectScreen(Screen):
    BINDINGS = [("escape", "back", "Back")]

    def compose(self) -> ComposeResult:
        maps = [(f"{m.id} ({m.vendor})", m.id) for m in catalog.all_maps()]
        yield Header()
        with Vertical(id="form"):
            yield Label("Target: tcp://HOST:PORT?unit=1  or  rtu:///dev/ttyUSB0?baud=9600&unit=1")
            with Horizontal():
                yield Input(placeholder="target URL", id="url")
                yield Select(maps, prompt=IDENTIFY, id="map", allow_blank=True)
            yield Static("", id="error")
            with Horizontal():
                yield Button("Connect", id="connect", variant="primary")
                yield Button("Demo simulators", id="demo")
        # the demo's simulators (both of them) first, then what the settings file remembers
        demo = list(getattr(self.app, "demo_targets", []))
        yield OptionList(*demo, *(t for t in self.app.settings.recent if t not in demo), id="recent")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#recent", OptionList).border_title = (
            "demo simulators and recent targets" if getattr(self.app, "demo_targets", None)
            else "recent targets")
        focus_now(self.query_one("#url", Input))

    @on(Input.Changed, "#url")
    def _check(self, event: Input.Changed) -> None:
        self.query_one("#error", Static).update(self._problem(event.value) or "")

    @staticmethod
    def _problem(url: str) -> str | None:
        if not url.strip():
            return None
        try:
            parse_target(url)
        except TargetError as exc:
            return str(exc)
        return None

    @on(Input.Submitted, "#url")
    @on(Button.Pressed, "#connect")
    def _connect(self, _event=None) -> None:
        url = self.query_one("#url", Input).value.strip()
        problem = self._problem(url) if url else "enter a target URL"
        if problem:
            self.query_one("#error", Static).update(problem)
            return
        if self.connecting():
            return
        choice = self.query_one("#map", Select).value
        map_name = choice if isinstance(choice, str) else None
        self.query_one("#error", Static).update(f"connecting to {url}…")
        self.app.connect(url, map_name)

    def connecting(self) -> bool:
        return any(w.group == "connect" and w.is_running for w in self.app.workers)

    def failed(self, target: str, exc: Exception) -> None:
        """The app's word that `target` could not be opened (the notification says it too)."""
        self.query_one("#error", Static).update(f"{target}: {said_in_tui(exc)}")

    @on(OptionList.OptionSelected, "#recent")
    def _recent(self, event: OptionList.OptionSelected) -> None:
        self.query_one("#url", Input).value = str(event.option.prompt)
        self._connect()

    @on(Button.Pressed, "#demo")
    def _demo(self) -> None:
        if not self.connecting():
            self.app.start_demo()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()

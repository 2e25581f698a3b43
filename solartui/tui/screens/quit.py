"""Quitting safely: what would be cut short, asked before the app ends.

`what_quitting_stops` lists what is going on (a confirmed write on its way to a device, dataloggers
connected to the embedded Growatt server); with nothing, ctrl+q quits at once. Otherwise
QuitScreen says what quitting waits for and what it drops; focus starts on Stay, so a stray Enter
keeps the app running.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static
from textual.worker import Worker

from solartui.tui.screens.dialog import Dialog
from solartui.tui.focus import focus_now

#: the worker groups of the write flows (write_flow.GROUP, shine_flow.GROUP)
WRITE_GROUPS = ("write", "shine-write")


@dataclass
class GoingOn:
    writes: list[Worker] = field(default_factory=list)     # confirmed, on their way
    loggers: list[str] = field(default_factory=list)       # serials connected to our server

    def __bool__(self) -> bool:
        return bool(self.writes or self.loggers)

    def lines(self) -> list[str]:
        out = []
        if self.writes:
            names = ", ".join(w.name for w in self.writes)
            out.append(f"waits for: {names} — a confirmed write on its way; its outcome is "
                       "read back and journalled before the app ends")
        if self.loggers:
            many = len(self.loggers) > 1
            out.append(f"drops: {len(self.loggers)} datalogger{'s' if many else ''} connected to "
                       f"the embedded Growatt server ({', '.join(self.loggers)}) — "
                       f"{'their' if many else 'its'} data goes nowhere until a server runs again")
        return out


def what_quitting_stops(app) -> GoingOn:
    """A write flow past its dialogs is a write on the wire; one waiting in a dialog has sent
    nothing (quitting closes the dialog)."""
    from solartui.tui.screens.edit import _EntryScreen
    from solartui.tui.screens.confirm import ConfirmScreen
    asking = any(isinstance(s, (_EntryScreen, ConfirmScreen)) for s in app.screen_stack)
    writes = [] if asking else [w for w in app.workers
                                if w.group in WRITE_GROUPS and w.is_running]
    server = getattr(app, "_shine_server", None)
    loggers = sorted(server.loggers) if server is not None and server.running else []
    return GoingOn(writes, loggers)


class QuitScreen(Dialog[bool]):
    BINDINGS = [
        Binding("escape", "stay", "Stay"),
        Binding("left", "app.focus_previous", "", show=False),
        Binding("right", "app.focus_next", "", show=False),
    ]
    AUTO_FOCUS = "#stay"

    def __init__(self, going_on: GoingOn) -> None:
        super().__init__()
        self.going_on = going_on

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("Quit solartui?", id="title", markup=False)
            for line in self.going_on.lines():
                yield Static(line, classes="going-on", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Quit", variant="warning", id="quit")
                yield Button("Stay", variant="primary", id="stay")

    def on_mount(self) -> None:
        focus_now(self.query_one("#stay", Button))

    def action_stay(self) -> None:
        self.dismiss(False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "quit")

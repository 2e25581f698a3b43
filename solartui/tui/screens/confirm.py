"""ConfirmScreen: the last look before a write goes to the device.

It shows every line of the plan's summary (device serial, point, old and new value, raw words,
function code, trust). Any plan with `summary()` and `trust` will do: a Modbus WritePlan, or a
ShinePlan for a write through the Growatt server (a "warning" row is shown in the error colour).
Focus starts on Cancel, so a stray Enter never writes; Escape cancels; only the Confirm button
returns True.
"""

from __future__ import annotations

from typing import Protocol

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from solartui.tui.screens.dialog import Dialog
from solartui.tui.focus import focus_now


class Confirmable(Protocol):
    """What a confirmation shows: labelled rows, and the trust rung (None: no map point)."""

    trust: str | None

    def summary(self) -> list[tuple[str, str]]: ...


class ConfirmScreen(Dialog[bool]):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("left", "app.focus_previous", "", show=False),
        Binding("right", "app.focus_next", "", show=False),
    ]
    AUTO_FOCUS = "#cancel"

    def __init__(self, plan: Confirmable, title: str = "Write to the device?") -> None:
        super().__init__()
        self.plan = plan
        self.title_text = title

    @property
    def low_trust(self) -> bool:
        return self.plan.trust != "hardware-verified"

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.title_text, id="title", markup=False)
            for label, text in self.plan.summary():
                classes = "row " + label.replace(" ", "-")
                if label == "trust" and self.low_trust:
                    classes += " low-trust"
                with Horizontal(classes=classes):
                    yield Static(label, classes="label", markup=False)
                    yield Static(text, classes="value", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Confirm", variant="warning", id="confirm")
                yield Button("Cancel", variant="primary", id="cancel")

    def on_mount(self) -> None:
        focus_now(self.query_one("#cancel", Button))

    def action_cancel(self) -> None:
        self.dismiss(False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm")

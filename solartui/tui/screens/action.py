"""Named actions in the TUI: ActionScreen picks one and its arguments; ActionPlan is what the
confirm dialog shows for the whole action (every register write, in order).

Arguments are checked as they are typed with the same `bind` the CLI uses (shape and count); the
map's ranges are checked when the action is planned, before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Select, Static

from solartui.devices.actions import Action, bind
from solartui.devices.writes import WritePlan
from solartui.errors import SolartuiError
from solartui.registers.model import rung_index
from solartui.tui.screens.edit import _EntryScreen
from solartui.tui.focus import focus_now


@dataclass(frozen=True)
class ActionPlan:
    """The whole action for ConfirmScreen: one row per register write, the lowest trust rung."""

    name: str
    args: tuple[str, ...]
    plans: tuple[WritePlan, ...]

    @property
    def trust(self) -> str:
        return min((p.trust for p in self.plans), key=rung_index)

    def summary(self) -> list[tuple[str, str]]:
        first = self.plans[0]
        rows = [("device", f"{first.device_serial} ({first.map_id}) at {first.target} "
                           f"unit {first.unit}"),
                ("action", " ".join((self.name, *self.args)))]
        for i, p in enumerate(self.plans, 1):
            old = p.old_text if p.old_text is not None else "?"
            rows.append((f"step {i}",
                         f"{p.table[:1].upper()}R{p.address} {p.name}: {old} → {p.new_text} "
                         f"({' '.join(f'0x{w:04X}' for w in p.words)})"))
        rows.append(("function", f"FC{first.function:02d} for each, in this order, each read "
                                  "back; after a failure the rest are not sent"))
        rows.append(("trust", self.trust + ("" if self.trust == "hardware-verified"
                                            else " — not confirmed on real hardware")))
        return rows


class ActionScreen(_EntryScreen["tuple[Action, list[str]] | None"]):
    """Choose an action and type its arguments; dismisses with (action, args) or None."""

    def __init__(self, actions: dict[str, Action]) -> None:
        super().__init__()
        self.actions = actions

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("Run an action", id="title", markup=False)
            yield Select([(a.usage(), name) for name, a in self.actions.items()],
                         prompt="choose an action…", id="action")
            yield Static("", id="doc", classes="muted", markup=False)
            yield Input(placeholder="arguments, separated by spaces (e.g. 01:30 04:30 80)",
                        id="value")
            yield Static("", id="verdict", markup=False)
            yield from self._buttons()

    def on_mount(self) -> None:
        focus_now(self.query_one("#action", Select))
        self._validate(self.entered())

    @property
    def chosen(self) -> Action | None:
        value = self.query_one("#action", Select).value
        return None if value is Select.NULL else self.actions[str(value)]

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        action = self.chosen
        self.query_one("#doc", Static).update(action.doc if action else "")
        self._validate(self.entered())

    def _validate(self, text: str | None) -> None:
        action = self.chosen
        if action is None:
            self._show(False, "choose an action")
            return
        try:
            bind(action, (text or "").split())
        except SolartuiError as exc:
            self._show(False, str(exc))
            return
        self._show(True, f"{action.usage()}: the writes are listed for confirmation next")

    def _result(self, text: str):
        return self.chosen, text.split()

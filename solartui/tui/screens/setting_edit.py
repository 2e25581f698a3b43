"""SettingEditScreen: a new value for one setting of a command device (PI30).

Choices and flags are picked from a list; numbers are typed and checked while typing with the
same encoder the write uses (encode_setting, with what the device has told so far: its battery
rating, its own list of charging currents). A valid entry shows the setter command it becomes.
Nothing here touches the device; the screen returns the entered text, or None.
"""

from __future__ import annotations

from typing import Mapping

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Select, Static

from solartui.devices.pi30_device import check_value
from solartui.errors import SolartuiError
from solartui.registers.command_codec import allowed_text
from solartui.registers.command_model import Setting
from solartui.tui.screens.edit import _EntryScreen
from solartui.tui.focus import focus_now


def setting_labels(setting: Setting) -> list[str]:
    """What a list offers: the choice labels, or enable/disable for a flag ([] for numbers)."""
    if setting.kind == "flag":
        return ["enable", "disable"]
    if setting.kind == "choice":
        return list(setting.choices.values())
    return []


class SettingEditScreen(_EntryScreen["str | None"]):
    def __init__(self, setting: Setting, current_text: str | None, context: Mapping) -> None:
        super().__init__()
        self.setting = setting
        self.current_text = current_text
        self.context = context
        self.labels = setting_labels(setting)

    def compose(self) -> ComposeResult:
        s = self.setting
        try:
            allowed = allowed_text(s, self.context)
        except SolartuiError as exc:
            allowed = str(exc)
        with Vertical(id="dialog"):
            yield Static(f"Set {s.name}", id="title", markup=False)
            yield Static(f"{s.doc} · reads back from {s.reads_back.command} "
                         f"{s.reads_back.field}" + (f" · unit {s.unit}" if s.unit else ""),
                         classes="muted", markup=False)
            yield Static(f"allowed: {allowed}", id="limits", classes="muted", markup=False)
            if s.note:
                yield Static(s.note, classes="muted", markup=False)
            yield Static("current: " + (self.current_text or "(not read)"), id="current",
                         markup=False)
            if self.labels:
                yield Select([(label, label) for label in self.labels], prompt="choose…",
                             id="value")
            else:
                yield Input(placeholder="new value" + (f" in {s.unit}" if s.unit else ""),
                            id="value")
            yield Static("", id="verdict", markup=False)
            yield from self._buttons()

    def on_mount(self) -> None:
        focus_now(self.query_one("#value"))
        self._validate(self.entered())

    def _validate(self, text: str | None) -> None:
        if text is None:
            self._show(False, "choose one of: " + ", ".join(self.labels))
            return
        try:
            command = check_value(self.setting, text, self.context)
        except SolartuiError as exc:
            self._show(False, str(exc))
            return
        self._show(True, f"sends {command}")

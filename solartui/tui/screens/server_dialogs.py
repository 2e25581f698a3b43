"""LoggerEditScreen: a new value for one of the datalogger's own registers (ASCII text).

Validated as it is typed with the same check the write plan uses (shine_flow.check_logger_value):
the reason for a refusal shows under the field and OK stays disabled. Nothing here touches the
datalogger; the dialog only returns the text (or None for cancel).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static

from solartui.errors import SolartuiError
from solartui.tui.screens.edit import _EntryScreen
from solartui.tui.shine_flow import LoggerRegister, check_logger_value
from solartui.tui.focus import focus_now

HINTS = {
    "minutes": "minutes between data records, e.g. 5 or 0.5",
    "ip": "an IPv4 address, e.g. 192.168.1.10",
    "port": "a TCP port, 1..65535 (this server listens on 5781)",
    "clock": "YYYY-MM-DD HH:MM:SS (the Clock tab syncs it to this host instead)",
    "reboot": "1 reboots the datalogger",
    "text": "text, at most 255 characters",
}


class LoggerEditScreen(_EntryScreen["str | None"]):
    def __init__(self, serial: str, number: int, reg: LoggerRegister,
                 current: str | None) -> None:
        super().__init__()
        self.serial = serial
        self.number = number
        self.reg = reg
        self.current = current

    def compose(self) -> ComposeResult:
        reg = self.reg
        with Vertical(id="dialog"):
            yield Static(f"Set datalogger register {self.number}", id="title", markup=False)
            yield Static(f"{reg.name} · datalogger {self.serial}", classes="muted", markup=False)
            yield Static(HINTS.get(reg.kind, HINTS["text"]), id="limits", classes="muted",
                         markup=False)
            if reg.access == "w":
                current = "(write-only)"
            else:
                current = repr(self.current) + " (last known)" if self.current is not None \
                    else "(not read)"
            yield Static(f"current: {current}", id="current", markup=False)
            if reg.warning:
                yield Static(f"⚠ {reg.warning}", id="warning", markup=False)
            yield Input(value="1" if reg.kind == "reboot" else "", placeholder="new value",
                        id="value")
            yield Static("", id="verdict", markup=False)
            yield from self._buttons()

    def on_mount(self) -> None:
        focus_now(self.query_one("#value", Input))
        self._validate(self.query_one("#value", Input).value)

    def _validate(self, text: str) -> None:
        try:
            value = check_logger_value(self.number, text)
        except SolartuiError as exc:
            self._show(False, str(exc))
            return
        self._show(True, f"sends {value!r} ({len(value)} ASCII bytes) to register {self.number}")


"""Before f6 writes the report: site, customer, installer and notes, in one small form.

It opens filled in from the settings (the site this device was last reported at and what was
remembered for that site); typing a remembered site's name fills in its details. Write (or f6
again, or ctrl+s) answers with a Handover; Escape writes nothing.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, Static, TextArea

from solartui.report.handover import Handover
from solartui.settings import Settings
from solartui.tui.screens.dialog import Dialog
from solartui.tui.focus import focus_now

FIELDS = ("site", "customer", "installer")


class ReportFormScreen(Dialog["Handover | None"]):
    BINDINGS = [Binding("escape", "cancel", "Cancel"),
                Binding("f6", "write", "Write", priority=True),
                Binding("ctrl+s", "write", "Write", priority=True)]

    def __init__(self, start: Handover, settings: Settings | None = None,
                 serial: str = "") -> None:
        super().__init__()
        self.start = start
        self.settings = settings
        self.serial = serial

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static(f"Commissioning report{' of ' + self.serial if self.serial else ''}",
                         id="title", markup=False)
            yield Static("All optional, remembered per site · f6 writes · Esc cancels",
                         classes="muted", markup=False)
            for name in FIELDS:
                with Horizontal(classes="row"):
                    yield Static(name, classes="label", markup=False)
                    yield Input(getattr(self.start, name), id=name, compact=True)
            yield Static("notes", classes="label", markup=False)
            yield TextArea(self.start.notes, id="notes", soft_wrap=True, show_line_numbers=False)
            with Horizontal(id="buttons"):
                yield Button("Write", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        focus_now(self.query_one("#site", Input))

    def answer(self) -> Handover:
        v = {n: self.query_one(f"#{n}", Input).value.strip() for n in FIELDS}
        return Handover(v["site"], v["customer"], v["installer"],
                        self.query_one("#notes", TextArea).text.strip())

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if event.input.id != "site" or self.settings is None:
            return
        site = event.value.strip()
        if site in self.settings.sites:         # a remembered site: its details
            details = self.settings.site_details(site)
            for name in ("customer", "installer"):
                if details[name]:
                    self.query_one(f"#{name}", Input).value = details[name]
            self.query_one("#notes", TextArea).text = details["notes"]

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        order = list(FIELDS)
        i = order.index(event.input.id) if event.input.id in order else len(order) - 1
        nxt = (self.query_one(f"#{order[i + 1]}", Input) if i + 1 < len(order)
               else self.query_one("#notes", TextArea))
        focus_now(nxt)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self.action_write()
        else:
            self.dismiss(None)

    def action_write(self) -> None:
        self.dismiss(self.answer())

    def action_cancel(self) -> None:
        self.dismiss(None)

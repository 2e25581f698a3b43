"""Attesting a value against the device's own display, from a live screen (key `m`).

The installer reads the inverter's display and says whether it shows what solartui shows (or
what it shows instead), and signs with a name (remembered in the settings). The attestation is
stored with the map, point, model, firmware and serial it was made on; it earns the
hardware-verified rung for that model and firmware only, and never when the device is one of the
demo's simulators (stored with `simulated` set). Escape stores nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Input, RadioButton, RadioSet, Static

from solartui.errors import SolartuiError
from solartui.links.target import parse_target
from solartui.settings import save_settings
from solartui.trust.attestations import Attestation, AttestationStore
from solartui.trust.rungs import (
    HARDWARE, MISMATCH, Evidence, declared_rungs, known, model_and_firmware, point_evidence,
)
from solartui.tui.screens.dialog import Dialog
from solartui.tui.focus import focus_now


# --- evidence for a live screen ----------------------------------------------------------------

def device_evidence(screen, device) -> dict[str, Evidence]:
    """Every point's Evidence for this device; declared rungs (and one notification) when the
    evidence stores cannot be read."""
    model, firmware = model_and_firmware(device.identity)
    try:
        return point_evidence(device.map, model, firmware)
    except SolartuiError as exc:
        screen.notify(f"{exc}: showing the map's declared rungs", severity="warning")
        return {n: Evidence(n, r, r) for n, r in declared_rungs(device.map).items()}


def trust_cell(evidence: Evidence | None, declared: str) -> Text:
    if evidence is None:
        return Text(declared)
    if evidence.differs:
        return Text(MISMATCH, style="bold red")
    return Text(evidence.rung, style="bold green" if evidence.rung == HARDWARE else "")


def is_simulator(app, device) -> bool:
    """The demo, or a target the demo started: a simulator, whose display proves nothing."""
    if getattr(app, "demo", False):
        return True
    here = getattr(device.link, "target", None)
    for text in getattr(app, "demo_targets", None) or []:
        if text == device.target_text:
            return True
        try:
            t = parse_target(text)
        except SolartuiError:
            continue
        if here is not None and (t.scheme, t.host, t.port, t.path) == (
                here.scheme, here.host, here.port, here.path):
            return True
    return False


# --- the dialog ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class AttestAsk:
    """What the dialog shows."""

    point: str
    doc: str
    shown: str
    model: str
    firmware: str
    serial: str
    rung: str
    simulated: bool
    person: str


@dataclass(frozen=True)
class AttestAnswer:
    matches: bool
    display: str
    person: str


class AttestScreen(Dialog["AttestAnswer | None"]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, ask: AttestAsk) -> None:
        super().__init__()
        self.ask = ask

    def compose(self) -> ComposeResult:
        a = self.ask
        with VerticalScroll(id="dialog"):
            yield Static(f"Compare {a.point} with the device's display", id="title",
                         markup=False)
            if a.doc:
                yield Static(a.doc, classes="muted", markup=False)
            for label, text, cls in (("solartui", a.shown, "shown"),
                                     ("device", f"{a.model} · firmware {a.firmware}", "device"),
                                     ("serial", a.serial, "serial"),
                                     ("rung now", a.rung, "rung")):
                with Horizontal(classes=f"row {cls}"):
                    yield Static(label, classes="label", markup=False)
                    yield Static(text, classes="value", markup=False)
            if a.simulated:
                yield Static("This is a simulator: the attestation is stored as simulated and "
                             "earns no rung.", classes="caution", markup=False)
            elif not known(a.model, a.firmware):
                yield Static("The device's model or firmware is unknown: the attestation is "
                             "stored but earns no rung.", classes="caution", markup=False)
            with RadioSet(id="choice", compact=True):
                yield RadioButton("matches the device's display", id="matches")
                yield RadioButton("does not match", id="differs")
            with Horizontal(id="display-box", classes="row"):
                yield Static("display", classes="label", markup=False)
                yield Input(placeholder="what the device's display shows, with its unit",
                            id="display", compact=True)
            with Horizontal(classes="row"):
                yield Static("your name", classes="label", markup=False)
                yield Input(a.person, placeholder="signs the attestation", id="person",
                            compact=True)
            yield Static("", id="verdict", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Store", variant="primary", id="ok", disabled=True)
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#display-box").display = False
        focus_now(self.query_one("#choice", RadioSet))
        self._check()

    # --- state ---------------------------------------------------------------------------------

    def _choice(self) -> str | None:
        pressed = self.query_one("#choice", RadioSet).pressed_button
        return pressed.id if pressed is not None else None

    def _answer(self) -> tuple[AttestAnswer | None, str]:
        """The answer, or None and what is still missing."""
        choice = self._choice()
        display = self.query_one("#display", Input).value.strip()
        person = self.query_one("#person", Input).value.strip()
        if choice is None:
            return None, "choose: matches the display, or does not match"
        if choice == "differs" and not display:
            return None, "enter what the display shows"
        if not person:
            return None, "enter your name"
        matches = choice == "matches"
        shown = self.ask.shown if matches else display
        return AttestAnswer(matches, shown, person), (
            f"stores: {self.ask.point} {'matches' if matches else 'does not match'} the display"
            f"{'' if matches else ' (' + display + ')'}, signed {person}")

    def _check(self) -> AttestAnswer | None:
        answer, text = self._answer()
        verdict = self.query_one("#verdict", Static)
        verdict.update(text)
        verdict.set_class(answer is not None, "ok")
        self.query_one("#ok", Button).disabled = answer is None
        return answer

    # --- events --------------------------------------------------------------------------------

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        event.stop()
        differs = event.pressed.id == "differs"
        self.query_one("#display-box").display = differs
        focus_now(self.query_one("#display", Input) if differs else self.query_one("#person", Input))
        self._check()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._check()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "display":
            focus_now(self.query_one("#person", Input))
        else:
            self._accept()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "ok":
            self._accept()
        else:
            self.dismiss(None)

    def _accept(self) -> None:
        answer = self._check()
        if answer is not None:
            self.dismiss(answer)

    def action_cancel(self) -> None:
        self.dismiss(None)


# --- the flow --------------------------------------------------------------------------------

def start_attestation(screen, name: str, doc: str, shown: str | None,
                      evidence: Evidence | None, on_stored: Callable[[], None]) -> None:
    """Ask, store, say what was stored and the rung now shown (`on_stored` recomputes it)."""
    app, device = screen.app, screen.device
    if not shown:
        screen.notify(f"{name} has no current value to compare with the display",
                      severity="warning")
        return
    model, firmware = model_and_firmware(device.identity)
    serial = device.identity.serial if device.identity is not None else "unknown"
    simulated = is_simulator(app, device)
    settings = getattr(app, "settings", None)
    ask = AttestAsk(name, doc, shown, model, firmware, serial,
                    evidence.label if evidence is not None else "", simulated,
                    settings.person if settings is not None else "")

    def done(answer: AttestAnswer | None) -> None:
        if answer is None:
            return
        if settings is not None and settings.person != answer.person:
            settings.person = answer.person
            save_settings(settings)
        att = Attestation(device.map.id, name, model, serial, firmware, shown, answer.display,
                          answer.matches, answer.person, target=device.target_text,
                          simulated=simulated)
        try:
            AttestationStore().add(att)
        except SolartuiError as exc:
            screen.notify(str(exc), severity="error", timeout=8)
            return
        now = on_stored()
        why = (" — a simulator: earns no rung" if simulated else
               "" if known(model, firmware) else " — model or firmware unknown: earns no rung")
        screen.notify(f"stored: {name} {att.verdict} the display"
                      + ("" if att.matches else f" ({att.display})")
                      + f" on {model}, fw {firmware}; shown now: {now}{why}",
                      severity="information" if att.matches else "warning", timeout=8)

    app.push_screen(AttestScreen(ask), done)


class Attesting:
    """`m` on a live screen: the highlighted value compared with the device's display, and the
    trust column redrawn from the evidence afterwards. The screen provides `_highlighted()` (a
    point or field), `_last` and `_errors` (its last readings and failures), `_detail()` and
    `_show_rungs()` (redraws the trust cells from `self.evidence`)."""

    evidence: dict

    def action_attest(self) -> None:
        item = self._highlighted()
        if item is None:
            return
        last = self._last.get(item.name)
        current = (last.decoded.text if last is not None and item.name not in self._errors
                   else None)
        start_attestation(self, item.name, item.doc, current, self.evidence.get(item.name),
                          lambda: self.refresh_rungs(item.name))

    def refresh_rungs(self, name: str) -> str:
        """Re-read the evidence after an attestation; the label `name` shows now."""
        self.evidence = device_evidence(self, self.device)
        self._show_rungs()
        self._detail()
        ev = self.evidence.get(name)
        return ev.label if ev is not None else "?"

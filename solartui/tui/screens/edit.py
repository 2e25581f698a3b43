"""Entering a new value: EditScreen (a map point, engineering units) and RawEditScreen (raw words).

Validation happens inline while the person types, with the same codec the write itself uses
(parse_value + encode_value): the reason for a refusal shows under the field, OK stays disabled,
and a valid entry shows the register words it would become. Nothing here touches the device; the
screens only return what was entered (or None for cancel).
"""

from __future__ import annotations

from typing import TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Select, Static

from solartui.errors import SolartuiError, ValueRejected
from solartui.registers.codec import describe, encode_value, parse_value, to_value, words_to_raw
from solartui.registers.model import Point
from solartui.tui.screens.dialog import Dialog
from solartui.tui.focus import focus_now


def words_text(words) -> str:
    return " ".join(f"0x{w:04X}" for w in words)


def point_limits(point: Point) -> str:
    """Range, step and choices of a point, in one line for people."""
    parts = []
    unit = f" {point.unit}" if point.unit else ""
    if point.range:
        lo, hi = point.range
        parts.append(f"range {_num(lo)}..{_num(hi)}{unit}")
    if point.step:
        parts.append(f"step {_num(point.step)}{unit}")
    elif point.scale != 1 and point.type not in ("ascii", "hhmm", "hhmm_dec"):
        parts.append(f"resolution {_num(point.scale)}{unit}")
    if point.enum:
        parts.append(f"one of {len(point.enum) + len(point.special or {})} choices")
    elif point.special:
        parts.append("also " + ", ".join(point.special.values()))
    if point.type in ("hhmm", "hhmm_dec"):
        parts.append("time of day HH:MM")
    elif point.type == "ascii":
        parts.append(f"text, at most {2 * point.count} characters")
    if point.bits:
        parts.append("bit field (decimal or 0x hex)")
    return " · ".join(parts) if parts else point.type


def _num(v: float) -> str:
    return f"{v:g}"


def check_point_text(point: Point, text: str) -> tuple[list[int], str]:
    """(words, what they mean) for an entry, or ValueRejected with a one-line reason."""
    if not str(text).strip() and point.type != "ascii":
        raise ValueRejected("enter a value")
    value = parse_value(point, text)
    words = encode_value(point, value)
    raw = words_to_raw(point.type, words, point.words)
    shown = describe(point, raw, value if isinstance(value, str) else to_value(point, raw))
    return words, shown


def parse_raw_words(text: str) -> list[int]:
    """Space- or comma-separated register words, decimal or 0x hex, each 0-65535."""
    tokens = text.replace(",", " ").split()
    if not tokens:
        raise ValueRejected("enter one or more words (decimal or 0x hex)")
    out = []
    for tok in tokens:
        t = tok.lower()
        try:
            if t.startswith("0x"):
                v = int(t[2:], 16)
            elif t.isdigit():
                v = int(t, 10)
            else:
                raise ValueError
        except ValueError:
            raise ValueRejected(f"{tok!r} is not a decimal or 0x hex number") from None
        if not 0 <= v <= 0xFFFF:
            raise ValueRejected(f"{tok} is outside 0..65535 (0x0000..0xFFFF)")
        out.append(v)
    return out


ResultT = TypeVar("ResultT")


class _EntryScreen(Dialog[ResultT]):
    """Shared parts: the verdict line, OK/Cancel, Escape (answered once: see Dialog)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    valid = False

    def _buttons(self) -> ComposeResult:
        with Horizontal(id="buttons"):
            yield Button("OK", variant="primary", id="ok", disabled=True)
            yield Button("Cancel", id="cancel")

    def _show(self, ok: bool, text: str) -> None:
        self.valid = ok
        verdict = self.query_one("#verdict", Static)
        verdict.update(text)
        verdict.set_class(not ok, "error")
        verdict.set_class(ok, "ok")
        self.query_one("#ok", Button).disabled = not ok

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "cancel":
            self.dismiss(None)
        elif event.button.id == "ok":
            self._accept()

    # the text box: validated on every change, accepted on Enter (subclasses give _validate,
    # and _result when what they return is not the text itself)

    def entered(self) -> str | None:
        """The text typed, or the choice made (None: nothing chosen yet)."""
        widget = self.query_one("#value")
        if isinstance(widget, Select):
            return None if widget.value is Select.NULL else str(widget.value)
        return widget.value

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self._validate(self.entered())

    def _validate(self, text: str | None) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _result(self, text: str):
        return text

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._validate(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._accept()

    def _accept(self) -> None:
        text = self.entered()
        self._validate(text)
        if self.valid and text is not None:
            self.dismiss(self._result(text))


class EditScreen(_EntryScreen["str | None"]):
    """A new value for one map point; dismisses with the entered text, or None."""

    def __init__(self, point: Point, current_text: str | None = None) -> None:
        super().__init__()
        self.point = point
        self.current_text = current_text
        self.labels = {**(point.enum or {}), **(point.special or {})} if point.enum else {}

    @property
    def uses_select(self) -> bool:
        return bool(self.labels)

    def compose(self) -> ComposeResult:
        p = self.point
        with Vertical(id="dialog"):
            yield Static(f"Set {p.name}", id="title", markup=False)
            yield Static(f"{p.doc} · {p.table} register {p.address} · {p.type}"
                         + (f" · unit {p.unit}" if p.unit else ""), classes="muted", markup=False)
            yield Static(point_limits(p), id="limits", classes="muted", markup=False)
            yield Static("current: " + (self.current_text if self.current_text is not None
                                        else "(not read)"), id="current", markup=False)
            if self.uses_select:
                current = self.current_text if self.current_text in self.labels.values() else None
                options = [(label, label) for label in self.labels.values()]
                yield Select(options, prompt="choose…", id="value",
                             value=current if current is not None else Select.NULL)
            else:
                placeholder = "new value" + (f" in {p.unit}" if p.unit else "")
                yield Input(placeholder=placeholder, id="value")
            yield Static("", id="verdict", markup=False)
            yield from self._buttons()

    def on_mount(self) -> None:
        focus_now(self.query_one("#value"))
        self._validate(self.entered())

    def _validate(self, text: str | None) -> None:
        if text is None:
            self._show(False, "choose one of: " + ", ".join(self.labels.values()))
            return
        try:
            words, meaning = check_point_text(self.point, text)
        except SolartuiError as exc:
            self._show(False, str(exc))
            return
        self._show(True, f"{meaning} → raw {words_text(words)}")


class RawEditScreen(_EntryScreen["list[int] | None"]):
    """New raw words for holding registers from `address` on; dismisses with list[int] or None."""

    def __init__(self, address: int, current_words: list[int] | tuple[int, ...] | None = None):
        super().__init__()
        self.address = address
        self.current_words = list(current_words) if current_words else None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(f"Write raw holding register {self.address}", id="title", markup=False)
            yield Static("one or more words, decimal or 0x hex, separated by spaces; "
                         "consecutive registers from this address", classes="muted", markup=False)
            current = (f"{words_text(self.current_words)} "
                       f"({' '.join(str(w) for w in self.current_words)})"
                       if self.current_words else "(not read)")
            yield Static(f"current: {current}", id="current", markup=False)
            yield Input(placeholder="e.g. 80 or 0x0050 0x0001", id="value")
            yield Static("", id="verdict", markup=False)
            yield from self._buttons()

    def on_mount(self) -> None:
        focus_now(self.query_one("#value", Input))
        self._validate(self.query_one("#value", Input).value)

    def _check(self, text: str) -> list[int]:
        words = parse_raw_words(text)
        if self.address + len(words) - 1 > 0xFFFF:
            raise ValueRejected(f"{len(words)} words from register {self.address} run past 65535")
        return words

    def _validate(self, text: str) -> None:
        try:
            words = self._check(text)
        except SolartuiError as exc:
            self._show(False, str(exc))
            return
        last = self.address + len(words) - 1
        span = f"register {self.address}" if len(words) == 1 else f"registers {self.address}..{last}"
        self._show(True, f"{span} ← {words_text(words)}")

    def _result(self, text: str) -> list[int]:
        return self._check(text)

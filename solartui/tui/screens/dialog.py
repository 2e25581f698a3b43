"""Dialog: the one base of every modal (editors, confirmations, actions, attestation, quit).

A dialog answers once. Textual's `dismiss()` pops whatever screen is on top, so a second answer
(Enter pressed twice: both presses reach the focused field before the first one has closed the
dialog) used to pop the screen underneath — a blank live screen — or, with nothing left to pop,
end the app. Here the first answer is the only one: later `dismiss()` calls, and any call while
another screen is on top of the dialog, do nothing.

Input aimed at a dialog must not land elsewhere either. The app asks `stale_input` for every key
and mouse press and drops:
- what was made before the dialog on top opened, or before the last dialog closed (it was aimed at
  what the person saw then: a fast Enter Enter answers an editor once, and the second Enter does
  not answer the confirmation that follows);
- on the screen underneath, a repeat of the Enter, space or click that answered a dialog within
  REPEAT_GUARD seconds of it, with no other key between (a double press, key repeat): Enter on the server pane's table would
  otherwise start the next write. A new dialog is never guarded this way: it gets every key
  pressed after it opened, and its focus starts on the harmless choice.
"""

from __future__ import annotations

from textual import events
from textual._time import get_time     # the clock Textual stamps events with
from textual.await_complete import AwaitComplete
from textual.screen import ModalScreen, ScreenResultType

#: the input events a fence drops (a click is made of a press and a release)
FENCED = (events.Key, events.MouseDown, events.MouseUp, events.Click)
#: seconds during which the answering key, repeated, does not reach the screen underneath
REPEAT_GUARD = 0.5
#: the answers that act on what is underneath when doubled (Escape twice is deliberate: back out)
GUARDED = ("enter", "space", "mouse")


def _kind(event: events.Event) -> str:
    return event.key if isinstance(event, events.Key) else "mouse"


def stale_input(app, event: events.Event) -> bool:
    """Whether the app should drop this key or mouse press (see the module docstring).

    Every input event passes through here, so the app's last one is what answered a dialog."""
    if not isinstance(event, FENCED):
        return False
    state = _state(app)
    top = app.screen_stack[-1] if app.screen_stack else None
    fence = max(state.fence, top.opened_at) if isinstance(top, Dialog) else state.fence
    if event.time <= fence:
        return True
    if not isinstance(top, Dialog) and _kind(event) == state.repeat_kind \
            and event.time < state.repeat_until:
        state.repeat_until = event.time + REPEAT_GUARD      # held down: still the same press
        return True
    state.last_kind = _kind(event)
    if state.last_kind != state.repeat_kind:
        state.repeat_kind = None                # another key came between: no repeat any more
    return False


def stale_bubbled(app, event: events.Event) -> bool:
    """Whether a key that came back to the app unhandled should be dropped.

    A key the app passed on comes back for the bindings of whatever screen is on top *by then*:
    an Enter given to a confirmation before its focus was set, say, returns after the next Enter
    has answered it, and would select the row underneath (a second editor). Made before the last
    dialog closed, it was aimed at that dialog, not at the screen now on top; made before the
    dialog on top opened, it was aimed at the screen underneath (`ee` typed fast: the second `e`
    is not the editor's first character)."""
    if not isinstance(event, events.Key):
        return False
    top = app.screen_stack[-1] if app.screen_stack else None
    fence = max(_state(app).fence, top.opened_at) if isinstance(top, Dialog) else _state(app).fence
    return event.time <= fence


class _InputState:
    fence = float("-inf")               # input made before this moment is dropped
    last_kind: str | None = None        # the last key (or "mouse") delivered
    repeat_kind: str | None = None      # the key that answered the last dialog
    repeat_until = float("-inf")


def _state(app) -> _InputState:
    return app.__dict__.setdefault("_dialog_input", _InputState())


def mark_input_fence(app) -> None:
    """A dialog closed: input made before now is dropped, and so is its answer, repeated soon."""
    state = _state(app)
    state.fence = now = get_time()
    state.repeat_kind = state.last_kind if state.last_kind in GUARDED else None
    state.repeat_until = now + REPEAT_GUARD


async def _nothing() -> None:
    return None


class Dialog(ModalScreen[ScreenResultType]):
    """A modal screen that answers exactly once (see the module docstring)."""

    answered = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.opened_at = get_time()         # made just before it is pushed

    def on_mouse_down(self, _event: events.MouseDown) -> None:
        _state(self.app).last_kind = "mouse"     # (also when a test forwards it past the app)

    def dismiss(self, result: ScreenResultType | None = None) -> AwaitComplete:
        if self.answered or not self.is_active:
            return AwaitComplete(_nothing())
        self.answered = True
        mark_input_fence(self.app)
        return super().dismiss(result)

"""Move the focus now, and keep the keys typed while it moved.

Textual's `Widget.focus()` defers the move (`call_later`), so keys the terminal delivered in the
same read as the one that asked for the move reach the old focus: every focus move in the TUI
goes through `focus_now`. Even then, the app routes each queued key to the widget focused when
the key was queued, before the `/` binding ran: `/70` typed fast puts the 7 and the 0 in the
table's queue. `keep_typed` hands such a stray printable key to the input that has the focus now.
"""

from __future__ import annotations

from textual import events
from textual.dom import NoScreen
from textual.widgets import Input


def focus_now(widget) -> None:
    """Give `widget` the focus before the next queued event is handled (a widget no longer on
    a screen is left alone, as Textual's own focus() does)."""
    try:
        widget.screen.set_focus(widget)
    except NoScreen:
        pass


def keep_typed(focused, event: events.Key) -> bool:
    """A printable key bubbling up to the app while an Input has the focus came from another
    widget (an Input stops the keys it takes): it was typed for the Input. True: handed over."""
    if isinstance(focused, Input) and event.is_printable and event.character:
        focused.insert_text_at_cursor(event.character)
        event.stop()
        event.prevent_default()
        return True
    return False

"""Help (f1 or ?): every key of the screen underneath and of the app, in one list.

Why: at 80 columns the footer has room for the essential keys only; nothing may be reachable only
by a key nobody can see. The list is built from the live bindings (what `check_action` allows
now), so it never goes stale when a screen gains a key.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Static

from solartui.tui.screens.dialog import Dialog
from solartui.tui.focus import focus_now

NAMES = {"escape": "Esc", "question_mark": "?", "slash": "/", "space": "Space",
         "enter": "Enter"}


def key_text(key: str) -> str:
    return NAMES.get(key, key.replace("ctrl+", "^"))


def keys_of(screen: Screen) -> list[tuple[str, str, str]]:
    """(key, what it does, whose) for every described binding active on `screen`, the screen's
    own first, then the app's."""
    rows, seen = [], set()
    for key, active in screen.active_bindings.items():
        b = active.binding
        if not b.description or not active.enabled or (key, b.action) in seen:
            continue
        seen.add((key, b.action))
        whose = "app" if active.node is screen.app else type(screen).__name__.removesuffix("Screen")
        rows.append((key_text(key), b.description, whose))
    rows.sort(key=lambda r: r[2] == "app")
    return rows


class HelpScreen(Dialog[None]):
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("f1", "close", "Close", show=False),
        Binding("question_mark", "close", "Close", show=False),
    ]

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self.rows = keys_of(under)
        self.under_name = type(under).__name__.removesuffix("Screen") or "this screen"

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(f"Keys — {self.under_name} and everywhere (Esc closes; every one is "
                         "also in the command palette, ctrl+p)", id="title", markup=False)
            yield DataTable(id="keys", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one("#keys", DataTable)
        table.add_columns("key", "what it does", "where")
        for row in self.rows:
            table.add_row(*row)
        focus_now(table)

    def action_close(self) -> None:
        self.dismiss(None)

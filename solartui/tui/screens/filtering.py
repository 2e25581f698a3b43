"""A table with a `/` filter above it: the live screens share the keys and the focus moves.

`/` focuses the `#filter` input, typing refills the rows (the screen's `_fill(needle)`), Enter
goes back to the table, and Escape clears the filter first. The screen names its table in
TABLE_ID and binds the keys to focus_filter / clear_filter. A screen with a FitColumns in `fit`
gets its columns chosen by width, again on every resize (rows refilled for the new columns).
"""

from __future__ import annotations

from textual import events, on
from textual.screen import Screen
from textual.widgets import DataTable, Input
from solartui.tui.focus import focus_now


class FilteredTable(Screen):
    TABLE_ID = "points"
    fit = None                  # a FitColumns: the table's columns follow the width

    def fit_columns(self, width: int | None = None) -> bool:
        """Choose the columns for `width` (the screen's); True when they changed."""
        if self.fit is None:
            return False
        return self.fit.apply(self._table(), width or self.size.width or self.app.size.width)

    def on_resize(self, event: events.Resize) -> None:
        if self.fit is not None and self._table().columns and self.fit_columns(event.size.width):
            self._fill(self.query_one("#filter", Input).value)

    def _fill(self, needle: str) -> None:
        raise NotImplementedError

    def _table(self) -> DataTable:
        return self.query_one(f"#{self.TABLE_ID}", DataTable)

    def action_focus_filter(self) -> None:
        focus_now(self.query_one("#filter", Input))

    def action_clear_filter(self) -> None:
        f = self.query_one("#filter", Input)
        if f.value:
            f.value = ""
        focus_now(self._table())

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_done(self, _event) -> None:
        focus_now(self._table())

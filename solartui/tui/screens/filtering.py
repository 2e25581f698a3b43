"""A table with a `/` filter above it: the live screens share the keys and the focus moves.

`/` focuses the `#filter` input, typing refills the rows (the screen's `_fill(needle)`), Enter
goes back to the table, and Escape clears the filter first. The screen names its table in
TABLE_ID and binds the keys to focus_filter / clear_filter.
"""

from __future__ import annotations

from textual import on
from textual.screen import Screen
from textual.widgets import DataTable, Input


class FilteredTable(Screen):
    TABLE_ID = "points"

    def _fill(self, needle: str) -> None:
        raise NotImplementedError

    def _table(self) -> DataTable:
        return self.query_one(f"#{self.TABLE_ID}", DataTable)

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_clear_filter(self) -> None:
        f = self.query_one("#filter", Input)
        if f.value:
            f.value = ""
        self._table().focus()

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_done(self, _event) -> None:
        self._table().focus()

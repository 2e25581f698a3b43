"""A DataTable's columns chosen for the width it has (see solartui.layout_width).

Why: at 80 columns a table of nine columns shows the first six and hides the rest off the right
edge; the person scrolls sideways without knowing there is more. Each screen lists its columns
with how much each is needed; `FitColumns.apply` rebuilds the columns when the width calls for a
different set, and the screen refills its rows (`row()` orders a row's cells for what shows).
"""

from __future__ import annotations

from textual.widgets import DataTable

from solartui.layout_width import Part, choose

#: a DataTable cell's padding (one column each side)
CELL_GAP = 2
#: the vertical scrollbar's width, kept free so no column hides under it
SCROLLBAR = 2


class FitColumns:
    def __init__(self, parts, reserve: int = SCROLLBAR) -> None:
        self.parts = [p if isinstance(p, Part) else Part(*p) for p in parts]
        self.reserve = reserve
        self.layout: tuple[tuple[str, int], ...] = ()

    @property
    def keys(self) -> list[str]:
        return [key for key, _width in self.layout]

    def choose(self, width: int) -> tuple[tuple[str, int], ...]:
        return tuple((p.key, w) for p, w in choose(self.parts, width - self.reserve, CELL_GAP))

    def apply(self, table: DataTable, width: int) -> bool:
        """Give `table` the columns that fit `width`; True when they changed (the rows are gone
        then, and the caller adds them again)."""
        layout = self.choose(width)
        if layout == self.layout and table.columns:
            return False
        self.layout = layout
        titles = {p.key: p.label for p in self.parts}
        table.clear(columns=True)
        for key, w in layout:
            table.add_column(titles[key], key=key, width=w)
        return True

    def shows(self, key: str) -> bool:
        return any(k == key for k, _w in self.layout)

    def project(self, cells) -> list:
        """A row given as a tuple in the order of all the columns, cut to the shown ones."""
        return self.row(dict(zip((p.key for p in self.parts), cells)))

    def row(self, cells: dict) -> list:
        """The cells (column key -> value) of one row, in the shown columns' order."""
        return [cells.get(key, "") for key in self.keys]


def set_cell(table: DataTable, fit: FitColumns, row: str, col: str, value) -> None:
    """`update_cell` for a column that may not be shown at this width (then nothing to do)."""
    if fit.shows(col):
        table.update_cell(row, col, value)

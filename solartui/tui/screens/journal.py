"""JournalScreen: what was changed — every write and clock set in the journal, newest first.

Opened with f7 (f7 or escape closes it). It lists this device's entries (`a` shows every device's)
with time, point, old → new, outcome and the door the write came through (cli, tui, http,
server), filtered by typing after `/` like the live screen. A write whose outcome never came (the
program writing it was killed after journalling its intent) shows as "interrupted" in bold, with
"outcome unknown — interrupted" and what to do in the detail line and a count in the status line. Rows come from journal_view (the same
reading the CLI's `journal` command and the report use). The journal is a file any process may
append to (the CLI, the Growatt server, this app's own writes), so the screen re-reads it when it
is shown, when a write finishes, and whenever the file's size or time changes (checked every
CHECK_SECONDS: one stat, cheap). Columns are chosen by width: at 80 columns the ones needed to
answer "what did I change" show, wider terminals add the serial and where it was written.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from solartui.errors import SolartuiError
from solartui.journal import INTERRUPTED, PENDING
from solartui.journal_view import JournalRow, rows
from solartui.tui.chrome import Footer, Header
from solartui.tui.fit_table import FitColumns
from solartui.tui.focus import focus_now

CHECK_SECONDS = 1.0
GOOD = ("verified", "acknowledged", "synced", "set")
UNSURE = ("unverified", "not sent")

# (key, width, which drops first when narrow (0: never), room to grow, title): at 80 columns time
# (month-day hour:minute), point, change, outcome and origin; the serial, the full time and where
# the write went join as the terminal widens
COLUMNS = (("time", 11, 0, 8), ("serial", 12, 3, 0, "serial"), ("what", 19, 0, 7, "point"),
           ("change", 19, 0, 7, "old → new"), ("outcome", 11, 0, 1), ("origin", 6, 1, 0, "from"),
           ("where", 40, 4, 20))
FULL_TIME = 19                      # "2026-12-04 08:25:27"


def _change(r: JournalRow) -> str:
    return f"{r.old or '?'} → {r.new or '?'}"


SHORT = {INTERRUPTED: ("interrupted", "bold yellow"), PENDING: ("writing…", "yellow")}


def _outcome(r: JournalRow) -> Text:
    if r.outcome in SHORT:
        return Text(*SHORT[r.outcome])          # the whole phrase is in the detail line
    outcome = r.outcome.lower()
    if any(outcome.startswith(g) for g in GOOD):
        return Text(r.outcome, style="green")
    return Text(r.outcome, style="yellow" if outcome in UNSURE else "bold red")


def cells(r: JournalRow, fit: FitColumns) -> list:
    time_width = dict(fit.layout).get("time", 0)
    values = {"time": r.time if time_width >= FULL_TIME else r.time[5:16],
              "serial": r.serial, "what": r.what, "change": _change(r),
              "outcome": _outcome(r), "origin": r.origin or "—", "where": r.where}
    return fit.row(values)


class JournalScreen(Screen):
    """The write journal, this device's or everyone's, filterable."""

    DEFAULT_CSS = """
    JournalScreen #journal { height: 1fr; }
    JournalScreen #journal-detail { height: auto; max-height: 4; }
    """

    BINDINGS = [
        ("slash", "focus_filter", "Filter"),
        ("a", "toggle_all", "All devices"),
        ("r", "reload", "Reload"),
        Binding("escape", "back", "Back"),
        Binding("f7", "app.pop_screen", "Back", show=False),     # f7 toggles the screen
    ]

    def __init__(self) -> None:
        super().__init__()
        self.all_devices = False
        self.shown: list[JournalRow] = []
        self._rows: list[JournalRow] = []
        self._note = ""                 # lines of the file that could not be read
        self._stamp = None
        self.fit = FitColumns(COLUMNS)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="filter: point, value, outcome, origin… (/ to focus, escape "
                    "to clear)", id="filter")
        yield DataTable(id="journal", cursor_type="row", zebra_stripes=True)
        yield Static("", id="journal-detail")
        yield Static("", id="journal-status")
        yield Footer()

    @property
    def journal(self):
        return getattr(getattr(self.app, "session", None), "journal", None)

    @property
    def serial(self) -> str | None:
        """This device's serial; None (every entry) when not connected or not identified."""
        dev = getattr(self.app, "device", None)
        ident = getattr(getattr(dev, "identity", None), "values", None) or {}
        return str(ident["serial"]) if ident.get("serial") else None

    def on_mount(self) -> None:
        self._layout(self.size.width or self.app.size.width)
        self.reload()
        focus_now(self.query_one("#journal", DataTable))
        self.set_interval(CHECK_SECONDS, self._check)

    def on_screen_resume(self) -> None:
        self.reload()

    def on_resize(self, event) -> None:
        self._layout(event.size.width)

    def on_write_finished(self, _message) -> None:
        self.reload()

    # --- reading -------------------------------------------------------------------------------

    def _file_stamp(self):
        journal = self.journal
        try:
            st = journal.path.stat()
        except (AttributeError, OSError):
            return None
        return st.st_size, st.st_mtime_ns

    def _check(self) -> None:
        if self._file_stamp() != self._stamp:
            self.reload()

    def reload(self) -> None:
        journal = self.journal
        self._stamp = self._file_stamp()
        try:
            read = journal.read() if journal is not None else None
        except SolartuiError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            read = None
        entries = read.entries if read is not None else []
        note = read.note if read is not None else ""
        if note and note != self._note:
            self.notify(note, severity="warning", timeout=8)
        self._note = note
        serial = None if self.all_devices else self.serial
        self._rows = list(reversed(rows(entries, serial)))      # newest first
        self._fill()

    # --- showing -------------------------------------------------------------------------------

    def _layout(self, width: int) -> None:
        if self.fit.apply(self.query_one("#journal", DataTable), width):
            self._fill()

    def _fill(self) -> None:
        table = self.query_one("#journal", DataTable)
        if not table.columns:
            return
        row = table.cursor_row
        needle = self.query_one("#filter", Input).value.lower().strip()
        self.shown = [r for r in self._rows if not needle or needle in r.text()]
        table.clear()
        for r in self.shown:
            table.add_row(*cells(r, self.fit))
        if self.shown:
            table.move_cursor(row=min(row or 0, len(self.shown) - 1))
        self._status()
        self._detail()

    def _status(self) -> None:
        serial = self.serial
        whose = ("every device" if self.all_devices or serial is None
                 else f"device {serial} (a: every device)")
        path = getattr(self.journal, "path", "no journal")
        unknown = sum(1 for r in self._rows if r.outcome == INTERRUPTED)
        extra = (f" · {unknown} interrupted: outcome unknown" if unknown else "") + (
            f" · {self._note}" if self._note else "")
        self.query_one("#journal-status", Static).update(
            f"{len(self.shown)} of {len(self._rows)} entries · {whose} · {path}{extra}")

    @on(DataTable.RowHighlighted)
    def _detail(self, _event=None) -> None:
        table = self.query_one("#journal", DataTable)
        detail = self.query_one("#journal-detail", Static)
        if not self.shown or table.cursor_row is None or table.cursor_row >= len(self.shown):
            detail.update("no writes or clock sets yet" if not self._rows else "")
            return
        r = self.shown[table.cursor_row]
        parts = [f"{r.time} {r.what}: {_change(r)}, {r.outcome}",
                 f"{r.serial} {r.where}" + (f", from {r.origin}" if r.origin
                                            and f"from {r.origin}" not in r.where else "")]
        if r.raw:
            parts.append(f"sent {r.raw}")
        if r.detail:
            parts.append(r.detail)
        detail.update(Text(" · ".join(parts)))

    # --- actions -------------------------------------------------------------------------------

    def action_focus_filter(self) -> None:
        focus_now(self.query_one("#filter", Input))

    def action_back(self) -> None:
        """escape: clears the filter first, then goes back."""
        f = self.query_one("#filter", Input)
        if f.value or f.has_focus:
            f.value = ""
            focus_now(self.query_one("#journal", DataTable))
            return
        self.app.pop_screen()

    def action_toggle_all(self) -> None:
        self.all_devices = not self.all_devices
        self.reload()

    def action_reload(self) -> None:
        self.reload()

    @on(Input.Changed, "#filter")
    def _filter(self, _event) -> None:
        self._fill()

    @on(Input.Submitted, "#filter")
    def _filter_done(self, _event) -> None:
        focus_now(self.query_one("#journal", DataTable))

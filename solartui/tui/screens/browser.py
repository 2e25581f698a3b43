"""The register browser: any table, start address and count, in a chosen view.

Like the register views of Modbus Poll or QModMaster, but every read goes through the device's
link scheduler (paced, prioritised, counted and traced like everything else). A request is split
into reads of at most the map's max_read that do not cross its register blocks; a read the device
refuses shows the reason in the status line and leaves the rest of the table alone. Changing the
view re-renders the last words without asking the device again.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import (
    Button, Checkbox, DataTable, Input, Label, Select, Static,
)
from textual.worker import Worker, WorkerState

from solartui.errors import ConnectionFailed, DeviceException, LinkError, NoAnswer
from solartui.links.scheduler import PRIORITY_READ
from solartui.registers.formats import FORMATS, MISSING, format_words, is_wide, parse_int, read_chunks
from solartui.tui.chrome import Footer, Header
from solartui.tui.fit_table import FitColumns, set_cell

# (name, width, which drops first (0: never), room to grow): names and wide values take the room
COLUMNS = (("address", 7, 0), ("name", 30, 1, 20), ("raw", 6, 0), ("value", 20, 0, 30))

FUNCTIONS = {"holding": 3, "input": 4}
MAX_COUNT = 1000          # registers per request; split into reads of at most max_read each
DEFAULT_COUNT = 20
AUTO_GAP = 0.2            # seconds between auto-refresh reads on an unpaced link (the link paces the rest)


def reason(exc: LinkError) -> str:
    """A failed read in few words (the status line is one 80-column row)."""
    if isinstance(exc, DeviceException):
        name = DeviceException.NAMES.get(exc.code, "unknown exception")
        return f"exception {exc.code} ({name})"
    return str(exc)


@dataclass(frozen=True)
class ReadRequest:
    table: str
    start: int
    count: int

    @property
    def last(self) -> int:
        return self.start + self.count - 1

    def __str__(self) -> str:
        span = str(self.start) if self.count == 1 else f"{self.start}–{self.last}"
        return f"{self.table} {span}"


class RegistersRead(Message):
    """A browser request came back: words per register (None where the read failed)."""

    def __init__(self, seq: int, request: ReadRequest, words: list[int | None],
                 errors: list[tuple[int, int, str]], reads: int, seconds: float) -> None:
        super().__init__()
        self.seq = seq
        self.request = request
        self.words = words
        self.errors = errors          # (address, count, reason) per failed read
        self.reads = reads
        self.seconds = seconds


class BrowserScreen(Screen):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("r", "read", "Read"),
        Binding("a", "toggle_auto", "Auto"),
        Binding("w", "write", "Write"),
    ]

    def __init__(self, table: str = "holding", start: int = 0, count: int = DEFAULT_COUNT,
                 fmt: str = "u16", **kwargs) -> None:
        super().__init__(**kwargs)
        self._initial = ReadRequest(table, start, count)
        self.fmt = fmt
        self.request: ReadRequest | None = None      # the request the read / auto-refresh repeats
        self.shown: ReadRequest | None = None        # the request whose words the table shows
        self.words: list[int | None] = []            # the words shown (None: that read failed)
        self.auto = False
        self._seq = 0                                # the latest read started
        self._in_flight = False
        self._auto_timer = None
        self._write_worker: Worker | None = None
        self._rows: tuple[str, int, int] | None = None
        self._cells: dict[tuple[int, str], str] = {}
        self._names: dict[str, dict[int, str]] = {}

    # --- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="browser-controls"):
            with Vertical(classes="browser-field", id="browser-field-table"):
                yield Label("table")
                yield Select([("holding", "holding"), ("input", "input")],
                             value=self._initial.table, allow_blank=False, id="browser-table-kind")
            with Vertical(classes="browser-field", id="browser-field-start"):
                yield Label("start")
                yield Input(str(self._initial.start), placeholder="0", id="browser-start")
            with Vertical(classes="browser-field", id="browser-field-count"):
                yield Label("count")
                yield Input(str(self._initial.count), placeholder=str(DEFAULT_COUNT),
                            id="browser-count")
            with Vertical(classes="browser-field", id="browser-field-format"):
                yield Label("view")
                yield Select([(f, f) for f in FORMATS], value=self.fmt, allow_blank=False,
                             id="browser-format")
            yield Button("Read", id="browser-read", variant="primary")
            yield Checkbox("auto", id="browser-auto")
        yield Static("", id="browser-message")
        yield Static("press r (or Enter in a field) to read", id="browser-status")
        yield DataTable(id="browser-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.fit = FitColumns(COLUMNS)
        self.fit.apply(self.query_one(DataTable), self.app.size.width)

    def on_resize(self, event) -> None:
        """Wider: longer names and values show whole; the rows are made again for the columns."""
        fit = getattr(self, "fit", None)
        if fit is not None and fit.apply(self.query_one(DataTable), event.size.width):
            self._rows = None
            self.render_words()

    # --- input ---------------------------------------------------------------------------------

    def _set_message(self, text: str) -> None:
        msg = self.query_one("#browser-message", Static)
        msg.update(text)
        msg.set_class(bool(text), "-shown")

    def _set_status(self, text: str, error: bool = False) -> None:
        status = self.query_one("#browser-status", Static)
        status.update(text)
        status.set_class(error, "-error")

    def request_from_inputs(self) -> ReadRequest | None:
        """The request the controls describe, or None (with the reason shown under them)."""
        table = self.query_one("#browser-table-kind", Select).value
        try:
            start = parse_int(self.query_one("#browser-start", Input).value, 0, 0xFFFF, "address")
            count = parse_int(self.query_one("#browser-count", Input).value, 1, MAX_COUNT, "count")
            if start + count - 1 > 0xFFFF:
                raise ValueError(f"address {start} + count {count} runs past register 65535")
        except ValueError as exc:
            self._set_message(str(exc))
            return None
        self._set_message("")
        return ReadRequest(str(table), start, count)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_read()

    @on(Button.Pressed, "#browser-read")
    def _read_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_read()

    @on(Select.Changed, "#browser-format")
    def _format_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.value in FORMATS and event.value != self.fmt:
            self.fmt = str(event.value)
            self.render_words()

    @on(Checkbox.Changed, "#browser-auto")
    def _auto_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self.set_auto(event.value)

    # --- actions -------------------------------------------------------------------------------

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def action_read(self) -> None:
        request = self.request_from_inputs()
        if request is not None:
            self.request = request
            self.start_read(request)

    def action_toggle_auto(self) -> None:
        box = self.query_one("#browser-auto", Checkbox)
        box.value = not box.value          # Checkbox.Changed does the rest

    def set_auto(self, enabled: bool) -> None:
        """Auto-refresh: read the last request again each time the previous read comes back."""
        if enabled == self.auto:
            return
        self.auto = enabled
        if self._auto_timer is not None:
            self._auto_timer.stop()
            self._auto_timer = None
        if enabled:
            if self.request is None:
                self.request = self.request_from_inputs()
            if self.request is None:
                self.query_one("#browser-auto", Checkbox).value = False
                return
            if not self._in_flight:
                self.start_read(self.request)

    def action_write(self) -> None:
        if self.shown is None or not self.words:
            self.notify("read some registers first", severity="warning")
            return
        if self.shown.table != "holding":
            self.notify("input registers are read-only; writes go to holding registers",
                        severity="warning")
            return
        row = self.query_one(DataTable).cursor_row
        if not 0 <= row < len(self.words):
            return
        width = 1
        if is_wide(self.fmt) and row - row % 2 + 1 < len(self.words):
            row, width = row - row % 2, 2          # the pair the row belongs to
        words = self.words[row:row + width]
        if None in words:
            self.notify("that register was not read; read it before writing", severity="warning")
            return
        try:
            from solartui.tui.write_flow import start_raw_write
        except ImportError as exc:
            self.notify(f"writing is not available: {exc}", severity="error")
            return
        result = start_raw_write(self, self.shown.start + row, [int(w) for w in words])
        if inspect.isawaitable(result):
            result = self.run_worker(result, group="browser-write", exit_on_error=False)
        if isinstance(result, Worker):
            self._write_worker = result    # when it ends with an outcome, read the range again

    # --- reading -------------------------------------------------------------------------------

    def start_read(self, request: ReadRequest) -> None:
        """Read `request` in a worker (a newer read replaces one still waiting)."""
        if self.app.device is None:
            self._set_status("not connected: open a target first (ctrl+o)", error=True)
            return
        self._seq += 1
        self._in_flight = True
        if self.shown != request:
            self._set_status(f"reading {request}…")
        self._read(self._seq, request)

    @work(exclusive=True, group="browser-read", exit_on_error=False)
    async def _read(self, seq: int, request: ReadRequest) -> None:
        device = self.app.device
        started = time.monotonic()
        words: list[int | None] = [None] * request.count
        errors: list[tuple[int, int, str]] = []
        chunks = read_chunks(request.start, request.count, device.map.link.max_read,
                             device.map.blocks_for(request.table),
                             device.map.holes_for(request.table))
        function = FUNCTIONS[request.table]
        reads = 0
        for i, (address, count) in enumerate(chunks):
            try:
                reads += 1
                got = await device.link.read(function, device.unit, address, count, PRIORITY_READ)
            except LinkError as exc:
                errors.append((address, count, reason(exc)))
                if isinstance(exc, (NoAnswer, ConnectionFailed)):
                    # a silent device or a lost port: the other reads would only wait out timeouts
                    errors.extend((a, n, "not read") for a, n in chunks[i + 1:])
                    break
                continue
            offset = address - request.start
            got = list(got)[:count]
            words[offset:offset + len(got)] = got
        self.post_message(RegistersRead(seq, request, words, errors, reads,
                                        time.monotonic() - started))

    def on_registers_read(self, message: RegistersRead) -> None:
        message.stop()
        latest = message.seq == self._seq
        if latest:
            self._in_flight = False
        got_any = any(w is not None for w in message.words)
        if got_any:
            self.shown = message.request
            self.words = message.words
            self.render_words()
        if latest:
            self._set_status(self._describe(message, got_any), error=bool(message.errors))
            if self.auto:
                self._auto_timer = self.set_timer(AUTO_GAP, self._auto_tick)

    def _describe(self, message: RegistersRead, got_any: bool) -> str:
        req = message.request
        reads = f"{message.reads} read{'s' if message.reads != 1 else ''}"
        ms = f"{message.seconds * 1000:.0f} ms"
        auto = " · auto" if self.auto else ""
        if not message.errors:
            return f"{req} · {req.count} registers · {reads} · {ms}{auto}"
        address, count, why = message.errors[0]
        span = ReadRequest(req.table, address, count)
        more = f" (+{len(message.errors) - 1} more)" if len(message.errors) > 1 else ""
        if not got_any:
            kept = f" · still showing {self.shown}" if self.shown else ""
            return f"{req}: {why}{kept}{auto}"
        good = sum(w is not None for w in message.words)
        return f"{span}: {why}{more} · {good} of {req.count} read · {ms}{auto}"

    def _auto_tick(self) -> None:
        self._auto_timer = None
        if self.auto and self.request is not None and not self._in_flight:
            self.start_read(self.request)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # not stopped: the app's central handler still reports failures
        if event.worker is self._write_worker and event.state == WorkerState.SUCCESS:
            self._write_worker = None
            if event.worker.result is not None and self.request is not None and not self._in_flight:
                self.start_read(self.request)      # show what the device holds now
        if event.worker.group == "browser-read" and event.state == WorkerState.ERROR:
            self._in_flight = False
            self._set_status(f"read failed: {event.worker.error}", error=True)
            if self.auto:
                self.query_one("#browser-auto", Checkbox).value = False

    # --- showing -------------------------------------------------------------------------------

    def point_names(self, table: str) -> dict[int, str]:
        """Address -> the names of the map's points that start there, in that table."""
        names = self._names.get(table)
        if names is None:
            names = {}
            device = self.app.device
            for p in device.map.points if device is not None else ():
                if p.table == table:
                    names[p.address] = (f"{names[p.address]}, {p.name}" if p.address in names
                                        else p.name)
            self._names[table] = names
        return names

    def render_words(self) -> None:
        """Show self.words in the chosen view: new rows for a new range, else cells in place."""
        if self.shown is None:
            return
        req = self.shown
        table = self.query_one(DataTable)
        values = format_words(self.words, self.fmt)
        raws = [MISSING if w is None else f"0x{w:04X}" for w in self.words]
        key = (req.table, req.start, req.count)
        if self._rows != key:
            names = self.point_names(req.table)
            table.clear()
            self._cells.clear()
            for i in range(req.count):
                address = req.start + i
                row = self.fit.row({"address": str(address), "name": names.get(address, ""),
                                    "raw": raws[i], "value": values[i]})
                table.add_row(*row, key=str(address))
                self._cells[(address, "raw")] = raws[i]
                self._cells[(address, "value")] = values[i]
            self._rows = key
            return
        for i in range(req.count):
            address = req.start + i
            for column, text in (("raw", raws[i]), ("value", values[i])):
                if self._cells.get((address, column)) != text:
                    set_cell(table, self.fit, str(address), column, text)
                    self._cells[(address, column)] = text

    def on_unmount(self) -> None:
        self.auto = False
        if self._auto_timer is not None:
            self._auto_timer.stop()

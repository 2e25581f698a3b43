"""ServerScreen: the embedded Growatt server ("Shine") and the dataloggers connected to it.

Top: where it listens (host, port) and Start/Stop. Then every datalogger and the inverters behind
it (address, protocol, last seen, records). Tabs for the selected one: Values (the latest data
record, decoded with units, buffered records marked), Datalogger registers (read all / read one /
write one), Inverter registers (the map's holding points through the datalogger, or a raw
register: read, write in engineering units), Clock (its last clock value, the zone a sync sends,
sync) and the server's Command log with outcomes.

The screen holds no protocol state: it shows what the ShineServer knows. A server listener
(called on the event loop after every change) only marks what changed and posts one
ServerChanged; the handler redraws. Reads run in workers; writes are in server_writes (the
datalogger's registers through shine_flow, the inverter's through the one write gate); a failure
raises a SolartuiError that the app's central handler notifies.
"""

from __future__ import annotations


from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import (
    Button,
    DataTable,
    Input,
    Label,
    RichLog,
    Static,
    TabbedContent,
    TabPane,
)
from textual.worker import Worker, WorkerState

from solartui.errors import ValueRejected
from solartui.tui import shine_flow
from solartui.tui.screens import server_reads as reads
from solartui.tui.screens.server_writes import ServerWrites
from solartui.tui.screens import server_tables as T
from solartui.layout_width import fit_text
from solartui.tui.chrome import Footer, Header
from solartui.tui.fit_table import FitColumns
from solartui.tui.focus import focus_now

DEFAULT_HOST = "0.0.0.0"
DEFAULT_PORT = 5781
TABS = ("tab-values", "tab-logger", "tab-inverter", "tab-clock", "tab-log")
#: columns left of the status: the label, host and port fields and the button
STATUS_BESIDE = 50


def plural(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


#: the keys of the pane, the most needed first kept when narrow (the footer has the rest too)
HELP = (("1-5 tabs", 0), ("o start/stop", 4), ("a read all", 3), ("r read", 3),
        ("enter/w write", 2), ("s sync clock", 1), ("f2 the inverter's live screen", 0),
        ("esc back", 5))


class ServerChanged(Message):
    """The server reported changes (coalesced: one message for a burst of events)."""


class PaneNote(Message):
    """A read or start/stop finished: one line for the status bar (`raw`: a raw register read,
    shown next to the raw register field too)."""

    def __init__(self, text: str, raw: bool = False) -> None:
        super().__init__()
        self.text = text
        self.raw = raw


class ServerScreen(ServerWrites, Screen):
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("o", "toggle_server", "Start/stop"),
        Binding("a", "read_all", "Read all"),
        Binding("r", "read_selected", "Read"),
        Binding("w", "write_selected", "Write"),
        Binding("s", "sync_clock", "Sync clock"),
        Binding("f2", "live", "Live"),
        *(Binding(str(i + 1), f"tab('{t}')", show=False) for i, t in enumerate(TABS)),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.logger_serial: str | None = None
        self.inverter_serial: str | None = None
        self._dirty = False
        self._caches: dict[str, dict] = {}
        self._fits: dict[str, FitColumns] = {}      # table id -> its columns for the width
        self._log_last = None               # the newest CommandEntry shown in the log

    @property
    def server(self):
        return self.app.shine_server

    # --- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="server-bar"):
            yield Label("listen on", id="listen-label")
            yield Input(DEFAULT_HOST, placeholder="host", id="host")
            yield Input(str(DEFAULT_PORT), placeholder="port", id="port", restrict=r"\d*",
                        max_length=5)
            yield Button("Start", variant="success", id="toggle")
            yield Static("", id="server-status", markup=False)
        yield DataTable(id="devices", cursor_type="row", zebra_stripes=True)
        with TabbedContent(id="tabs", initial="tab-values"):
            with TabPane("Values", id="tab-values"):
                yield Static("", id="values-head")
                yield DataTable(id="values", cursor_type="row", zebra_stripes=True)
            with TabPane("Datalogger registers", id="tab-logger"):
                yield Static("a reads all · r reads the selected register · enter or w writes it",
                             id="logger-head", classes="hint", markup=False)
                yield DataTable(id="logger-regs", cursor_type="row", zebra_stripes=True)
            with TabPane("Inverter registers", id="tab-inverter"):
                with Horizontal(id="inv-raw-bar"):
                    yield Input(placeholder="raw reg no.", id="inv-reg", restrict=r"\d*",
                                max_length=4)
                    yield Button("Read", id="inv-read")
                    yield Button("Write", variant="warning", id="inv-write")
                    yield Static("r reads the selected point · enter or w writes it · a reads "
                                 "all", id="inv-raw-result", markup=False)
                yield DataTable(id="inv-regs", cursor_type="row", zebra_stripes=True)
            with TabPane("Clock", id="tab-clock"):
                with Vertical(id="clock-rows"):
                    for key, label in (("clk-logger", "datalogger clock"),
                                       ("clk-host", "host time now"),
                                       ("clk-zone", "zone a sync sends"),
                                       ("clk-sent", "last sync")):
                        with Horizontal(classes="row"):
                            yield Static(label, classes="label", markup=False)
                            yield Static("", id=key, classes="value", markup=False)
                    with Horizontal(id="clock-buttons"):
                        yield Button("Read clock", id="clock-read")
                        yield Button("Sync clock", variant="warning", id="clock-sync")
            with TabPane("Command log", id="tab-log"):
                yield RichLog(id="command-log", max_lines=500, wrap=False, markup=False,
                              highlight=False, auto_scroll=True)
        yield Static(fit_text(HELP, 78), id="pane-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        for ident, columns in (("devices", T.DEVICE_COLUMNS), ("values", T.VALUE_COLUMNS),
                               ("logger-regs", T.LOGGER_COLUMNS),
                               ("inv-regs", T.INVERTER_COLUMNS)):
            self._fits[ident] = FitColumns(columns)
            self._fits[ident].apply(self.query_one(f"#{ident}", DataTable), self.app.size.width)
            self._caches[ident] = {}
        self.points = T.holding_points(self.server.map)
        self.server.subscribe(self._on_server_event)
        self.set_interval(1.0, self._tick)
        focus_now(self.query_one("#devices", DataTable))
        self.redraw()

    def on_unmount(self) -> None:
        self.server.unsubscribe(self._on_server_event)

    def on_resize(self, event) -> None:
        """Columns chosen again for the new width; the tables are filled again."""
        if not self._fits:                              # before on_mount made the tables
            return
        for ident, fit in self._fits.items():
            if fit.apply(self.query_one(f"#{ident}", DataTable), event.size.width):
                self._caches[ident].clear()
        self.redraw()                                   # the tables and the fitted lines
        if getattr(self, "_pane_is_help", True):
            self.query_one("#pane-status", Static).update(fit_text(HELP, event.size.width - 2))
        self.call_after_refresh(self._redraw_bar)      # the status's width is known then

    # --- server events -> redraw ---------------------------------------------------------------

    def _on_server_event(self, kind: str, serial: str | None) -> None:
        """Called by the server on the event loop, from its own tasks: mark and post, no more."""
        if not self._dirty:
            self._dirty = True
            self.post_message(ServerChanged())

    def on_server_changed(self, message: ServerChanged) -> None:
        self._dirty = False
        self.redraw()

    def _tick(self) -> None:
        """Once a second: the "ago" ages and the host time (no protocol work)."""
        self._redraw_devices()
        self.query_one("#clk-host", Static).update(
            f"{shine_flow.clock_preview(self.server)}")

    def redraw(self) -> None:
        self._redraw_bar()
        self._redraw_devices()
        self._redraw_values()
        self._redraw_logger()
        self._redraw_inverter()
        self._redraw_clock()
        self._redraw_log()

    def _redraw_bar(self) -> None:
        s = self.server
        running = s.running
        button = self.query_one("#toggle", Button)
        button.label = "Stop" if running else "Start"
        button.variant = "error" if running else "success"
        for ident in ("#host", "#port"):
            self.query_one(ident, Input).disabled = running
        if running:
            self.query_one("#host", Input).value = s.host or ""
            self.query_one("#port", Input).value = str(s.port)
            inverters = sum(len(lg.inverters) for lg in s.loggers.values())
            c = s.counters
            room = self._status_width()
            # two lines of whole words, the least needed dropped when narrow
            # the host is in the field beside it: a narrow status names the port only
            listen = (f"listening on {s.host}:{s.port}" if room >= 40
                      else f"listening on port {s.port}")
            text = (fit_text([(listen, 0), (f"{c['records']} records", 1),
                              (f"{len(s.commands)} commands", 2)], room) + "\n"
                    + fit_text([(plural(len(s.loggers), "datalogger"), 0),
                                (plural(inverters, "inverter"), 0)], room))
            refused = T.refusals_pieces(s)
            if refused:                 # refusals and drops: a third line, never cut away
                text += "\n" + fit_text(refused, room, shorten=False)
        else:
            text = "stopped — dataloggers cannot connect (o or Start listens)"
        status = self.query_one("#server-status", Static)
        status.update(text)
        status.set_class(not running, "stopped")

    def _status_width(self) -> int:
        """Columns the status beside the listen fields has (its padding taken off)."""
        status = self.query_one("#server-status", Static)
        return max(12, (status.size.width or self.app.size.width - STATUS_BESIDE) - 2)

    def _redraw_devices(self) -> None:
        table = self.query_one("#devices", DataTable)
        T.sync_table(table, T.device_rows(self.server), self._caches["devices"],
                     self._fits["devices"])
        self._check_selection()

    def _check_selection(self) -> None:
        """Keep the selection on something that exists; pick the first datalogger otherwise."""
        loggers = self.server.loggers
        if self.logger_serial not in loggers:
            self.logger_serial = next(iter(sorted(loggers)), None)
            self.inverter_serial = None
        lg = loggers.get(self.logger_serial) if self.logger_serial else None
        if lg is None:
            self.inverter_serial = None
        elif self.inverter_serial not in lg.inverters:
            self.inverter_serial = next(iter(sorted(lg.inverters)), None)

    def _inverter(self):
        lg = self.server.loggers.get(self.logger_serial or "")
        return lg.inverters.get(self.inverter_serial or "") if lg else None

    def _redraw_values(self) -> None:
        inv = self._inverter()
        latest = inv.latest if inv else None
        self.query_one("#values-head", Static).update(T.values_head(self.inverter_serial, latest,
                                                                      self.app.size.width - 2))
        T.sync_table(self.query_one("#values", DataTable), T.value_rows(latest),
                     self._caches["values"], self._fits["values"])

    def _redraw_logger(self) -> None:
        lg = self.server.loggers.get(self.logger_serial or "")
        T.sync_table(self.query_one("#logger-regs", DataTable),
                     T.logger_rows(lg.registers) if lg else [], self._caches["logger-regs"],
                     self._fits["logger-regs"])

    def _redraw_inverter(self) -> None:
        inv = self._inverter()
        T.sync_table(self.query_one("#inv-regs", DataTable),
                     T.inverter_rows(self.points, inv.holding) if inv else [],
                     self._caches["inv-regs"], self._fits["inv-regs"])

    def _redraw_clock(self) -> None:
        lg = self.server.loggers.get(self.logger_serial or "")
        clock = lg.registers.get(shine_flow.CLOCK_REGISTER) if lg else None
        self.query_one("#clk-logger", Static).update(
            "no datalogger selected" if lg is None else
            f"{clock.decode('latin-1')} (last known; r reads it again)" if clock else
            "not read yet (r reads register 31)")
        self.query_one("#clk-host", Static).update(shine_flow.clock_preview(self.server))
        self.query_one("#clk-zone", Static).update(self.server.zone_description())
        self.query_one("#clk-sent", Static).update(
            "—" if lg is None else f"{lg.clock_sent or 'nothing sent'} · {lg.clock_status}")

    def _redraw_log(self) -> None:
        entries = list(self.server.commands)
        new = []
        for entry in reversed(entries):
            if entry is self._log_last:
                break
            new.append(entry)
        log = self.query_one("#command-log", RichLog)
        for entry in reversed(new):
            log.write(T.log_line(entry))
        if entries:
            self._log_last = entries[-1]

    # --- selection -----------------------------------------------------------------------------

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id != "devices" or event.row_key is None:
            return
        key = str(event.row_key.value)
        kind, serial = key.split(":", 1)
        if kind == "L":
            if serial != self.logger_serial:
                self.logger_serial, self.inverter_serial = serial, None
        else:
            try:
                lg, _ = self.server.find_inverter(serial)
            except Exception:   # noqa: BLE001 - gone meanwhile: the next redraw fixes the row
                return
            self.logger_serial, self.inverter_serial = lg.serial, serial
        self._check_selection()
        self._redraw_values()
        self._redraw_logger()
        self._redraw_inverter()
        self._redraw_clock()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        ident = event.data_table.id
        if ident == "devices":
            self.query_one("#tabs", TabbedContent).active = "tab-values"
        elif ident in ("logger-regs", "inv-regs"):
            self.action_write_selected()

    def _selected_key(self, ident: str) -> str | None:
        table = self.query_one(f"#{ident}", DataTable)
        if not table.row_count:
            return None
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    def _need_logger(self) -> str | None:
        if not self.server.running:
            self.notify("the server is not running: start it first (o)", severity="warning")
            return None
        if self.logger_serial is None:
            self.notify("no datalogger connected yet", severity="warning")
        return self.logger_serial

    def _need_inverter(self) -> str | None:
        if self._need_logger() is None:
            return None
        if self.inverter_serial is None:
            self.notify("no inverter behind this datalogger yet", severity="warning")
        return self.inverter_serial

    # --- actions -------------------------------------------------------------------------------

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def action_tab(self, tab: str) -> None:
        self.query_one("#tabs", TabbedContent).active = tab
        target = {"tab-values": "#values", "tab-logger": "#logger-regs",
                  "tab-inverter": "#inv-regs", "tab-log": "#command-log"}.get(tab)
        if target is not None:
            focus_now(self.query_one(target))

    @property
    def active_tab(self) -> str:
        return self.query_one("#tabs", TabbedContent).active

    def action_toggle_server(self) -> None:
        self.run_worker(self._toggle(), name="shine server", group="shine-server",
                        exclusive=True, exit_on_error=False)

    async def _toggle(self) -> None:
        server = self.server
        if server.running:
            await server.stop()
            self.post_message(PaneNote("server stopped; dataloggers were disconnected"))
            return
        host = self.query_one("#host", Input).value.strip() or DEFAULT_HOST
        text = self.query_one("#port", Input).value.strip()
        if not text.isdigit() or not 0 <= int(text) <= 65535:
            raise ValueRejected(f"port {text!r} is not 0..65535 (dataloggers use 5781)")
        port = await server.start(host, int(text))
        self.post_message(PaneNote(f"listening for dataloggers on {host}:{port}"))

    def _read(self, coro, what: str, raw: bool = False) -> None:
        self._status(f"{what}…")

        async def run() -> None:
            self.post_message(PaneNote(await coro, raw))

        self.run_worker(run(), name=what, group="shine-read", exit_on_error=False)

    def action_read_all(self) -> None:
        if self.active_tab == "tab-inverter":
            inverter = self._need_inverter()
            if inverter:
                self._read(reads.holding_all(self.server, inverter),
                           f"reading the holding registers of {inverter}")
            return
        serial = self._need_logger()
        if serial:
            self._read(reads.logger_all(self.server, serial), f"reading the registers of {serial}")

    def action_read_selected(self) -> None:
        tab = self.active_tab
        if tab == "tab-inverter":
            name = self._selected_key("inv-regs")
            inverter = self._need_inverter()
            if inverter and name:
                p = self.server.map.point(name)
                self._read(reads.holding(self.server, inverter, p.address, p.end, name),
                           f"reading {name} from {inverter}")
        elif tab in ("tab-logger", "tab-clock"):
            number = (shine_flow.CLOCK_REGISTER if tab == "tab-clock"
                      else int(self._selected_key("logger-regs") or shine_flow.CLOCK_REGISTER))
            serial = self._need_logger()
            if serial:
                self._read(reads.logger_one(self.server, serial, number),
                           f"reading register {number} of {serial}")
        else:
            self.action_read_all()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        ident = event.button.id
        event.stop()
        if ident == "toggle":
            self.action_toggle_server()
        elif ident == "clock-read":
            serial = self._need_logger()
            if serial:
                self._read(reads.logger_one(self.server, serial, shine_flow.CLOCK_REGISTER),
                           f"reading the clock of {serial}")
        elif ident == "clock-sync":
            self.action_sync_clock()
        elif ident in ("inv-read", "inv-write"):
            inverter = self._need_inverter()
            register = self._raw_register() if inverter else None
            if register is None:
                return
            if ident == "inv-read":
                self._read(reads.holding(self.server, inverter, register, register,
                                         f"holding {register}"),
                           f"reading holding {register} from {inverter}", raw=True)
            else:
                self._write_raw(inverter, register)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id in ("host", "port"):
            self.action_toggle_server()
        elif event.input.id == "inv-reg":
            self.query_one("#inv-read", Button).press()

    # --- outcomes ------------------------------------------------------------------------------

    def _status(self, text: str, bad: bool = False) -> None:
        self._pane_is_help = False
        status = self.query_one("#pane-status", Static)
        status.update(text)
        status.set_class(bad, "bad")

    def on_pane_note(self, message: PaneNote) -> None:
        self._status(message.text)
        if message.raw:
            self.query_one("#inv-raw-result", Static).update(message.text)
        self.redraw()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self._status(f"{event.worker.name}: failed — {event.worker.error}", bad=True)
            self.redraw()
            # Worker.StateChanged does not bubble: hand the failure to the app's central handler
            self.app.on_worker_state_changed(event)

"""The Discover screen: the start screen without a target. Each scan runs in its own worker with
a progress bar and ETA, results appear as they are found, any scan can be cancelled, and choosing
a result connects (an unknown Modbus device opens in the register browser)."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import (
    Button, Checkbox, DataTable, Input, Label, ProgressBar, Static,
)

from solartui.discovery.results import Found, Progress
from solartui.errors import SolartuiError
from solartui.layout_width import elide_middle
from solartui.tui.chrome import Footer, Header
from solartui.tui.fit_table import FitColumns
from solartui.tui.focus import focus_now

# (name, width, which drops first when narrow (0: never), room to grow): who the device is and
# where it answered come first; the map it matched joins when there is room
COLUMNS = (("device", 40, 0, 60), ("link", 30, 1, 20), ("map", 20, 2))

GENERIC_MAP = "modbus-generic"


class FoundMessage(Message):
    def __init__(self, found: Found) -> None:
        super().__init__()
        self.found = found


class ScanRow(Horizontal):
    """One running scan: what, a progress bar, ETA, and a cancel button."""

    def __init__(self, label: str, key: str) -> None:
        super().__init__(id=f"scan-{key}", classes="scan-row")
        self.label = label
        self.key = key

    def compose(self) -> ComposeResult:
        yield Label(self.label, classes="scan-label")
        yield ProgressBar(total=None, show_eta=False, classes="scan-bar")
        yield Static("", classes="scan-note")
        yield Button("Cancel", classes="scan-cancel", compact=True)

    def show(self, p: Progress) -> None:
        self.query_one(ProgressBar).update(total=p.total, progress=p.done)
        eta = p.eta
        eta_text = f"ETA {eta:.0f} s" if eta is not None else ""
        self.query_one(".scan-note", Static).update(f"{p.note}  {eta_text}".strip())


class DiscoverScreen(Screen):
    BINDINGS = [("s", "scan_serial", "Serial"), ("u", "scan_usb", "USB"),
                ("n", "scan_net", "Network"), ("escape", "cancel_all", "Cancel scans")]

    def __init__(self) -> None:
        super().__init__()
        self._found: dict[str, Found] = {}
        self._keys = 0

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="discover-form"):
            with Horizontal(id="discover-buttons"):
                yield Button("Serial ports", id="serial", variant="primary", compact=True)
                yield Button("USB", id="usb", compact=True)
                yield Button("Network", id="net", compact=True)
                yield Checkbox("find all units", id="all", compact=True)
            # its own line: beside the buttons it shrank to "CIDR," at 80 columns
            yield Input(placeholder="network to scan, CIDR, e.g. 192.168.1.0/24 (empty: own "
                        "subnets)", id="cidr", compact=True)
            yield Input(placeholder="serial device to probe besides the listed ones, e.g. /dev/ttyUSB1",
                        id="port", compact=True)
        yield Vertical(id="scans")
        yield DataTable(id="found", cursor_type="row")
        yield Static("Enter connects to the selected device · ctrl+o types a target by hand",
                     id="discover-help")
        yield Footer()

    def on_mount(self) -> None:
        self.fit = FitColumns(COLUMNS)
        self.fit.apply(self.query_one("#found", DataTable), self.app.size.width)
        focus_now(self.query_one("#serial", Button))

    def on_resize(self, event) -> None:
        fit = getattr(self, "fit", None)
        if fit is not None and fit.apply(self.query_one("#found", DataTable), event.size.width):
            for key, f in self._found.items():
                self._add_found_row(key, f)

    # --- starting scans ------------------------------------------------------------------------

    def _row(self, label: str) -> ScanRow:
        self._keys += 1
        row = ScanRow(label, str(self._keys))
        self.query_one("#scans", Vertical).mount(row)
        return row

    @on(Button.Pressed, "#serial")
    def action_scan_serial(self) -> None:
        from solartui.discovery.rtu_probe import probe_port
        from solartui.discovery.serial_ports import list_serial_ports
        paths = [p.device for p in list_serial_ports()]
        extra = self.query_one("#port", Input).value.strip()
        if extra and extra not in paths:
            paths.insert(0, extra)
        busy = self._port_in_use()
        if busy in paths:               # two readers on one port would split its bytes
            paths.remove(busy)
            self.notify(f"{busy} is skipped: the connected device uses it", severity="warning")
        if not paths:
            self.notify("no serial port found: plug in the adapter, or type a device path",
                        severity="warning")
            return
        find_all = self.query_one("#all", Checkbox).value
        for path in paths:
            self._start(path, lambda f, p, path=path: probe_port(path, find_all=find_all,
                                                                  on_found=f, on_progress=p))

    def _port_in_use(self) -> str | None:
        dev = self.app.device
        if dev is not None and getattr(dev.link, "target", None) is not None \
                and dev.link.target.scheme in ("rtu", "pi30"):
            return dev.link.target.path
        return None

    @on(Button.Pressed, "#usb")
    def action_scan_usb(self) -> None:
        from solartui.discovery.pi30_identify import pi30_identifier
        from solartui.discovery.usb import scan_usb
        self._start("USB", lambda f, p: scan_usb(on_found=f, on_progress=p,
                                                 identify_pi30=pi30_identifier()))

    @on(Button.Pressed, "#net")
    @on(Input.Submitted, "#cidr")
    def action_scan_net(self) -> None:
        from solartui.discovery.network import local_subnets, parse_cidr, scan_network
        text = self.query_one("#cidr", Input).value.strip()
        try:
            nets = [parse_cidr(text)] if text else local_subnets()
        except SolartuiError as exc:
            self.notify(str(exc), severity="error")
            return
        if not nets:
            self.notify("no IPv4 subnet besides loopback: type a CIDR", severity="warning")
            return
        for net in nets:
            self._start(str(net), lambda f, p, net=net: scan_network(net, on_found=f,
                                                                     on_progress=p))

    def _start(self, label: str, factory) -> None:
        row = self._row(label)
        worker = self._scan(row, factory)
        row.worker = worker

    @work(exit_on_error=False, group="scan")
    async def _scan(self, row: ScanRow, factory) -> None:
        try:
            await factory(lambda f: self.post_message(FoundMessage(f)), row.show)
            self.notify(f"{row.label}: scan finished")
        finally:
            row.remove()

    @on(Button.Pressed, ".scan-cancel")
    def _cancel(self, event: Button.Pressed) -> None:
        row = event.button.parent
        if isinstance(row, ScanRow):
            row.worker.cancel()
            self.notify(f"{row.label}: scan cancelled")

    def action_cancel_all(self) -> None:
        for row in self.query(ScanRow):
            row.worker.cancel()

    # --- results -------------------------------------------------------------------------------

    def on_found_message(self, message: FoundMessage) -> None:
        f = message.found
        key = f"{f.kind}:{f.target or f.link}"
        if key in self._found:
            return
        self._found[key] = f
        self._add_found_row(key, f)

    def _add_found_row(self, key: str, f: Found) -> None:
        """The title without the link when the link has its column; a long one is shortened in
        the middle so its end (model, firmware) stays in view."""
        width = dict(self.fit.layout).get("device", 40)
        title = f.title()
        if self.fit.shows("link"):
            title = title.replace(f" at {f.link}", "", 1)
        self.query_one("#found", DataTable).add_row(*self.fit.row({
            "device": elide_middle(title, width), "link": f.link, "map": f.map_id or "—"}),
            key=key)

    @on(DataTable.RowSelected, "#found")
    def _choose(self, event: DataTable.RowSelected) -> None:
        f = self._found.get(event.row_key.value)
        if f is None:
            return
        if not f.target:
            self.notify(f"{f.title()}: nothing to open yet", severity="warning")
            return
        if f.kind == "usb":                  # PI30: the command map (QPI decides on connect)
            self.app.connect(f.target, f.map_id)
            return
        if not f.target.startswith(("tcp://", "rtu://", "givenergy://", "solarman://")):
            self.notify(f"{f.target}: this kind of device is not supported yet", severity="warning")
            return
        self.app.connect(f.target, f.map_id or GENERIC_MAP, browse=f.map_id is None)

"""The Textual application: connects a Session to screens; holds no protocol state of its own.

Work happens in workers (`exit_on_error=False`); a failed worker ends in one notification from
the central handler below, never in a crash. The header's subtitle names the connected device.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Iterable

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from solartui.errors import SolartuiError, said_in_tui
from solartui.journal import Journal
from solartui.links.target import parse_target
from solartui.session import Session
from solartui.settings import load_settings, save_settings
from solartui.traffic import TrafficLog
from solartui.tui.screens.dialog import mark_input_fence, stale_bubbled, stale_input
from solartui.tui.focus import keep_typed


#: recent targets offered in the command palette
RECENT_IN_PALETTE = 5
#: how long the "report written" notice stays (until clicked away, in practice)
REPORT_NOTICE_S = 24 * 3600


class SolartuiApp(App):
    CSS_PATH = "styles/app.tcss"
    TITLE = "solartui"
    BINDINGS = [
        ("f2", "show_live", "Live"),
        ("f3", "show_browser", "Registers"),
        ("f4", "show_clock", "Clock"),
        ("f5", "show_server", "Server"),
        ("f6", "write_report", "Report"),
        ("f7", "show_journal", "Journal"),
        ("f8", "show_checks", "Checks"),
        ("ctrl+t", "show_traffic", "Traffic"),
        ("ctrl+o", "show_connect", "Connect"),
        ("ctrl+d", "show_discover", "Discover"),
        ("ctrl+q", "quit", "Quit"),
        ("f1", "help", "Help"),
        Binding("question_mark", "help", "Help", show=False),
    ]

    def __init__(self, target: str | None = None, map_name: str | None = None, *,
                 demo: bool = False, session: Session | None = None, shine_server=None):
        super().__init__()
        self.session = session or Session(Journal(), TrafficLog())
        if self.session.traffic is None:
            self.session.traffic = TrafficLog()
        self.start_target = target
        self.session_started = datetime.now().astimezone()    # the report's "this session"
        self.start_map = map_name
        self.demo = demo
        self.demo_rig = None
        self.demo_targets: list[str] = []
        if demo:                    # made now, started by start_demo: its server is ours at once
            from solartui.sim.demo_rig import DemoRig
            self.demo_rig = DemoRig(journal=self.session.journal)
        self._shine_server = shine_server
        self.last_report = None          # (Markdown path, HTML path) of the last f6 report
        self.settings = load_settings()
        if self.settings.theme and self.settings.theme in self.available_themes:
            self.theme = self.settings.theme

    # --- state ---------------------------------------------------------------------------------

    @property
    def device(self):
        return self.session.device

    @property
    def shine_server(self):
        """The embedded Growatt server (the demo's in demo mode); made, not started, on first use.

        Writes through it are journalled in the session's journal."""
        if self._shine_server is None:
            if self.demo_rig is not None:
                self._shine_server = self.demo_rig.shine_server
            else:
                from solartui.shine.server import ShineServer
                self._shine_server = ShineServer(journal=self.session.journal)
        return self._shine_server

    @shine_server.setter
    def shine_server(self, server) -> None:
        self._shine_server = server

    def describe_device(self) -> str:
        return " · ".join(text for text, _priority in self.describe_device_parts())

    def describe_device_parts(self) -> list[tuple[str, int]]:
        """The subtitle's parts with how much each is needed (0 most): the header keeps the
        vendor, serial, model and link at 80 columns and drops the pacing and firmware first."""
        dev = self.device
        if dev is None:
            return [("not connected", 0)]
        if getattr(dev, "listen_only", False):      # nothing to identify: the map and the port
            return [(str(dev.map.vendor), 3), (dev.map.name, 0), (dev.link.description, 2),
                    ("listen-only", 1)]
        ident = dev.identity.values if dev.identity else {}
        where = dev.link.description + (f" unit {dev.unit}" if dev.unit is not None else "")
        firmware, model = ident.get("firmware"), ident.get("model")
        if "arm_firmware" in ident:                 # GivEnergy: DSP and ARM, type code in HR0
            from solartui.givenergy.models import firmware_and_model
            firmware, model = firmware_and_model(ident)
        return [(str(dev.map.vendor), 3), (str(ident.get("serial", "serial ?")), 0),
                (f"fw {firmware or '?'}", 4), (f"model {model or '?'}", 1), (where, 2),
                (f"{dev.link.min_period * 1000:.0f} ms pacing", 5)]

    # --- start-up ------------------------------------------------------------------------------

    def on_mount(self) -> None:
        if self.demo:
            self.start_demo()
        elif self.start_target or self.device is not None:
            if self.device is not None:
                self.show_connected()
            else:
                self.connect(self.start_target, self.start_map)
        else:
            self.action_show_discover()

    @work(exclusive=True, group="connect", exit_on_error=False)
    async def start_demo(self) -> None:
        self.notify("starting simulated inverters and a datalogger…")
        targets = await self.demo_rig.start()
        self.demo_targets = targets
        await self._connect(targets[0], "growatt-protocol-ii", remember=False)

    @work(exclusive=True, group="connect", exit_on_error=False)
    async def connect(self, target: str, map_name: str | None = None, browse: bool = False) -> None:
        await self._connect(target, map_name)
        if browse:                      # an unknown device: its registers are all there is
            self.action_show_browser()

    async def _connect(self, target: str, map_name: str | None, remember: bool = True) -> None:
        """The device connected now stays connected, and its screens live, until the new target
        has been identified; a failure (one notification, from the central handler) changes
        nothing else."""
        self.sub_title = f"connecting to {target}…"
        try:
            dev = await self.session.open(target, map_name)
        except (SolartuiError, asyncio.CancelledError) as exc:
            self.sub_title = self.describe_device()
            if isinstance(exc, SolartuiError):
                self._connect_failed(target, exc)
            raise
        if self.session.device is not None:     # the old device's screens stop polling first
            while len(self.screen_stack) > 1:
                await self.pop_screen()
            await self.push_screen(Screen())
        await self.session.adopt(dev)
        # only a real device that answered: the demo's ptys and ports are dead on the next run
        answered = dev.identity is not None and bool(dev.identity.values)
        if remember and answered and self.settings.remember(target, self.is_demo_target(target)):
            save_settings(self.settings)
        self.show_connected()

    def is_demo_target(self, target: str) -> bool:
        """One of the demo's simulators, however the URL is spelled (same port or endpoint)."""
        keys = {parse_target(t).link_key for t in self.demo_targets}
        return parse_target(target).link_key in keys

    def _connect_failed(self, target: str, exc: SolartuiError) -> None:
        from solartui.tui.screens.connect import ConnectScreen
        if isinstance(self.screen, ConnectScreen):
            self.screen.failed(target, exc)

    def show_connected(self) -> None:
        self.sub_title = self.describe_device()
        mark_input_fence(self)          # keys typed at the connect screen stay there
        kind = getattr(self.device, "kind", "")
        if kind == "pi30":
            from solartui.tui.screens.pi30_live import Pi30LiveScreen
            self.switch_to(Pi30LiveScreen())
        elif kind == "broadcast":
            from solartui.tui.screens.broadcast_live import BroadcastLiveScreen
            self.switch_to(BroadcastLiveScreen())
        else:
            from solartui.tui.screens.live import LiveScreen
            self.switch_to(LiveScreen())

    def switch_to(self, screen: Screen) -> None:
        """Make `screen` the base screen (closing anything stacked above it)."""
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(screen)

    # --- actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters) -> bool | None:
        """No navigation while a dialog (edit, confirm) waits for an answer."""
        if action.startswith("show_") and isinstance(self.screen, ModalScreen):
            return False
        return True

    def _need_device(self) -> bool:
        if self.device is None:
            self.notify("not connected: open a target first (ctrl+o)", severity="warning")
            return False
        return True

    def _need_asking(self, what: str) -> bool:
        """A device that answers (not a listen-only one, which only broadcasts its page)."""
        if not self._need_device():
            return False
        if getattr(self.device, "listen_only", False):
            why = self.device.listen_only_reason.replace("nothing can be written to it",
                                                         "it cannot be asked anything")
            self.notify(f"{what}: {why}", severity="warning")
            return False
        return True

    def action_help(self) -> None:
        """f1 or ?: every key of the screen underneath and of the app (the footer at 80 columns
        shows only the essential ones)."""
        from solartui.tui.screens.help import HelpScreen
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen))

    def action_show_connect(self) -> None:
        from solartui.tui.screens.connect import ConnectScreen
        self.push_screen(ConnectScreen())

    def action_show_discover(self) -> None:
        from solartui.tui.screens.discover import DiscoverScreen
        self.push_screen(DiscoverScreen())

    def action_show_live(self) -> None:
        if self._need_device():
            self.show_connected()

    def action_show_browser(self) -> None:
        from solartui.tui.screens.browser import BrowserScreen
        if not self._need_asking("no registers to browse"):
            return
        if getattr(self.device, "kind", "") == "pi30":
            self.notify("a PI30 inverter has no registers: its queries and settings are on "
                        "the live screen (f2)", severity="warning")
            return
        self.push_screen(BrowserScreen())

    def action_show_clock(self) -> None:
        from solartui.tui.screens.clock import ClockScreen
        if self._need_asking("no clock"):
            self.push_screen(ClockScreen())

    def action_run_action(self) -> None:
        from solartui.tui.write_flow import start_action
        if self._need_asking("no actions"):
            start_action(self.screen)

    async def action_quit(self) -> None:
        """ctrl+q: at once when nothing is going on; otherwise ask, saying what would be cut short."""
        from solartui.tui.screens.quit import QuitScreen, what_quitting_stops
        going_on = what_quitting_stops(self)
        if not going_on:
            self.exit()
            return
        if isinstance(self.screen, QuitScreen):
            return
        self.push_screen(QuitScreen(going_on), lambda yes: self._quit_after(going_on) if yes
                         else None)

    @work(group="quit", exclusive=True, exit_on_error=False)
    async def _quit_after(self, going_on) -> None:
        """Wait for the writes on their way (their outcomes are journalled), then end."""
        if going_on.writes:
            self.notify("quitting once the write has its outcome…", timeout=10)
        for worker in going_on.writes:
            try:
                await worker.wait()
            except Exception:  # noqa: BLE001, S110 - its failure is already notified and journalled
                pass
        self.exit()

    def action_write_report(self) -> None:
        """f6: the handover form (site, customer, installer, notes), then the report."""
        from solartui.report.handover import prefill
        from solartui.tui.screens.report_form import ReportFormScreen
        from solartui.tui.screens.report_progress import ReportProgressScreen
        if not self._need_asking("no commissioning report") or isinstance(
                self.screen, (ReportFormScreen, ReportProgressScreen)):
            return                          # one report at a time
        dev = self.device
        serial = dev.identity.serial if dev.identity is not None else "unknown"
        self.push_screen(ReportFormScreen(prefill(self.settings, serial), self.settings, serial),
                         lambda handover: self._report_answered(serial, handover))

    def _report_answered(self, serial: str, handover) -> None:
        from solartui.report.handover import remember
        if handover is None:
            return
        if remember(self.settings, serial, handover):
            save_settings(self.settings)
        self._write_report(handover)

    @work(exit_on_error=False, group="report", exclusive=True)
    async def _write_report(self, handover=None) -> None:
        from solartui.report.content import gather
        from solartui.report.files import write_report
        from solartui.tui.screens.report_progress import ReportProgressScreen
        dev = self.device
        progress = ReportProgressScreen(dev.identity.serial if dev.identity is not None else "")
        self.push_screen(progress)            # k of n while it reads; Esc stops
        try:
            report = await gather(dev, journal=self.session.journal,
                                  since=self.session_started, handover=handover,
                                  on_progress=progress.step)
        finally:
            progress.finish()
        md, html = write_report(report)
        self.last_report = (md, html)
        # stays until dismissed (a click): the path is what the person needs next, perhaps to
        # copy it after looking at something else; printing the HTML page makes the PDF
        self.notify(f"report written: {html} (and {md.name} beside it)\n"
                    f"folder: {html.parent}\nprint the .html page to PDF from a browser (A4)",
                    title="Commissioning report", timeout=REPORT_NOTICE_S)

    def action_show_server(self) -> None:
        from solartui.tui.screens.server import ServerScreen
        if not isinstance(self.screen, ServerScreen):
            self.push_screen(ServerScreen())

    def action_show_journal(self) -> None:
        from solartui.tui.screens.journal import JournalScreen
        if not isinstance(self.screen, JournalScreen):
            self.push_screen(JournalScreen())

    def action_show_checks(self) -> None:
        from solartui.tui.screens.checks import ChecksScreen
        if self._need_asking("no commissioning checks") and not isinstance(self.screen,
                                                                              ChecksScreen):
            self.push_screen(ChecksScreen())

    def action_show_traffic(self) -> None:
        from solartui.tui.screens.traffic import TrafficScreen
        self.push_screen(TrafficScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Discover", "Scan serial ports, USB and the network", self.action_show_discover)
        yield SystemCommand("Connect", "Open a target URL or a simulator", self.action_show_connect)
        yield SystemCommand("Live values", "The map's points, polled", self.action_show_live)
        yield SystemCommand("Register browser", "Any table, address and format", self.action_show_browser)
        yield SystemCommand("Clock", "Device time, drift, sync", self.action_show_clock)
        yield SystemCommand("Actions", "Named controls of the device (GivEnergy: charge "
                            "schedule, slots, reserve, mode), confirmed as a whole",
                            self.action_run_action)
        yield SystemCommand("Commissioning report", "Identity, link, clock drift, this session's "
                            "writes, trust and every value, as Markdown and HTML",
                            self.action_write_report)
        yield SystemCommand("Growatt server", "Dataloggers connected to the embedded Shine server",
                            self.action_show_server)
        yield SystemCommand("Commissioning checks", "Identity, clock, CT direction, export "
                            "limit, battery, settings: pass, fail or cannot tell",
                            self.action_show_checks)
        yield SystemCommand("Traffic log", "Every frame and write outcome", self.action_show_traffic)
        yield SystemCommand("Journal", "Every write and clock set: this device's or all, "
                            "old → new, outcome, from which door (f7)", self.action_show_journal)
        yield SystemCommand("Help: every key", "The keys of this screen and of the app (f1, ?)",
                            self.action_help)
        yield from self._screen_commands(screen)
        for target in self.settings.recent[:RECENT_IN_PALETTE]:
            yield SystemCommand(f"Connect to {target}", "a recent target that answered",
                                lambda target=target: self.connect(target))

    def _screen_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every key the screen under the palette offers (pause, write, mark, sync clock, save
        traffic …), so nothing is reachable only by a key the footer had no room for."""
        seen = set()
        for key, active in screen.active_bindings.items():
            b = active.binding
            if (not b.description or not active.enabled or active.node is self
                    or b.action in seen):
                continue
            seen.add(b.action)
            shown = "Esc" if key == "escape" else key
            yield SystemCommand(b.description, f"{type(screen).__name__.removesuffix('Screen')}: "
                                f"key {shown}",
                                lambda node=active.node, action=b.action:
                                self.call_later(self.run_action, action, node))

    def watch_theme(self, theme: str) -> None:
        if getattr(self, "settings", None) is not None and self.settings.theme != theme:
            self.settings.theme = theme
            save_settings(self.settings)

    # --- input that arrived while the screen changed under it ----------------------------------

    def _on_key(self, event: events.Key) -> None:
        """A printable key typed for an input while the focus moved to it is the input's
        (tui/focus.py); handing it over stops Textual's own key handling (bindings) for it."""
        keep_typed(self.focused, event)

    async def on_event(self, event: events.Event) -> None:
        """Keys and clicks made before a dialog opened or closed are dropped (see Dialog)."""
        if not getattr(event, "is_forwarded", True) and stale_input(self, event):
            return
        if getattr(event, "is_forwarded", False) and stale_bubbled(self, event):
            return
        await super().on_event(event)

    # --- the one place worker failures end -----------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        if isinstance(error, SolartuiError):
            self.notify(said_in_tui(error), severity="error", timeout=8)
        else:
            self.log.error(repr(error))
            self.notify(f"internal error: {type(error).__name__}: {error}", severity="error",
                        timeout=10)

    async def on_unmount(self) -> None:
        await self.session.close()
        if self._shine_server is not None:
            await self._shine_server.stop()
        if self.demo_rig is not None:
            await self.demo_rig.stop()

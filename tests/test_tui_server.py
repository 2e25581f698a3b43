"""The server pane driven through the TUI (Pilot) against real parts: a ShineServer on 127.0.0.1
port 0 and a SimulatedDatalogger (with a simulated inverter behind it) connecting over TCP. Reads,
writes through the confirm dialog (and every way of not writing), clock sync, the command log,
start/stop from the pane, and the demo's datalogger."""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from textual.widgets import Button, DataTable, Input, RichLog, Static

from solartui.errors import ValueRejected
from solartui.journal import Journal
from solartui.registers import catalog
from solartui.session import Session
from solartui.shine.server import ShineServer
from solartui.sim.register_bank import RegisterBank
from solartui.sim.shine_logger import SimulatedDatalogger
from solartui.traffic import TrafficLog
from solartui.tui.app import SolartuiApp
from solartui.tui.screens.confirm import ConfirmScreen
from solartui.tui.screens.dialog import REPEAT_GUARD
from solartui.tui.screens.edit import EditScreen, RawEditScreen
from solartui.tui.screens.server import ServerScreen
from solartui.tui.screens.server_dialogs import LoggerEditScreen
from solartui.devices import gate
from solartui.devices.gate import WriteRequest
from tui_rig import record_notifications, type_keys

MAP = "growatt-protocol-ii"
LOGGER = "SIMLOG0001"
INVERTER = "SIMINV0001"


@dataclass
class Pane:
    app: SolartuiApp
    pilot: object
    server: ShineServer
    sim: SimulatedDatalogger | None
    bank: RegisterBank | None
    notes: list

    @property
    def screen(self):
        return self.app.screen

    @property
    def pane(self) -> ServerScreen:
        return next(s for s in self.app.screen_stack if isinstance(s, ServerScreen))

    def table(self, ident: str) -> DataTable:
        return self.pane.query_one(f"#{ident}", DataTable)

    def row(self, ident: str, key: str) -> list[str]:
        return [str(c) for c in self.table(ident).get_row(key)]

    def text(self, selector: str) -> str:
        return str(self.pane.query_one(selector, Static).render())

    def values(self) -> str:
        return " ".join(str(w.render()) for w in self.screen.query(".value"))

    async def log_lines(self) -> list[str]:
        """The Command log tab's lines (shown first: a hidden RichLog defers its writes)."""
        await self.pilot.press("5")
        await self.pilot.pause(0.05)
        return [s.text for s in self.pane.query_one("#command-log", RichLog).lines]

    async def until(self, cond, timeout: float = 5.0) -> None:
        end = time.monotonic() + timeout
        while True:
            try:
                if cond():
                    return
            except Exception:  # noqa: BLE001, S110 - a table or row not there yet
                pass
            if time.monotonic() > end:
                raise AssertionError(f"timed out; screen {self.screen!r}; notes {self.notes}")
            await self.pilot.pause(0.02)

    async def at(self, cls):
        await self.until(lambda: isinstance(self.screen, cls))
        await self.pilot.pause()
        return self.screen

    async def cursor_to(self, ident: str, key: str) -> None:
        table = self.table(ident)
        if self.app.focused is not table:
            table.focus()
        table.move_cursor(row=table.get_row_index(key), animate=False)
        await self.pilot.pause()

    def commands(self) -> int:
        return self.sim.stats["commands"]


@asynccontextmanager
async def running(tmp_path, start_server: bool = True, connect: bool = True):
    session = Session(Journal(tmp_path / "j.jsonl"), TrafficLog())
    # generous reply timeouts: a reply late on a loaded machine is not what these tests are
    # about (the one that is about silence shortens the wait for its own step)
    server = ShineServer(command_gap=0.01, logger_timeout=5.0, inverter_timeout=5.0,
                         journal=session.journal)
    sim = bank = None
    if start_server:
        port = await server.start("127.0.0.1", 0)
        if connect:
            bank = RegisterBank(catalog.resolve(MAP), identity={"serial": INVERTER})
            sim = SimulatedDatalogger(bank, datalogger=LOGGER, interval=60.0, reconnect=0.2)
            await sim.start("127.0.0.1", port)
            await asyncio.wait_for(sim.announced.wait(), 5)
    app = SolartuiApp(session=session, shine_server=server)
    app.animation_level = "none"         # no tab-underline animation for Pilot to wait out
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            notes = record_notifications(app)
            await pilot.press("f5")
            p = Pane(app, pilot, server, sim, bank, notes)
            await p.at(ServerScreen)
            if connect and start_server:
                await p.until(lambda: p.table("devices").row_count == 2)
            yield p
    finally:
        if sim is not None:
            await sim.stop()
        await server.stop()


async def type_text(pilot, text: str) -> None:
    await type_keys(pilot, text)


# --- what the pane shows -------------------------------------------------------------------------

async def test_lists_datalogger_inverter_and_latest_values(tmp_path):
    async with running(tmp_path) as p:
        logger = p.row("devices", f"L:{LOGGER}")
        assert logger[0] == "datalogger" and logger[1] == LOGGER
        assert logger[2].startswith("127.0.0.1:") and logger[3] == "06"
        assert int(logger[5]) >= 1 and "ago" in logger[4]
        inverter = p.row("devices", f"I:{INVERTER}")
        assert "inverter" in inverter[0] and inverter[1] == INVERTER
        assert "unit 01" in inverter[2] and int(inverter[5]) >= 1
        assert "model" in inverter[6]
        assert "listening on 127.0.0.1:" in p.text("#server-status")     # 120 columns: room
        assert "1 datalogger · 1 inverter" in p.text("#server-status")

        await p.until(lambda: p.table("values").row_count > 20)
        vac1 = p.row("values", "vac1")
        assert vac1[2] == "V" and 200 < float(vac1[1]) < 260
        assert p.row("values", "fac")[2] == "Hz"
        head = p.text("#values-head")
        assert INVERTER in head and "(datalogger time)" in head and "BUFFERED" not in head

        # a new data record refreshes the values through the server's events, no polling
        before = p.server.loggers[LOGGER].records
        p.bank.set_raw("input", 38, [2411])             # vac1 = 241.1 V in the next record
        await p.sim._send_data(0x04)
        await p.until(lambda: p.row("values", "vac1")[1] == "241.1")
        await p.until(lambda: p.row("devices", f"L:{LOGGER}")[5] == str(before + 1))


# --- datalogger registers ------------------------------------------------------------------------

async def test_datalogger_registers(tmp_path):
    async with running(tmp_path) as p:
        await p.pilot.press("2", "a")                   # the tab, then read all
        await p.until(lambda: p.row("logger-regs", "21")[2] == "3.1.0.5")
        assert p.row("logger-regs", "8")[1:] == ["datalogger serial", LOGGER, "read-only"]
        assert p.row("logger-regs", "4")[1] == "upload interval (min)"
        assert "datalogger registers read" in p.text("#pane-status")

        # cancel at the confirm dialog: nothing is sent
        await p.cursor_to("logger-regs", "4")
        await p.pilot.press("enter")
        edit = await p.at(LoggerEditScreen)
        await type_text(p.pilot, "abc")
        assert edit.query_one("#ok", Button).disabled and "not a number" in \
            str(edit.query_one("#verdict").render())
        edit.query_one("#value", Input).value = "2"
        await p.pilot.press("enter")
        await p.at(ConfirmScreen)
        shown = p.values()
        for part in (LOGGER, "4 — upload interval (min)", "'1' (last known)", "'2'", "0x18"):
            assert part in shown, part
        assert p.app.focused is p.screen.query_one("#cancel", Button)
        sent = p.commands()
        await p.pilot.press("escape")
        await p.at(ServerScreen)
        assert p.commands() == sent and p.sim.registers[4] == b"1"
        assert ("datalogger register 4: cancelled, nothing written", "information") in p.notes

        # confirmed: written, acknowledged, logged and journalled
        await p.pilot.press("w")
        await p.at(LoggerEditScreen)
        await p.pilot.press("2", "enter")
        await p.at(ConfirmScreen)
        await p.pilot.press("left", "enter")            # to Confirm, as a keyboard user would
        await p.until(lambda: p.sim.registers[4] == b"2")
        await p.until(lambda: p.row("logger-regs", "4")[2] == "2")
        await p.until(lambda: any("acknowledged" in t for t, _ in p.notes))
        entry = p.app.session.journal.entries()[-1]     # (the first: the sync on announce)
        assert entry["kind"] == "shine-write" and entry["register"] == 4
        assert entry["new"] == "2" and entry["outcome"] == "acknowledged"

        # the reboot register: a clear warning, and a stray enter sends nothing
        await p.cursor_to("logger-regs", "32")
        await p.pilot.pause(REPEAT_GUARD)   # (an Enter sooner would be the confirm's, doubled)
        await p.pilot.press("enter")
        edit = await p.at(LoggerEditScreen)
        assert "REBOOTS" in str(edit.query_one("#warning").render())
        await p.pilot.press("enter")                    # prefilled "1"
        confirm = await p.at(ConfirmScreen)
        assert str(confirm.query_one("#title").render()) == "Reboot the datalogger?"
        [warning] = confirm.query(".row.warning .value")
        assert "REBOOTS THE DATALOGGER" in str(warning.render())
        sent = p.commands()
        await p.pilot.press("enter")                    # focus is on Cancel
        await p.at(ServerScreen)
        assert p.commands() == sent and p.sim.stats["reboots"] == 0

        # read-only: refused before any dialog
        await p.cursor_to("logger-regs", "8")
        await p.pilot.press("w")
        assert isinstance(p.screen, ServerScreen)
        assert any("read-only" in t for t, _ in p.notes)

        # a NACK and silence end in error notifications and in the command log
        p.sim.faults.nack = True
        await p.cursor_to("logger-regs", "19")
        await p.pilot.press("enter")
        edit = await p.at(LoggerEditScreen)
        edit.query_one("#value", Input).value = "example.org"
        await p.pilot.press("enter")
        confirm = await p.at(ConfirmScreen)
        assert confirm.query(".row.warning")            # the server address: a warning too
        await p.pilot.press("left", "enter")
        await p.until(lambda: any("rejected by datalogger" in t and s == "error"
                                  for t, s in p.notes))
        assert p.sim.registers[19] != b"example.org"
        assert "failed" in p.text("#pane-status")
        p.sim.faults.nack, p.sim.faults.silent = False, True
        p.server.logger_timeout = 0.5                   # silence: not worth waiting 5 s for
        await p.pilot.press("r")                        # read register 19: no answer
        await p.until(lambda: any("no answer" in t and s == "error" for t, s in p.notes))
        lines = await p.log_lines()
        assert any("write logger register 4 = '2': ACK" in line for line in lines)
        assert any(line.startswith("✗") and "rejected" in line for line in lines)


# --- inverter holding registers through the datalogger -----------------------------------------

async def test_inverter_registers(tmp_path):
    async with running(tmp_path) as p:
        await p.pilot.press("3")
        assert p.row("inv-regs", "active_power_rate")[2:5] == ["100", "%", "rw"]   # announce
        p.bank.set_raw("holding", 3, [90])
        await p.cursor_to("inv-regs", "active_power_rate")
        await p.pilot.press("r")
        await p.until(lambda: p.row("inv-regs", "active_power_rate")[2] == "90")

        # a value outside the map's range is refused in the editor and never reaches the wire
        await p.pilot.press("enter")
        edit = await p.at(EditScreen)                   # after reading the current value
        assert "current: 90 %" in str(edit.query_one("#current").render())
        sent, writes = p.commands(), p.bank.writes
        await type_text(p.pilot, "150")
        assert "outside 0..100" in str(edit.query_one("#verdict").render())
        assert edit.query_one("#ok", Button).disabled
        await p.pilot.press("enter")                    # refused: the editor stays
        assert p.screen is edit
        with pytest.raises(ValueRejected):              # and the gate makes no plan for it
            await gate.plan(p.server.inverter_device(INVERTER),
                            WriteRequest.point("active_power_rate", "150"))
        assert p.commands() == sent and p.bank.writes == writes

        # a good value: confirmed, written through the datalogger, read back
        edit.query_one("#value", Input).value = "55"
        await p.pilot.press("enter")
        await p.at(ConfirmScreen)
        shown = p.values()
        for part in (INVERTER, LOGGER, "active_power_rate", "holding register 3", "90 %", "55 %",
                     "0x0037", "FC06"):
            assert part in shown, part
        await p.pilot.press("left", "enter")
        await p.until(lambda: p.bank.get_raw("holding", 3) == [55])
        await p.until(lambda: ("active_power_rate: verified — read back 55 %", "information")
                      in p.notes)
        await p.until(lambda: p.row("inv-regs", "active_power_rate")[2] == "55")
        entry = p.app.session.journal.entries()[-1]
        assert (entry["point"], entry["origin"], entry["outcome"]) == \
            ("active_power_rate", "tui", "verified")
        assert entry["device"]["target"].startswith(f"inverter {INVERTER} via datalogger {LOGGER}")

        # identity points are read-only
        await p.cursor_to("inv-regs", "serial")
        sent = p.commands()
        await p.pilot.press("w")
        assert isinstance(p.screen, ServerScreen) and p.commands() == sent

        # a raw register: read, then write through the confirm dialog
        p.pane.query_one("#inv-reg", Input).value = "3"
        p.pane.query_one("#inv-read", Button).press()
        await p.until(lambda: "holding 3 = 55 (0x0037)" in p.text("#inv-raw-result"))
        p.pane.query_one("#inv-write", Button).press()
        await p.at(RawEditScreen)
        await type_text(p.pilot, "0x3c")
        await p.pilot.press("enter")
        await p.at(ConfirmScreen)
        assert "holding 3" in p.values() and "0x003C" in p.values()
        await p.pilot.press("left", "enter")
        await p.until(lambda: p.bank.get_raw("holding", 3) == [60])
        await p.until(lambda: any("holding 3: verified" in t for t, _ in p.notes))
        assert any("write holding 3 = 55: ACK" in line for line in await p.log_lines())


# --- clock -----------------------------------------------------------------------------------------

async def test_clock_sync_through_confirm(tmp_path):
    async with running(tmp_path) as p:
        # the server's own sync on announce lands first, or it would undo the hour set below
        await p.until(lambda: p.commands() >= 1)
        await p.pilot.pause(0.2)
        p.sim.clock_offset = 3600.0                     # the datalogger is an hour ahead
        await p.pilot.press("4")
        p.pane.query_one("#clock-read", Button).press()
        await p.until(lambda: f"{LOGGER} register 31 = " in p.text("#pane-status"))
        assert "last known" in p.text("#clk-logger")
        assert p.server.zone_description() in p.text("#clk-zone")

        sent = p.commands()
        await p.pilot.press("s")
        confirm = await p.at(ConfirmScreen)
        assert str(confirm.query_one("#title").render()) == "Set the datalogger clock?"
        assert p.server.zone_description() in p.values() and "(last known)" in p.values()
        await p.pilot.press("escape")
        await p.at(ServerScreen)
        assert p.commands() == sent and p.sim.clock_offset == 3600.0

        p.pane.query_one("#clock-sync", Button).press()
        await p.at(ConfirmScreen)
        await p.pilot.press("left", "enter")
        await p.until(lambda: abs(p.sim.clock_offset) < 3)
        await p.until(lambda: any("clock sync: synced" in t for t, _ in p.notes))
        assert "synced" in p.text("#clk-sent")
        assert sum("clock sync" in line and "ACK" in line for line in await p.log_lines()) >= 2


# --- the server itself ---------------------------------------------------------------------------

async def test_start_and_stop_from_the_pane(tmp_path):
    async with running(tmp_path, start_server=False) as p:
        assert not p.server.running and "stopped" in p.text("#server-status")
        assert p.pane.query_one("#port", Input).value == "5781"
        assert p.pane.query_one("#host", Input).value == "0.0.0.0"

        # a port in use: an error notification, still stopped
        busy = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        try:
            p.pane.query_one("#host", Input).value = "127.0.0.1"
            p.pane.query_one("#port", Input).value = str(busy.sockets[0].getsockname()[1])
            await p.pilot.click("#toggle")
            await p.until(lambda: any("cannot listen" in t and s == "error" for t, s in p.notes))
            assert not p.server.running
        finally:
            busy.close()

        p.pane.query_one("#port", Input).value = "0"
        p.pane.query_one("#devices", DataTable).focus()
        await p.pilot.press("o")
        await p.until(lambda: p.server.running)
        await p.until(lambda: f"listening on 127.0.0.1:{p.server.port}" in p.text("#server-status"))
        assert p.pane.query_one("#port", Input).disabled
        bank = RegisterBank(catalog.resolve(MAP), identity={"serial": INVERTER})
        sim = SimulatedDatalogger(bank, datalogger=LOGGER, interval=60.0, reconnect=None)
        await sim.start("127.0.0.1", p.server.port)
        try:
            await p.until(lambda: p.table("devices").row_count == 2)
            await p.pilot.click("#toggle")
            await p.until(lambda: not p.server.running)
            await p.until(lambda: p.table("devices").row_count == 0)
            assert "stopped" in p.text("#server-status")
            assert str(p.pane.query_one("#toggle", Button).label) == "Start"
        finally:
            await sim.stop()


async def test_demo_shows_its_datalogger(tmp_path):
    app = SolartuiApp(demo=True)
    app.animation_level = "none"
    async with app.run_test(size=(120, 40)) as pilot:
        end = time.monotonic() + 15
        while app.device is None and time.monotonic() < end:
            await pilot.pause(0.1)
        assert app.shine_server is app.demo_rig.shine_server and app.shine_server.running
        await pilot.press("f5")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ServerScreen)
        table = screen.query_one("#devices", DataTable)
        while table.row_count < 2 and time.monotonic() < end:
            await pilot.pause(0.1)
        assert [str(table.get_row_at(i)[1]) for i in range(2)] == ["DEMOLOG001", "DEMO000WIF"]
        values = screen.query_one("#values", DataTable)
        while values.row_count == 0 and time.monotonic() < end:
            await pilot.pause(0.1)
        assert values.row_count > 20


async def test_raw_write_of_a_guarded_register_is_refused_before_any_dialog_sends(tmp_path):
    """Register 31 (flash_start) in the raw field: the gate refuses it with its name; nothing is
    written, and no confirmation offers it."""
    async with running(tmp_path) as p:
        await p.pilot.press("3")
        writes = p.bank.writes
        p.pane.query_one("#inv-reg", Input).value = "31"
        p.pane.query_one("#inv-write", Button).press()
        await p.at(RawEditScreen)
        await type_text(p.pilot, "1")
        await p.pilot.press("enter")
        await p.until(lambda: any("flash_start" in t and "guarded" in t for t, _ in p.notes))
        assert not isinstance(p.screen, ConfirmScreen)
        await p.at(ServerScreen)
        assert p.bank.writes == writes
        assert p.app.session.journal.entries() == [] or all(
            e.get("address") != 31 for e in p.app.session.journal.entries())


async def test_f2_opens_the_live_screen_of_the_inverter_behind_the_datalogger(tmp_path):
    from solartui.tui.screens.live import LiveScreen
    async with running(tmp_path) as p:
        await p.pilot.press("f2")
        live = await p.at(LiveScreen)
        assert live.device.link.target.inverter == INVERTER
        # holding registers read through the datalogger (0x05), input ones from its records
        await p.until(lambda: live._last["active_power_rate"].decoded.text == "100 %", 10)
        await p.until(lambda: live._last["inverter_status"].ok, 10)

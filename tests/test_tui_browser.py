"""The register browser, driven by Pilot against the simulated Growatt inverter on loopback TCP
(simulator, session and app share one event loop)."""

from __future__ import annotations

import asyncio
import struct
import sys
import types

import pytest

from solartui.journal import Journal
from solartui.links.scheduler import PRIORITY_READ
from solartui.session import Session
from solartui.sim.modbus_server import Faults, ModbusSimulator
from solartui.sim.register_bank import RegisterBank
from solartui.traffic import TrafficLog
from solartui.tui.app import SolartuiApp
from solartui.tui.screens import browser as browser_mod
from solartui.tui.screens.browser import BrowserScreen
from textual.widgets import Button, Checkbox, DataTable, Input, Select, Static

SERIAL = "TEST123456"


class Rig:
    def __init__(self, m, tmp_path):
        self.bank = RegisterBank(m, unit=1, identity={"serial": SERIAL})
        self.faults = Faults()
        self.sim = ModbusSimulator([self.bank], faults=self.faults)
        self.session = Session(Journal(tmp_path / "j.jsonl"), TrafficLog())
        self.calls: list[tuple[int, int, int, int]] = []   # browser-priority reads on the link

    async def __aenter__(self):
        port = await self.sim.start_tcp("127.0.0.1", 0)
        await self.session.connect(f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=300",
                                   "growatt-protocol-ii")
        link = self.session.device.link
        real_read = link.read

        async def recording_read(function, unit, address, count, priority=PRIORITY_READ):
            if priority == PRIORITY_READ:
                self.calls.append((function, address, count, priority))
            return await real_read(function, unit, address, count, priority)

        link.read = recording_read
        return self

    async def __aexit__(self, *exc):
        await self.session.close()           # (the app closes it too when it exits)
        await self.sim.stop()

    @property
    def requests(self) -> int:
        return self.session.device.link.stats.requests


@pytest.fixture
def rig(growatt_map, tmp_path):
    return Rig(growatt_map, tmp_path)


async def wait_for(pilot, condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting for the browser")
        await pilot.pause(0.01)


class Browser:
    """The screen under test, with the few moves the tests make."""

    def __init__(self, app, pilot):
        self.app, self.pilot = app, pilot
        self.screen: BrowserScreen = app.screen

    async def read(self, table="holding", start="0", count="20"):
        s = self.screen
        s.query_one("#browser-table-kind", Select).value = table
        s.query_one("#browser-start", Input).value = str(start)
        s.query_one("#browser-count", Input).value = str(count)
        await self.pilot.pause()
        seq = s._seq
        s.query_one("#browser-read", Button).press()    # (Pilot's click costs ~0.2 s a time)
        await wait_for(self.pilot, lambda: s._seq > seq and not s._in_flight)
        await self.pilot.pause()

    async def view(self, fmt):
        self.screen.query_one("#browser-format", Select).value = fmt
        await self.pilot.pause()
        assert self.screen.fmt == fmt

    def cell(self, address, column="value"):
        return str(self.screen.query_one(DataTable).get_cell(str(address), column))

    def values(self, start, count, column="value"):
        return [self.cell(a, column) for a in range(start, start + count)]

    @property
    def status(self) -> str:
        return str(self.screen.query_one("#browser-status", Static).render())

    @property
    def message(self) -> str:
        return str(self.screen.query_one("#browser-message", Static).render())


async def open_browser(app, pilot) -> Browser:
    app.switch_to(BrowserScreen())            # the browser alone: no live poller on the link
    await wait_for(pilot, lambda: isinstance(app.screen, BrowserScreen))
    await pilot.pause()
    app.screen.query_one("#browser-read").active_effect_duration = 0   # presses in quick succession
    return Browser(app, pilot)


async def test_serial_in_ascii_and_other_views_without_new_reads(rig):
    async with rig:
        app = SolartuiApp(session=rig.session)
        async with app.run_test(size=(120, 40)) as pilot:
            b = await open_browser(app, pilot)
            await b.read("holding", "23", "5")
            assert rig.calls == [(3, 23, 5, PRIORITY_READ)]
            assert b.cell(23, "name") == "serial"
            assert b.cell(24, "name") == ""
            await b.view("ascii")
            assert "".join(b.values(23, 5)) == SERIAL
            before, calls = rig.requests, len(rig.calls)
            words = rig.bank.get_raw("holding", 23, 5)
            await b.view("hex")
            assert b.values(23, 5) == [f"0x{w:04X}" for w in words]
            assert b.values(23, 5, "raw") == [f"0x{w:04X}" for w in words]
            await b.view("u16")
            assert b.values(23, 5) == [str(w) for w in words]
            await b.view("binary")
            assert b.cell(23) == " ".join(f"{words[0]:016b}"[i:i + 4] for i in range(0, 16, 4))
            assert rig.requests == before and len(rig.calls) == calls
            assert "holding 23–27" in b.status and "1 read" in b.status


async def test_u32_and_float32_pairs(rig):
    rig.bank.set_raw("holding", 1000, [0x0001, 0x0002])
    rig.bank.set_raw("holding", 1002, list(struct.unpack(">HH", struct.pack(">f", 230.5))))
    async with rig:
        app = SolartuiApp(session=rig.session)
        async with app.run_test(size=(120, 40)) as pilot:
            b = await open_browser(app, pilot)
            await b.view("u32 big")
            await b.read("holding", "0x3E8", "4")          # 1000, typed in hex
            assert b.values(1000, 2) == [str(0x00010002), ""]
            await b.view("u32 little")
            assert b.values(1000, 2) == [str(0x00020001), ""]
            await b.view("float32 big")
            assert b.values(1002, 2) == ["230.5", ""]
            await b.view("s32 big")
            assert b.cell(1000) == str(0x00010002)
            assert len(rig.calls) == 1


async def test_refused_address_keeps_table_and_app_working(rig):
    async with rig:
        app = SolartuiApp(session=rig.session)
        async with app.run_test(size=(120, 40)) as pilot:
            b = await open_browser(app, pilot)
            await b.read("holding", "23", "5")
            shown = b.values(23, 5)
            await b.read("holding", "300", "5")            # outside every declared block
            assert "exception 2 (illegal data address)" in b.status
            assert b.screen.query_one("#browser-status").has_class("-error")
            assert b.values(23, 5) == shown                 # the table is still there
            assert b.screen.query_one(DataTable).row_count == 5
            # a range that runs off the end of a block: the good part shows, the rest says why
            await b.read("holding", "245", "10")
            assert b.values(245, 5, "raw") != ["—"] * 5
            assert b.values(250, 5) == ["—"] * 5
            assert "holding 250–254" in b.status and "exception 2" in b.status
            assert "5 of 10 read" in b.status
            # a silent device: the reason shows, the last table stays, nothing hangs
            rig.faults.silent = True
            await b.read("holding", "23", "5")
            assert b.screen.query_one("#browser-status").has_class("-error")
            assert "still showing holding 245–254" in b.status
            assert b.values(250, 5) == ["—"] * 5
            rig.faults.silent = False
            await b.read("input", "0", "3")                 # and the app keeps working
            assert "holding" not in b.status and "input 0–2" in b.status
            assert all(v != "—" for v in b.values(0, 3))
            assert isinstance(app.screen, BrowserScreen)


async def test_invalid_input_shows_message_and_sends_nothing(rig):
    async with rig:
        app = SolartuiApp(session=rig.session)
        async with app.run_test(size=(120, 40)) as pilot:
            b = await open_browser(app, pilot)
            before = rig.requests
            for start, count, expected in [("12x", "5", "not a number"),
                                           ("70000", "5", "outside 0–65535"),
                                           ("10", "0", "count 0 is outside"),
                                           ("65530", "10", "runs past register 65535")]:
                b.screen.query_one("#browser-start", Input).value = start
                b.screen.query_one("#browser-count", Input).value = count
                await pilot.pause()
                b.screen.query_one("#browser-read", Button).press()
                await pilot.pause()
                assert expected in b.message
                assert b.screen.query_one("#browser-message").has_class("-shown")
            assert rig.requests == before and rig.calls == []
            # typing a good address and pressing Enter clears the message and reads
            start = b.screen.query_one("#browser-start", Input)
            start.value = ""
            start.focus()
            await pilot.press("2", "3", "enter")
            await wait_for(pilot, lambda: rig.calls and not b.screen._in_flight)
            await pilot.pause()
            assert not b.screen.query_one("#browser-message").has_class("-shown")
            assert rig.calls == [(3, 23, 10, PRIORITY_READ)]


async def test_large_read_is_split(rig):
    async with rig:
        app = SolartuiApp(session=rig.session)
        async with app.run_test(size=(120, 40)) as pilot:
            b = await open_browser(app, pilot)
            max_read = rig.session.device.map.link.max_read
            await b.read("holding", "0", "200")
            assert [c[2] for c in rig.calls] == [125, 75]
            assert all(n <= max_read for _, _, n, _ in rig.calls)
            assert b.screen.query_one(DataTable).row_count == 200
            assert "—" not in b.values(0, 200, "raw")
            assert "2 reads" in b.status
            rig.calls.clear()
            await b.read("input", "100", "50")           # crosses the 124/125 register groups
            assert [(a, n) for _, a, n, _ in rig.calls] == [(100, 25), (125, 25)]
            assert all(c[0] == 4 for c in rig.calls)
            assert "—" not in b.values(100, 50, "raw")


async def test_auto_refresh_keys_and_write(rig, monkeypatch):
    monkeypatch.setattr(browser_mod, "AUTO_GAP", 0.05)
    async with rig:
        app = SolartuiApp(session=rig.session)
        async with app.run_test(size=(120, 40)) as pilot:
            b = await open_browser(app, pilot)
            await b.read("holding", "1000", "4")
            b.screen.query_one(DataTable).focus()
            await pilot.press("a")
            assert b.screen.query_one("#browser-auto", Checkbox).value
            await wait_for(pilot, lambda: len(rig.calls) >= 4)
            await pilot.press("a")
            await wait_for(pilot, lambda: not b.screen._in_flight)
            await pilot.pause(0.05)
            settled = len(rig.calls)
            await pilot.pause(0.1)
            assert len(rig.calls) == settled             # stopped
            assert all(c == (3, 1000, 4, PRIORITY_READ) for c in rig.calls)
            await pilot.press("r")                       # read binding from the table
            await wait_for(pilot, lambda: len(rig.calls) == settled + 1)

            # w: the raw write flow gets the selected register's address and current words
            seen = []
            fake = types.ModuleType("solartui.tui.write_flow")
            fake.start_raw_write = lambda screen, address, words: seen.append((screen, address, words))
            monkeypatch.setitem(sys.modules, "solartui.tui.write_flow", fake)
            await pilot.press("down", "down")
            await pilot.press("w")
            assert seen == [(b.screen, 1002, rig.bank.get_raw("holding", 1002, 1))]
            await b.view("u32 big")
            await pilot.press("down", "w")               # row 1003 belongs to the 1002 pair
            assert seen[-1][1:] == (1002, rig.bank.get_raw("holding", 1002, 2))

            # a write flow that ends with an outcome: the browser reads the range again
            async def flow():
                rig.bank.set_raw("holding", 1002, [0x1234])
                return "verified"

            fake.start_raw_write = lambda screen, address, words: screen.run_worker(
                flow(), exit_on_error=False)
            reads = len(rig.calls)
            await pilot.press("w")
            await wait_for(pilot, lambda: b.cell(1002, "raw") == "0x1234")
            assert len(rig.calls) == reads + 1

            # without the write flow module: a notification, no crash
            monkeypatch.setitem(sys.modules, "solartui.tui.write_flow", None)
            await pilot.press("w")
            await pilot.pause()
            assert any("writing is not available" in n.message for n in app._notifications)

            # input registers are not writable
            await b.read("input", "0", "2")
            b.screen.query_one(DataTable).focus()
            await pilot.press("w")
            await pilot.pause()
            assert any("read-only" in n.message for n in app._notifications)

            await pilot.press("escape")
            await wait_for(pilot, lambda: not isinstance(app.screen, BrowserScreen))


async def test_layout_fits_80x24(rig):
    async with rig:
        app = SolartuiApp(session=rig.session)
        async with app.run_test(size=(80, 24)) as pilot:
            b = await open_browser(app, pilot)
            await b.read("holding", "23", "5")
            for wid in ("#browser-table-kind", "#browser-start", "#browser-count",
                        "#browser-format", "#browser-read", "#browser-auto"):
                region = b.screen.query_one(wid).region
                assert region.right <= 80 and region.y == 2 and region.height == 3, wid
            table = b.screen.query_one(DataTable)
            assert table.region.height >= 15
            assert table.virtual_size.width <= table.region.width

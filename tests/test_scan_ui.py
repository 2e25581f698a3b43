"""`solartui scan` and the Discover screen against simulators the scanner is not told about: a
Growatt inverter on a pty wire at a baud rate and unit it must find, and Modbus TCP on
127.0.0.x addresses (never anything outside 127.0.0.0/8)."""

from __future__ import annotations

import json

import pytest
from textual.widgets import DataTable

from solartui.registers.catalog import resolve
from solartui.sim.modbus_server import ModbusSimulator
from solartui.sim.register_bank import RegisterBank
from solartui.sim.serial_wire import serve_on_pty
from solartui.tui.app import SolartuiApp
from solartui.tui.screens.discover import DiscoverScreen
from solartui.tui.screens.live import LiveScreen

from procs import run_cli as cli




@pytest.fixture
async def pty_device():
    m = resolve("growatt-protocol-ii")
    wire, sim = await serve_on_pty([RegisterBank(m, unit=1, identity={"serial": "SCAN000001"})],
                                   baud=9600)
    yield wire
    await sim.stop()
    await wire.stop()


async def test_cli_scan_port_finds_and_identifies(pty_device):
    code, out, err = await cli("scan", "--port", pty_device.client_path, "--json")
    assert code == 0, err
    [found] = json.loads(out)
    assert found["map"] == "growatt-protocol-ii" and found["serial"] == "SCAN000001"
    assert found["target"].startswith(f"rtu://{pty_device.client_path}?baud=9600")
    code, out, err = await cli("read", found["target"], "fac", "--json")      # the URL works
    assert code == 0, err


async def test_cli_scan_net_on_loopback():
    """The real port 502 on 127.0.0.5 (this needs root, as CI and the dev machines have)."""
    m = resolve("growatt-protocol-ii")
    sim = ModbusSimulator([RegisterBank(m, unit=1, identity={"serial": "NET0000001"})])
    try:
        await sim.start_tcp("127.0.0.5", 502)
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot bind 127.0.0.5:502 here: {exc}")
    try:
        code, out, err = await cli("scan", "--net", "127.0.0.0/24", "--json")
        assert code == 0, err
        found = [f for f in json.loads(out) if f["serial"] == "NET0000001"]
        assert found and found[0]["target"] == "tcp://127.0.0.5:502?unit=1"
        assert all(f["link"].startswith("127.") for f in json.loads(out))
    finally:
        await sim.stop()
    code, out, err = await cli("scan", "--net", "127.0.0.0/8", "--json")   # larger than /16: refused
    assert code != 0 and "Traceback" not in err and len(err.strip().splitlines()) == 1


async def test_cli_scan_bad_port_is_one_line():
    code, out, err = await cli("scan", "--port", "/dev/nonexistent-adapter")
    assert code == 1 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "no device found" in lines[0] and "nonexistent-adapter" in lines[0]


async def test_discover_screen_finds_and_connects(pty_device):
    app = SolartuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        assert isinstance(app.screen, DiscoverScreen)
        app.screen.query_one("#port").value = pty_device.client_path
        screen = app.screen
        screen._start(pty_device.client_path, _probe(pty_device.client_path))
        table = screen.query_one("#found", DataTable)
        for _ in range(600):                # generous: the scan paces its probes on the pty
            await pilot.pause(0.05)
            if table.row_count:
                break
        assert table.row_count == 1
        assert "SCAN000001" in str(table.get_row_at(0)[0])
        table.focus()
        await pilot.press("enter")
        for _ in range(100):
            await pilot.pause(0.05)
            if isinstance(app.screen, LiveScreen):
                break
        assert isinstance(app.screen, LiveScreen) and "SCAN000001" in app.sub_title


async def test_discover_scan_can_be_cancelled(pty_device):
    app = SolartuiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        from solartui.discovery.rtu_probe import probe_port
        screen._start("sweep", lambda f, p: probe_port(pty_device.client_path, bauds=[19200],
                                                       identify=False, on_found=f, on_progress=p))
        await pilot.pause(0.3)
        rows = list(screen.query(".scan-row"))
        assert len(rows) == 1
        await pilot.click(".scan-cancel")
        for _ in range(40):
            await pilot.pause(0.05)
            if not list(screen.query(".scan-row")):
                break
        assert not list(screen.query(".scan-row")) and app.is_running


def _probe(path):
    """The sweep the screen runs, with a wide turnaround margin: the simulator answers from the
    app's own event loop, which a loaded machine can hold up past the 40 ms a real device gets."""
    from solartui.discovery.rtu_probe import probe_port
    return lambda f, p: probe_port(path, on_found=f, on_progress=p, margin=0.5)


async def test_cli_scan_without_a_terminal_prints_plain_progress_lines():
    """No tty (cron, a pipe): a long sweep says where it is on stderr instead of a progress bar.
    A device at 38400 is found only after the 9600 sweep; the first line comes after a second."""
    import asyncio
    import sys

    from procs import ROOT
    m = resolve("growatt-protocol-ii")
    wire, sim = await serve_on_pty([RegisterBank(m, unit=1, identity={"serial": "SCAN000038"})],
                                   baud=38400)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "solartui", "scan", "--port", wire.client_path, cwd=ROOT,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    try:
        line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
        assert line.startswith(f"scan {wire.client_path}: "), line
        assert "trying 9600 8N1 unit" in line and "left" in line and "%" in line
    finally:
        proc.kill()
        await proc.wait()
        await sim.stop()
        await wire.stop()

"""`solartui log` against simulators on one shared pty bus: pacing kept across devices, the CSV's
columns and units, gaps noticed by --once, a device going silent and a port that disappears."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import sys
import time
from datetime import datetime

import pytest

from solartui.errors import SolartuiError
from solartui.sim.modbus_server import ModbusSimulator
from solartui.sim.register_bank import RegisterBank
from solartui.sim.serial_wire import SerialWire
from solartui.site.csv_sink import CsvSink
from solartui.site.logger import SiteLogger
from solartui.site.site_file import load_site

from conftest import ROOT
from procs import run_cli

POINTS = ["inverter_status", "ppv", "vpv1", "pac", "fac", "eac_today"]
HEADER = ["time", "inverter_status", "ppv (W)", "vpv1 (V)", "pac (W)", "fac (Hz)",
          "eac_today (kWh)", "note"]
PERIOD_MS = 150         # the bus's pacing in these tests (the map's own is 850 ms)


class Bus:
    """One pty wire with units 1 and 2, each its own simulator (so one can fall silent), reached
    through a symlink the way /dev/serial/by-id/... reaches a USB adapter."""

    def __init__(self, growatt_map, link_path):
        self.map = growatt_map
        self.path = link_path
        self.banks = {u: RegisterBank(growatt_map, unit=u, seed=u) for u in (1, 2)}
        # fixed values the CSV must show (ticks leave pinned registers alone)
        self.banks[1].set_raw("input", 3, [3456])       # vpv1 345.6 V
        self.banks[2].set_raw("input", 3, [2101])       # vpv1 210.1 V
        self.banks[2].set_raw("input", 0, [3])          # inverter_status 3: fault
        self.wire: SerialWire | None = None
        self.sims: dict[int, ModbusSimulator] = {}

    async def start(self) -> None:
        self.wire = SerialWire()
        for unit, bank in self.banks.items():
            self.sims[unit] = ModbusSimulator([bank])
            await self.wire.serve(self.sims[unit], 9600)
        tmp = f"{self.path}.new"
        os.symlink(self.wire.client_path, tmp)
        os.replace(tmp, self.path)

    async def stop(self) -> None:
        if self.wire is not None:
            await self.wire.stop()
            self.wire = None


@pytest.fixture
async def bus(growatt_map, tmp_path):
    b = Bus(growatt_map, str(tmp_path / "ttyBUS0"))
    await b.start()
    yield b
    await b.stop()


def write_site(tmp_path, bus_path, period=0.6, timeout_ms=400, points=POINTS, name="roof"):
    target = f"rtu://{bus_path}?baud=9600&period={PERIOD_MS}&timeout={timeout_ms}"
    path = tmp_path / "site.yaml"
    path.write_text(f"""schema: 1
site: {name}
period: {period}
devices:
  - name: inv-1
    target: "{target}"
    map: growatt-protocol-ii
    unit: 1
    points: {json.dumps(points)}
    csv: logs/inv-1.csv
  - name: inv-2
    target: "{target}"
    map: growatt-protocol-ii
    unit: 2
    points: {json.dumps(points)}
    csv: logs/inv-2.csv
""")
    return path


def rows(path) -> list[list[str]]:
    if not path.exists():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def data_rows(path) -> list[list[str]]:
    return [r for r in rows(path)[1:] if not r[-1].startswith("gap:")]


async def until(check, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_two_units_share_one_paced_link_and_the_csv_is_right(bus, tmp_path):
    site = load_site(write_site(tmp_path, bus.path, period=60,
                                points=POINTS + ["firmware", "serial"]))
    logger = SiteLogger(site, echo=False)
    logger.open()
    frames = []
    try:
        [link] = logger.links.values()                        # one link for the whole bus
        assert all(r.device.link is link for r in logger.runs)
        link.add_sink(frames.append)
        await logger.once()
        await logger.once()
    finally:
        await logger.close()
    # both units were asked, turn about, and every transaction kept the bus's period
    units = [f.data[0] for f in frames if f.direction == "tx"]
    assert set(units) == {1, 2} and len(units) == 8           # 2 reads x 2 units x 2 passes
    windows = list(link.stats.windows)
    gaps = [b[0] - a[1] for a, b in zip(windows, windows[1:])]
    assert len(gaps) == 7 and min(gaps) >= PERIOD_MS / 1000
    last_rx = None
    for f in frames:                                        # and on the wire itself
        if f.direction == "rx":
            last_rx = f.time
        elif last_rx is not None:
            assert f.time - last_rx >= PERIOD_MS / 1000 - 0.005
    one, two = rows(tmp_path / "logs" / "inv-1.csv"), rows(tmp_path / "logs" / "inv-2.csv")
    header = HEADER[:-1] + ["firmware", "serial", "note"]
    assert one[0] == header and two[0] == header
    assert len(one) == len(two) == 3                          # on time: no gap row
    row = dict(zip(header, one[1]))
    stamp = datetime.fromisoformat(row["time"])
    assert stamp.tzinfo is not None and stamp.microsecond == 0
    assert abs(stamp.timestamp() - time.time()) < 30
    assert row["inverter_status"] == "normal" and row["vpv1 (V)"] == "345.6"
    assert float(row["fac (Hz)"]) == pytest.approx(50, abs=1)
    assert row["serial"] == "SIM0010001" and row["note"] == ""
    row2 = dict(zip(header, two[2]))
    assert row2["inverter_status"] == "fault" and row2["vpv1 (V)"] == "210.1"


async def test_once_notices_a_missed_period_as_a_gap(bus, tmp_path, isolated_home):
    site = write_site(tmp_path, bus.path, period=0.5)
    code, out, err = await run_cli("log", str(site), "--once")
    assert code == 0, err
    assert err.startswith("solartui log: site roof: 2 devices on 1 channel, every 0.5 s")
    state = json.loads((isolated_home / "state" / "log" / "roof.json").read_text())
    assert set(state["devices"]) == {"inv-1", "inv-2"}
    await asyncio.sleep(1.0)                    # more than 1.5 periods since: a gap
    code, out, err = await run_cli("log", str(site), "--once", "-q")
    assert code == 0, err
    for name in ("inv-1", "inv-2"):
        got = rows(tmp_path / "logs" / f"{name}.csv")
        assert got[0] == HEADER and len(got) == 4
        first, gap, second = got[1:]
        assert all(first[1:-1]) and all(second[1:-1]) and first[-1] == second[-1] == ""
        assert gap[1:-1] == [""] * len(POINTS)
        assert gap[-1].startswith(f"gap: no pass since {first[0]} (about ")
        assert first[0] <= gap[0] <= second[0]                 # where the missing pass was due
        assert f"{name} gap: no pass since" in err
    log_lines = (tmp_path / "site.errors.log").read_text().splitlines()
    assert len(log_lines) == 2 and all(" gap: " in ln for ln in log_lines)
    # the site now logs other points: the old CSV is never rewritten or mixed
    write_site(tmp_path, bus.path, period=0.5, points=["ppv", "pac"])
    before = (tmp_path / "logs" / "inv-1.csv").read_text()
    code, out, err = await run_cli("log", str(site), "--once")
    assert code == 1 and "Traceback" not in err
    [line] = err.strip().splitlines()
    assert "inv-1.csv was written with other columns than device inv-1 logs now" in line
    assert (tmp_path / "logs" / "inv-1.csv").read_text() == before


async def test_a_device_going_silent_mid_run(bus, tmp_path):
    site = load_site(write_site(tmp_path, bus.path, period=0.6))
    logger = SiteLogger(site, echo=False)
    logger.open()
    stop = asyncio.Event()
    task = asyncio.create_task(logger.run(stop))
    one, two = tmp_path / "logs" / "inv-1.csv", tmp_path / "logs" / "inv-2.csv"
    try:
        await until(lambda: len(data_rows(two)) >= 2, "two rows")
        bus.sims[2].faults.silent = True
        await until(lambda: sum(r[-1].startswith("no answer") for r in data_rows(two)) >= 2,
                    "two rows of silence")
        bus.sims[2].faults.silent = False
        await until(lambda: data_rows(two)[-1][-1] == "", "a good row again")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await logger.close()
    silent = [r for r in data_rows(two) if r[-1]]
    assert len(silent) >= 2
    for r in silent:
        assert r[1:-1] == [""] * len(POINTS)
        assert r[-1].startswith("no answer: no answer to FC04 unit 2")
    assert all(r[-1] == "" and all(r[1:-1]) for r in data_rows(one))   # its neighbour unharmed
    log = (tmp_path / "site.errors.log").read_text().splitlines()
    mine = [ln for ln in log if " inv-2 " in ln and " gap: " not in ln and "pass" not in ln]
    assert len(mine) == 2, log                   # one line going silent, one coming back
    assert "inv-2 no answer: no answer to FC04" in mine[0] and mine[1].endswith("answers again")
    assert not [ln for ln in log if " inv-1 " in ln and "no answer" in ln]


async def test_a_port_that_disappears_and_comes_back(bus, tmp_path):
    site = load_site(write_site(tmp_path, bus.path, period=0.5))
    logger = SiteLogger(site, echo=False)
    logger.open()
    stop = asyncio.Event()
    task = asyncio.create_task(logger.run(stop))
    one = tmp_path / "logs" / "inv-1.csv"
    try:
        await until(lambda: len(data_rows(one)) >= 2, "two rows")
        await bus.stop()                        # the adapter is pulled: its pty is gone
        await until(lambda: data_rows(one)[-1][-1].startswith("no answer"), "a failed pass")
        assert not task.done()
        await bus.start()                       # plugged back in (a new pty behind the link)
        await until(lambda: data_rows(one)[-1][-1] == "", "rows again")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await logger.close()
    log = (tmp_path / "site.errors.log").read_text()
    assert log.count("inv-1 no answer") == 1 and log.count("inv-1 answers again") == 1


async def test_sigterm_ends_a_continuous_run_cleanly(bus, tmp_path):
    site = write_site(tmp_path, bus.path, period=0.5)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "solartui", "log", str(site), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        await until(lambda: len(data_rows(tmp_path / "logs" / "inv-2.csv")) >= 2, "rows")
        proc.terminate()
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode == 0, err
    lines = err.decode().strip().splitlines()
    assert "(Ctrl+C to stop)" in lines[0] and lines[-1].startswith("solartui log: stopped after")


async def test_an_overrunning_device_is_reported_once_and_its_skips_are_gaps(bus, tmp_path):
    """Two reads at 150 ms pacing cannot fit a 0.1 s period: every pass overruns."""
    path = tmp_path / "fast.yaml"
    path.write_text(f"""schema: 1
site: fast
period: 0.1
devices:
  - name: inv-1
    target: "rtu://{bus.path}?period={PERIOD_MS}&timeout=250"
    map: growatt-protocol-ii
    points: [ppv, serial]
""")
    logger = SiteLogger(load_site(path), echo=False)
    logger.open()
    stop = asyncio.Event()
    task = asyncio.create_task(logger.run(stop))
    csv_path = tmp_path / "inv-1.csv"
    try:
        await until(lambda: len(data_rows(csv_path)) >= 4, "four rows")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await logger.close()
    got = rows(csv_path)[1:]
    assert all(r[1] and r[2] for r in data_rows(csv_path))
    assert any(r[-1].startswith("gap: ") for r in got)         # the skipped slots, in the CSV
    log = (tmp_path / "fast.errors.log").read_text().splitlines()
    assert len(log) == 1 and "longer than the 0.1 s period: skipped" in log[0]


async def test_one_logger_per_site(tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text('schema: 1\nsite: solo\nperiod: 5\ndevices:\n'
                    '  - {name: a, target: "tcp://127.0.0.1:1", map: growatt-protocol-ii}\n')
    first = SiteLogger(load_site(path), echo=False)
    first.open()
    try:
        second = SiteLogger(load_site(path), echo=False)
        with pytest.raises(SolartuiError, match="another 'solartui log' is logging site solo"):
            second.open()
    finally:
        await first.close()
    second = SiteLogger(load_site(path), echo=False)          # free again once closed
    second.open()
    await second.close()


def test_a_row_torn_by_a_crash_is_cut_before_the_next(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("time,ppv (W),note\n2024-01-01T00:00:00+00:00,1.5,\n2024-01-01T00:01:00+00:0")
    sink = CsvSink(path, ["time", "ppv (W)", "note"], "a")
    sink.open()
    sink.write(1_700_000_000, ["2.5"], "")
    sink.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 3 and lines[1].endswith(",1.5,") and lines[2].endswith(",2.5,")
    path.write_text("time,ppv (kW),note\n")
    with pytest.raises(SolartuiError, match=r"column 2 is 'ppv \(kW\)' there, 'ppv \(W\)' here"):
        CsvSink(path, ["time", "ppv (W)", "note"], "a").open()

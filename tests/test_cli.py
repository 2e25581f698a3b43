"""The command line as a person or a script uses it: real processes against the simulator, over
loopback TCP and over a pseudo-terminal (started with `solartui simulate --pty`)."""

from __future__ import annotations

import asyncio
import json
import re
import os
import sys

import pytest

from solartui.journal import Journal
from solartui.sim.modbus_server import Faults, ModbusSimulator
from solartui.sim.register_bank import RegisterBank

from conftest import ROOT
from procs import one_line_error, run_cli as cli, simulator

MAP = "growatt-protocol-ii"





@pytest.fixture
async def sim(growatt_map):
    bank = RegisterBank(growatt_map, unit=1, identity={"serial": "CLI0000001"})
    faults = Faults()
    server = ModbusSimulator([bank], faults=faults)
    port = await server.start_tcp("127.0.0.1", 0)
    server.bank = bank
    server.url = f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=300"
    yield server
    await server.stop()


async def test_read_table(sim):
    code, out, err = await cli("read", sim.url, "--map", MAP, "vac1", "fac", "serial")
    assert code == 0, err
    assert "vac1" in out and " V" in out and " Hz" in out and "CLI0000001" in out
    assert "structure-verified" in out


async def test_read_json_for_scripts(sim):
    code, out, err = await cli("read", sim.url, "--map", MAP, "vac1", "active_power_rate", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["name"] for r in rows] == ["vac1", "active_power_rate"]
    for r in rows:
        assert {"name", "doc", "table", "address", "words", "value", "unit", "trust", "error"} <= set(r)
    assert rows[0]["doc"] == "Vac1" and rows[0]["table"] == "input" and rows[0]["unit"] == "V"
    assert rows[0]["value"] == round(rows[0]["words"][0] * 0.1, 1)
    assert rows[0]["error"] is None


async def test_read_identifies_the_map_without_map_option(sim):
    code, out, err = await cli("read", sim.url, "vac1", "--json")
    assert code == 0, err
    assert json.loads(out)[0]["name"] == "vac1"


async def test_write_with_yes_verified_and_journalled(sim, isolated_home):
    code, out, err = await cli("write", sim.url, "--map", MAP, "active_power_rate=75", "--yes")
    assert code == 0, err
    assert "verified" in out and "FC06" in out and "0x004B" in out
    assert sim.bank.get_raw("holding", 3) == [75]
    [entry] = Journal(isolated_home / "state" / "journal.jsonl").entries()
    assert entry["outcome"] == "verified" and entry["device"]["serial"] == "CLI0000001"


async def test_write_without_terminal_or_yes_is_refused(sim, isolated_home):
    before = sim.bank.get_raw("holding", 3)
    code, out, err = await cli("write", sim.url, "--map", MAP, "active_power_rate=75")
    assert "confirmation" in one_line_error(code, err)
    assert sim.bank.get_raw("holding", 3) == before
    assert not (isolated_home / "state" / "journal.jsonl").exists()


@pytest.mark.parametrize("assignment,words", [("active_power_rate=50", "no"),
                                              ("active_power_rate=50", "yes")])
async def test_write_asks_on_a_terminal(sim, assignment, words):
    master, slave = os.openpty()
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "solartui", "write", sim.url, "--map", MAP, assignment,
            cwd=ROOT, stdin=slave, stdout=slave, stderr=slave)
        os.close(slave)
        seen = b""
        while b"[y/N]" not in seen:
            seen += await asyncio.get_running_loop().run_in_executor(None, os.read, master, 4096)
        os.write(master, (words + "\n").encode())
        await asyncio.wait_for(proc.wait(), 30)
    finally:
        os.close(master)
    assert b"0x0032" in seen and b"FC06" in seen and b"CLI0000001" in seen
    written = sim.bank.get_raw("holding", 3) == [50]
    assert written == (words == "yes")
    assert (proc.returncode == 0) == (words == "yes")


@pytest.mark.parametrize("args,fragment", [
    (["write", "{url}", "--map", MAP, "active_power_rate=150", "--yes"], "outside"),
    (["write", "{url}", "--map", MAP, "active_power_rate=lots", "--yes"], "not a number"),
    (["write", "{url}", "--map", MAP, "serial=ABC", "--yes"], "read-only"),
    (["write", "{url}", "--map", MAP, "factory_reset=1", "--yes"], "guarded"),
    (["write", "{url}", "--map", MAP, "nonsense=1", "--yes"], "no point"),
    (["write", "{url}", "--map", MAP, "active_power_rate", "--yes"], "POINT=VALUE"),
    (["read", "{url}", "--map", MAP, "nonsense"], "no point"),
    (["read", "{url}", "--map", "no-such-map"], "no map"),
    (["read", "{url}", "--map", "/nonexistent/map.yaml"], "cannot read map"),
    (["read", "tcp://127.0.0.1:5020?unit=999"], "unit"),
    (["read", "modbus://x"], "unknown scheme"),
    (["read", "tcp://127.0.0.1:5020?speed=1"], "unknown option"),
    (["read", "rtu://host/dev/ttyUSB0"], "device path"),
    (["read", "/dev/ttyUSB0"], "not a target URL"),
    (["read", "tcp://127.0.0.1:9?unit=1&timeout=200", "--map", MAP], "tcp://127.0.0.1:9"),
    (["read", "rtu:///dev/nonexistent-port?unit=1", "--map", MAP], "/dev/nonexistent-port"),
    (["simulate", MAP, "--fault", "explode"], "unknown fault"),
    (["read", "{url}", "--bogus"], "No such option"),
    (["write"], "Missing argument"),
])
async def test_bad_input_is_one_clear_line(sim, args, fragment):
    settings = lambda: sim.bank.get_raw("holding", 0, 45) + sim.bank.get_raw("holding", 52, 73)  # noqa: E731
    before = settings()                                     # everything but the ticking clock
    code, out, err = await cli(*(a.format(url=sim.url) for a in args))
    assert fragment in one_line_error(code, err)
    assert settings() == before


async def test_no_answer_is_one_clear_line(sim):
    sim.faults.silent = True
    code, out, err = await cli("read", sim.url, "--map", MAP, "vac1")
    assert "no answer" in one_line_error(code, err)


async def test_time_shows_and_syncs(sim):
    sim.bank.clock_offset = 7200.0
    code, out, err = await cli("time", sim.url, "--map", MAP)
    assert code == 0, err
    assert "device clock" in out and "host clock" in out
    drift = int(re.search(r"drift: +([+-]\d+) s", out).group(1))
    assert 7195 <= drift <= 7205
    code, out, err = await cli("time", sim.url, "--map", MAP, "--sync")
    assert "confirmation" in one_line_error(code, err)
    code, out, err = await cli("time", sim.url, "--map", MAP, "--sync", "--yes")
    assert code == 0, err
    assert "verified" in out
    assert abs(sim.bank.clock_offset) < 5


async def test_maps_check(tmp_path):
    code, out, err = await cli("maps", "check")
    assert code == 0, err
    assert "structurally earned: structure-verified" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema: 1\ndevice: {id: x, vendor: v, name: n}\nprotocol: modbus\nlink: {}\n"
                   "points:\n  - {name: a, doc: A, table: input, address: 0, type: u16, unit: parsec}\n")
    code, out, err = await cli("maps", "check", str(bad))
    assert code == 1
    assert f"{bad}:6: point a: unknown unit 'parsec'" in out


async def test_simulate_pty_and_read_with_real_pacing():
    """`solartui simulate --pty` in one process, `solartui read` in another, at 850 ms pacing."""
    async with simulator(MAP, "--pty", "--serial", "PTY0000001") as target:
        assert target.startswith("rtu:///dev/")
        code, out, err = await cli("read", target, "--map", MAP, "vac1", "fac", "serial", "--json")
        assert code == 0, err
        rows = {r["name"]: r for r in json.loads(out)}
        assert rows["serial"]["value"] == "PTY0000001"
        assert 180 < rows["vac1"]["value"] < 280
        code, out, err = await cli("write", target, "--map", MAP, "active_power_rate=55", "--yes")
        assert code == 0 and "verified" in out, err
        code, out, err = await cli("time", target, "--map", MAP, "--sync", "--yes")
        assert code == 0 and "verified" in out, err


@pytest.mark.parametrize("hidraw", [True])
async def test_simulate_pi30_and_read_write_time_across_processes(hidraw, tmp_path):
    """`solartui simulate pi30` in one process; read, write and time in others, at the map's
    real 0.5 s pacing and 1 s read-back delay (HID reports on the pty: the serial path runs
    end to end in test_pi30_device; at this pacing a second run costs 20 s for little)."""
    async with simulator("pi30", "--serial", "77700011122233",
                         *(["--hidraw"] if hidraw else [])) as target:
        assert target.startswith("hidraw:///dev/" if hidraw else "pi30:///dev/")
        code, out, err = await cli("read", target, "mode", "battery_rating_voltage", "--json")
        assert code == 0, err
        rows = {r["name"]: r for r in json.loads(out)}
        assert rows["mode"]["text"] == "Line" and rows["battery_rating_voltage"]["value"] == 48
        code, out, err = await cli("write", target, "max_charging_current=40", "--yes")
        assert code == 0 and "verified" in out and "MCHGC040" in out, err
        code, out, err = await cli("write", target, "max_charging_current=45", "--yes")
        assert "this device offers only" in one_line_error(code, err)
        code, out, err = await cli("time", target, "--sync", "--yes")
        assert code == 0 and "verified" in out, err


async def test_simulate_pi30_refuses_modbus_options():
    code, out, err = await cli("simulate", "pi30", "--tcp", "127.0.0.1:0")
    assert "--tcp is not for 'simulate pi30'" in one_line_error(code, err)
    code, out, err = await cli("simulate", "pi30", "--fault", "explode")
    assert "unknown fault 'explode' for pi30" in one_line_error(code, err)


async def test_simulate_tcp_prints_where_it_listens():
    async with simulator(MAP, "--tcp", "127.0.0.1:0", "--unit", "3") as target:
        assert target.startswith("tcp://127.0.0.1:") and target.endswith("unit=3")
        code, out, err = await cli("read", target + "&period=0", "--map", MAP, "fac", "--json")
        assert code == 0, err
        port = target.split(":")[2].split("?")[0]
        code, out, err = await cli("simulate", MAP, "--tcp", f"127.0.0.1:{port}")
        assert "Address already in use" in one_line_error(code, err)      # the address is taken


async def test_demo_runs_one_cycle():
    code, out, err = await cli("demo", "--plain", "--cycles", "1", timeout=90)
    assert code == 0, err
    assert "DEMO000RTU" in out and "DEMO000TCP" in out and " V" in out
    assert "96332309100452" in out and "Line" in out          # the PI30 inverter
    assert "SA2301G042" in out and "battery_soc" in out       # the GivEnergy hybrid


async def test_tui_refuses_without_a_terminal():
    code, out, err = await cli()
    assert "needs a terminal" in one_line_error(code, err)

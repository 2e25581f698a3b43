"""`solartui dump`: every readable register to CSV or JSON, against the simulators, as a person
or a script runs it (real processes)."""

from __future__ import annotations

import csv
import hashlib
import json

import pytest

from solartui.dump.ranges import parse_range, plan
from solartui.errors import SolartuiError
from solartui.sim.givenergy_dongle import GivEnergyDongle
from solartui.sim.modbus_server import ModbusSimulator
from solartui.sim.register_bank import RegisterBank

from procs import one_line_error, run_cli as cli

MAP = "growatt-protocol-ii"


@pytest.fixture
async def sim(growatt_map):
    bank = RegisterBank(growatt_map, unit=1, identity={"serial": "DUMP000001"})
    server = ModbusSimulator([bank])
    port = await server.start_tcp("127.0.0.1", 0)
    server.bank = bank
    server.url = f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=300"
    yield server
    await server.stop()


def test_plan_follows_blocks_and_max_read(growatt_map):
    reads = plan(growatt_map, [parse_range("hr:120-130")])
    assert ("holding", 0, 125) in reads and ("holding", 125, 125) in reads
    assert all(c <= 125 for _, _, c in reads)
    assert sum(c for _, _, c in reads) == 875          # 7 blocks, 120-130 already inside
    assert plan(growatt_map, [("holding", 3, 6)], blocks=False) == [("holding", 3, 4)]
    with pytest.raises(SolartuiError, match="TABLE:FIRST-LAST"):
        parse_range("coils:1-2")


async def test_dump_csv_every_block_decoded(sim, tmp_path):
    out = tmp_path / "dump.csv"
    code, stdout, err = await cli("dump", sim.url, "--map", MAP, "-o", str(out))
    assert code == 0, err
    assert "dump: 7/7 input 1125-1249 ok" in err
    text = out.read_text()
    digest = hashlib.sha256(text.encode()).hexdigest()
    assert f"sha256 {digest}" in stdout
    rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    assert len(rows) == 875
    apr = next(r for r in rows if r["table"] == "holding" and r["address"] == "3")
    assert apr["point"] == "active_power_rate" and apr["raw"] == "100" and apr["hex"] == "0x0064"
    assert apr["value"] == "100 %"
    fw = [r for r in rows if r["table"] == "holding" and r["address"] in ("9", "10")]
    assert fw[0]["point"] == "firmware" and fw[1]["point"] == "firmware+1"
    code, _, err = await cli("dump", sim.url, "--map", MAP, "-o", str(out))
    assert "exists: not overwritten" in one_line_error(code, err)


async def test_dump_json_raw_ranges_only(sim, tmp_path):
    out = tmp_path / "dump.json"
    code, _, err = await cli("dump", sim.url, "--map", MAP, "-o", str(out), "--only-ranges",
                             "--range", "holding:0-4", "--range", "holding:250-251")
    assert code == 0, err
    doc = json.loads(out.read_text())
    assert doc["map"] == MAP and doc["identity"]["serial"] == "DUMP000001"
    regs = doc["registers"]
    assert [r["address"] for r in regs] == [0, 1, 2, 3, 4, 250, 251]
    assert regs[-1]["raw"] is None and "exception 2" in regs[-1]["error"]


async def test_dump_refusals(tmp_path):
    code, _, err = await cli("dump", "tcp://127.0.0.1:1", "-o", str(tmp_path / "d.xlsx"))
    assert ".csv or .json" in one_line_error(code, err)
    code, _, err = await cli("dump", "tcp://127.0.0.1:1", "-o", str(tmp_path / "d.csv"),
                             "--range", "holding:9-3")
    assert "last address" in one_line_error(code, err)


async def test_dump_givenergy(tmp_path):
    dongle = GivEnergyDongle(heartbeat_interval=None)
    port = await dongle.start()
    out = tmp_path / "g.json"
    try:
        code, _, err = await cli("dump", f"givenergy://127.0.0.1:{port}?period=0&timeout=1000",
                                 "-o", str(out))
    finally:
        await dongle.stop()
    assert code == 0, err
    regs = {(r["table"], r["address"]): r for r in json.loads(out.read_text())["registers"]}
    assert regs[("input", 30)]["point"] == "p_grid_out"
    assert regs[("holding", 13)]["point"] == "serial_number"


def test_dump_file_never_written_through_a_link_and_cells_guarded(tmp_path):
    """--force replaces a dump, but never through a symlink (the target keeps its bytes); a
    device's text that a spreadsheet would run as a formula stays text."""
    from solartui.dump import files
    from solartui.dump.collect import Row
    from solartui.safe_open import UnsafePath
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "d.csv"
    link.symlink_to(victim)
    with pytest.raises(UnsafePath, match="dump .*d.csv is a symbolic link"):
        files.write_dump(str(link), "x", force=True)
    assert victim.read_text() == "keep me"
    with pytest.raises(SolartuiError, match="exists: not overwritten"):
        files.write_dump(str(victim), "x", force=False)
    row = Row("holding", 0, 1, point="serial", value="=cmd()")
    text = files.render([row], "csv", {})
    assert "'=cmd()" in text and "\n=cmd()" not in text

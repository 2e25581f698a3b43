"""`solartui check` as a script runs it: real processes against an in-process simulator."""

from __future__ import annotations

import json

import pytest

from solartui.sim.modbus_server import ModbusSimulator
from solartui.sim.register_bank import RegisterBank

from procs import one_line_error, run_cli as cli

MAP = "growatt-protocol-ii"
FAST = ("--window", "0.2", "--samples", "3")


@pytest.fixture
async def sim(growatt_map):
    bank = RegisterBank(growatt_map, unit=1, identity={"serial": "CLICHK0001"})
    bank.sun = 0.9
    bank.tick()
    server = ModbusSimulator([bank], tick_interval=0.05)
    port = await server.start_tcp("127.0.0.1", 0)
    server.bank = bank
    server.url = f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=300"
    yield server
    await server.stop()


async def test_check_lines_and_exit_codes(sim):
    code, out, err = await cli("check", sim.url, "--map", MAP, *FAST,
                               "--only", "identity,clock,ct_direction,battery")
    assert code == 0, out + err
    lines = out.strip().splitlines()
    assert len(lines) == 4 and all(line.startswith("PASS") for line in lines)
    assert "CT direction:" in lines[2] and "sampling" in err
    sim.bank.faults.reversed_ct = True
    code, out, err = await cli("check", sim.url, "--map", MAP, *FAST, "--only", "ct_direction",
                               "--json")
    assert code == 1, err
    doc = json.loads(out)
    [v] = doc["verdicts"]
    assert v["status"] == "fail" and "reversed CT" in v["reason"] and v["samples"]
    assert doc["identity"]["serial"] == "CLICHK0001" and doc["exit"] == 1


async def test_check_cannot_tell_is_exit_4(sim):
    code, out, err = await cli("check", sim.url, "--map", MAP, *FAST, "--only", "export_limit")
    assert code == 4, out + err
    assert out.startswith("CANNOT TELL") and "no export limit" in out


async def test_check_usage_and_unreachable_are_exit_2():
    code, out, err = await cli("check", "tcp://127.0.0.1:1?unit=1&timeout=200", "--map", MAP)
    assert code == 2 and one_line_error(code, err)
    code, out, err = await cli("check", "tcp://127.0.0.1:1", "--only", "wiring")
    assert code == 2 and "unknown check 'wiring'" in one_line_error(code, err)


async def test_check_site_file_intended_values(sim, tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text(f"schema: 1\nsite: t\nperiod: 10\ndevices:\n"
                    f"  - name: inv\n    target: \"{sim.url}\"\n    map: {MAP}\n"
                    f"    intended: {{active_power_rate: 80}}\n    export_limit_w: 3000\n")
    code, out, err = await cli("check", sim.url, "--map", MAP, *FAST, "--only", "settings",
                               "--site", str(site), "--device", "inv")
    assert code == 1 and "active_power_rate 100 % (the intended is 80)" in out, out + err


async def test_report_carries_verdicts_and_the_dump(sim, tmp_path):
    import hashlib
    dump = tmp_path / "regs.csv"
    code, out, err = await cli("dump", sim.url, "--map", MAP, "-o", str(dump))
    assert code == 0, err
    sim.bank.faults.reversed_ct = True
    code, out, err = await cli("report", sim.url, "--map", MAP, "-o", "-", "--checks",
                               "--window", "0.2", "--dump", str(dump))
    assert code == 0, err
    section = out.split("## Commissioning checks")[1].split("\n## ")[0]
    assert "| CT direction | fail | reversed CT: PV" in section
    assert "| identity and firmware | pass | serial CLICHK0001" in section
    assert "usable_samples 6" in section or "usable_samples" in section
    assert f"| register dump | regs.csv |" in section
    assert hashlib.sha256(dump.read_bytes()).hexdigest() in section
    code, out, err = await cli("report", sim.url, "--map", MAP, "-o", "-", "--dump",
                               str(tmp_path / "missing.csv"))
    assert "no such file" in one_line_error(code, err)


async def test_check_sync_sets_the_clock_through_the_gate(sim, isolated_home):
    from solartui.journal import Journal
    sim.bank.clock_offset = -90.0
    code, out, err = await cli("check", sim.url, "--map", MAP, "--only", "clock", "--sync",
                               "--yes")
    assert code == 0, out + err
    assert out.startswith("PASS") and "was -90 s" in out and "synced" in out
    [entry] = Journal(isolated_home / "state" / "journal.jsonl").entries()
    assert entry["point"] == "clock" and entry["outcome"] == "verified"


async def test_simulate_fault_options_reach_the_checks():
    from procs import simulator
    async with simulator(MAP, "--tcp", "127.0.0.1:0", "--fault", "reversed-ct",
                         "--fault", "ignore-export-limit") as target:
        url = f"{target}&period=0&timeout=500"
        code, out, err = await cli("check", url, "--map", MAP, *FAST, "--only",
                                   "ct_direction", "--json")
    assert code in (1, 4), err              # fail by day; at night there is nothing to see
    [v] = json.loads(out)["verdicts"]
    assert v["status"] in ("fail", "cannot tell") and v["status"] != "pass"
    code, _, err = await cli("simulate", "givenergy", "--fault", "silent")
    assert "not for 'simulate givenergy'" in one_line_error(code, err)


async def test_check_map_without_checks_is_exit_2(sim):
    code, _, err = await cli("check", sim.url, "--map", "modbus-generic")
    assert code == 2 and "declares no commissioning checks" in one_line_error(code, err)

"""`solartui journal`: the entries real writes leave (a Growatt register write over Modbus TCP, a
PI30 setter and clock set over a pty, a GivEnergy action through the dongle), shown together and
picked by serial. The Growatt server's write entries are covered in test_shine_server."""

from __future__ import annotations

import json
from dataclasses import replace

from click.testing import CliRunner

from gate_help import run_action, write_one
from solartui.cli.main import cli
from solartui.devices.actions import actions_for, plan_action
from solartui.journal import Journal
from solartui.journal_view import rows
from solartui.session import Session
from solartui.sim.givenergy_dongle import GivEnergyDongle
from solartui.sim.modbus_server import ModbusSimulator
from solartui.sim.pi30_inverter import Pi30Inverter
from solartui.sim.pi30_pty import serve_pi30_on_pty
from solartui.sim.register_bank import RegisterBank


async def _fill(journal: Journal, growatt_map) -> None:
    sim = ModbusSimulator([RegisterBank(growatt_map, unit=1, identity={"serial": "GRW0000042"})])
    port = await sim.start_tcp("127.0.0.1", 0)
    pty = await serve_pi30_on_pty(Pi30Inverter(serial="11100022233344"))
    dongle = GivEnergyDongle(inverter_serial="SA2301G777")
    dongle_port = await dongle.start()
    try:
        s = Session(journal)
        dev = await s.connect(f"tcp://127.0.0.1:{port}?unit=1&period=0", "growatt-protocol-ii")
        await write_one(dev, replace(await dev.plan_write("active_power_rate", "70"),
                                        readback_delay=0))
        await s.close()
        s = Session(journal)
        dev = await s.connect(f"pi30://{pty.client_path}?period=0")
        await write_one(dev, replace(await dev.plan_write("output_source_priority", "SBU"),
                                        readback_delay=0))
        await write_one(dev, replace(await dev.plan_clock(), readback_delay=0))
        await s.close()
        s = Session(journal)
        dev = await s.connect(f"givenergy://127.0.0.1:{dongle_port}?period=0")
        plans = await plan_action(dev, actions_for(dev.map)["set-battery-reserve"], ["25"])
        await run_action(dev, [replace(p, readback_delay=0) for p in plans])
        await s.close()
    finally:
        await sim.stop()
        await pty.stop()
        await dongle.stop()


async def test_every_kind_of_write_is_one_row(tmp_path, growatt_map, monkeypatch):
    journal = Journal(tmp_path / "journal.jsonl")
    await _fill(journal, growatt_map)
    shown = rows(journal.entries())
    assert [(r.serial, r.what, r.raw, r.outcome) for r in shown] == [
        ("GRW0000042", "active_power_rate", "0x0046", "verified"),
        ("11100022233344", "output_source_priority", "POP02", "verified"),
        ("11100022233344", "clock", shown[2].raw, "verified"),
        ("SA2301G777", "battery_soc_reserve (set-battery-reserve)", "0x0019", "verified"),
    ]
    assert shown[2].raw.startswith("DAT")
    assert all(r.where.endswith(", from cli") for r in shown)     # the door each came through
    assert shown[1].old == "Utility first" and shown[1].new == "SBU"

    monkeypatch.setenv("SOLARTUI_JOURNAL", str(journal.path))
    runner = CliRunner()
    got = runner.invoke(cli, ["journal", "--device", "11100022233344", "--json"])
    assert got.exit_code == 0, got.output
    lines = json.loads(got.output)          # one JSON array, one entry a line
    assert len(got.output.splitlines()) == len(lines)
    assert [e["point"] for e in lines] == ["output_source_priority", "clock"]
    got = runner.invoke(cli, ["journal"])
    assert got.exit_code == 0 and "4 entries" in got.output and "SA2301G777" in got.output
    got = runner.invoke(cli, ["journal", "--device", "NOPE"])
    assert got.exit_code == 1 and "no journal entries for NOPE" in got.output


def test_a_torn_line_is_skipped(tmp_path, monkeypatch):
    path = tmp_path / "journal.jsonl"
    path.write_text('{"time": "2026-01-01T00:00:00", "device": {"serial": "X1"}, '
                    '"point": "p", "outcome": "verified", "words": [1]}\n{"time": "2026-0')
    monkeypatch.setenv("SOLARTUI_JOURNAL", str(path))
    got = CliRunner().invoke(cli, ["journal"])
    assert got.exit_code == 0 and "1 entry" in got.output and "X1" in got.output

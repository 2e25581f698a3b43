"""The PI30 device end to end: Session -> Pi30Device -> link -> transport -> simulated inverter.

Three real paths: RS232 on a pty (pi30://), kernel HID reports on a pty (hidraw://) and pyusb
with the simulator's backend (hid://). Each setter goes through its whole flow: validated,
planned with the old value, sent, ACK/NAK/silence as outcome, read back, journalled.
"""

from __future__ import annotations

import json

import pytest

from gate_help import write_one
from solartui.devices.pi30_device import NOT_REPORTED, setting_for_field
from solartui.devices.writes import MISMATCHED, NO_ANSWER, REJECTED, VERIFIED
from solartui.errors import SolartuiError, ValueRejected
from solartui.journal import Journal
from solartui.pi30.codec import decode_request
from solartui.session import Session
from solartui.sim.pi30_inverter import Pi30Inverter
from solartui.sim.pi30_pty import serve_pi30_on_pty
from solartui.sim.pi30_usb_backend import Pi30UsbBackend

FAST = "period=0&timeout=800"


@pytest.fixture(params=["serial", "hidraw", "usb"])
async def rig(request, tmp_path):
    """(session, device, inverter, sent) on one of the three paths; `sent()` lists the commands
    the inverter has received so far."""
    inverter = Pi30Inverter()
    server = backend = None
    if request.param == "usb":
        backend = Pi30UsbBackend(inverter)
        url = f"hid://0665:5161?{FAST}"

        def sent():
            return [e.command for e in inverter.log]
    else:
        server = await serve_pi30_on_pty(inverter, mode=request.param)
        scheme = "pi30" if request.param == "serial" else "hidraw"
        url = f"{scheme}://{server.client_path}?{FAST}"

        def sent():
            return [e.command for e in inverter.log]
    journal = Journal(tmp_path / "journal.jsonl")
    session = Session(journal, usb_backend=backend)
    dev = await session.connect(url)
    dev.map = _fast(dev.map)
    yield session, dev, inverter, sent, backend
    await session.close()
    if server is not None:
        await server.stop()


def _fast(m):
    """The map with a short read-back delay: the simulator applies setters at once."""
    from dataclasses import replace
    return replace(m, link=replace(m.link, readback_delay_ms=50))


async def test_identify(rig):
    _, dev, inverter, _, _ = rig
    assert dev.identity.values["protocol"] == "PI30"
    assert dev.identity.serial == inverter.serial
    assert dev.identity.values["firmware"] == inverter.firmware


async def test_poll_gives_words_for_mode_and_warnings(rig):
    _, dev, inverter, _, _ = rig
    inverter.warnings = {1, 11}
    readings = {r.point.name: r for r in await dev.poll()}
    assert readings["mode"].decoded.text == "Line"
    warnings = readings["warnings"].decoded.text
    assert "inverter fault" in warnings.lower() and "(fault)" in warnings
    assert readings["battery_rating_voltage"].decoded.value == 48.0
    assert readings["output_source_priority"].decoded.text == "Utility first"
    # fields the simulated family does not report are absent, not failures
    absent = [r for r in readings.values() if not r.ok]
    assert absent and all(r.absent and r.error == NOT_REPORTED for r in absent)


async def test_setter_full_flow(rig):
    session, dev, inverter, sent, _ = rig
    plan = await dev.plan_write("output_source_priority", "SBU")
    assert plan.command == "POP02" and plan.old_text == "Utility first" and plan.new_text == "SBU"
    assert "POP02" not in sent()                     # planning sends nothing
    outcome = await write_one(dev, plan)
    assert outcome.status == VERIFIED, outcome.line()
    assert inverter.settings["output_source_priority"] == 2
    entry = session.journal.entries()[-1]
    assert entry["command"] == "POP02" and entry["outcome"] == VERIFIED
    assert entry["old"] == "Utility first" and entry["readback"] == "SBU"
    assert entry["device"]["serial"] == inverter.serial


async def test_voltage_setter_needs_and_reads_the_battery_rating(rig):
    _, dev, inverter, sent, _ = rig
    with pytest.raises(ValueRejected, match="48-58.4 V"):
        await dev.plan_write("battery_float_voltage", "70")
    assert not any(c and c.startswith("PBFT") for c in sent())
    plan = await dev.plan_write("battery_float_voltage", "53.5")
    assert plan.command == "PBFT53.5"
    assert (await write_one(dev, plan)).status == VERIFIED


async def test_flag_setter(rig):
    _, dev, inverter, _, _ = rig
    plan = await dev.plan_write("buzzer", "disable")
    assert plan.command == "PDa" and plan.old_text == "enabled"
    assert (await write_one(dev, plan)).status == VERIFIED


async def test_nak_is_rejected_and_journalled(rig):
    session, dev, inverter, _, _ = rig
    plan = await dev.plan_write("charger_source_priority", "Only solar")
    inverter.faults.nak_all = True
    outcome = await write_one(dev, plan)
    assert outcome.status == REJECTED and "NAK" in outcome.detail
    assert session.journal.entries()[-1]["outcome"] == REJECTED


async def test_silence_is_no_answer(rig):
    session, dev, inverter, _, _ = rig
    plan = await dev.plan_write("charger_source_priority", "Only solar")
    inverter.faults.silent = True
    outcome = await write_one(dev, plan)
    assert outcome.status == NO_ANSWER and "may or may not" in outcome.detail
    assert session.journal.entries()[-1]["outcome"] == NO_ANSWER


async def test_ack_without_effect_is_mismatched(rig):
    _, dev, inverter, _, _ = rig
    plan = await dev.plan_write("output_source_priority", "Solar first")
    original = inverter.set
    inverter.set = lambda command: True if command.startswith("POP") else original(command)
    outcome = await write_one(dev, plan)
    assert outcome.status == MISMATCHED and "Utility first" in outcome.detail


async def test_clock_set_verified_by_qt(rig):
    session, dev, inverter, sent, _ = rig
    inverter._clock_offset = -3600.0
    before = await dev.read_clock()
    assert before.drift == pytest.approx(-3600, abs=3)
    plan = await dev.plan_clock()
    outcome = await write_one(dev, plan)
    assert outcome.status == VERIFIED, outcome.line()
    assert abs((await dev.read_clock()).drift) <= 2
    assert any(c and c.startswith("DAT") for c in sent())
    assert session.journal.entries()[-1]["point"] == "clock"


async def test_unknown_setting_and_field(rig):
    _, dev, _, _, _ = rig
    with pytest.raises(SolartuiError, match="no setting 'nope'"):
        dev.point("nope")
    with pytest.raises(SolartuiError, match="no field 'nope'"):
        dev.field("nope")


def test_every_setting_is_reachable_from_its_field():
    from solartui.registers import catalog
    m = catalog.resolve("voltronic-pi30")
    for s in m.settings:
        assert setting_for_field(m, s.reads_back.field) is s


async def test_long_commands_are_chunked_through_pyusb(tmp_path):
    backend = Pi30UsbBackend(Pi30Inverter())
    session = Session(Journal(tmp_path / "j.jsonl"), usb_backend=backend)
    dev = await session.connect(f"hid://0665:5161?{FAST}")
    dev.map = _fast(dev.map)
    backend.device.reports_sent.clear()
    plan = await dev.plan_write("max_ac_charging_current", "20")      # MUCHGC020: 9 bytes + CRC
    assert plan.command == "MUCHGC020"
    outcome = await write_one(dev, plan)
    assert outcome.status == VERIFIED, outcome.line()
    reports = [bytes(r) for r in backend.device.reports_sent]
    assert all(len(r) == 8 for r in reports)
    frame = b"".join(reports).rstrip(b"\0")
    assert b"MUCHGC020" in frame
    assert decode_request(frame[frame.index(b"MUCHGC020"):]) == "MUCHGC020"
    await session.close()


async def test_clock_refused_where_qt_is_not_answered(tmp_path):
    inverter = Pi30Inverter()
    original = inverter.answer
    inverter.answer = lambda command: None if command == "QT" else original(command)
    server = await serve_pi30_on_pty(inverter)
    session = Session(Journal(tmp_path / "j.jsonl"))
    dev = await session.connect(f"pi30://{server.client_path}?{FAST}")
    r = await dev.read_clock()
    assert r.device is None and "QT" in r.error
    with pytest.raises(SolartuiError, match="could not be verified"):
        await dev.plan_clock()
    assert not any(e.command and e.command.startswith("DAT") for e in inverter.log)
    await session.close()
    await server.stop()


async def test_a_ups_on_the_same_usb_id_is_not_taken_for_an_inverter(tmp_path):
    inverter = Pi30Inverter()
    original = inverter.answer
    inverter.answer = lambda command: "PI17" if command == "QPI" else original(command)
    session = Session(usb_backend=Pi30UsbBackend(inverter))
    with pytest.raises(SolartuiError, match="not PI30"):
        await session.connect(f"hid://0665:5161?{FAST}")
    await session.close()


async def test_silent_device_is_one_line(tmp_path):
    inverter = Pi30Inverter()
    inverter.faults.silent = True
    server = await serve_pi30_on_pty(inverter)
    session = Session()
    with pytest.raises(SolartuiError) as info:
        await session.connect(f"pi30://{server.client_path}?period=0&timeout=200")
    assert "no answer" in str(info.value) and "\n" not in str(info.value)
    await session.close()
    await server.stop()


def test_cli_over_hid_with_the_simulated_backend(tmp_path, monkeypatch):
    """`solartui read/write` on hid:// in-process, the pyusb backend being the simulator's."""
    from click.testing import CliRunner

    from solartui.cli.main import cli
    from solartui.links import pi30_open
    inverter = Pi30Inverter()
    monkeypatch.setattr(pi30_open, "default_usb_backend", Pi30UsbBackend(inverter))
    monkeypatch.setenv("SOLARTUI_JOURNAL", str(tmp_path / "j.jsonl"))
    runner = CliRunner()
    got = runner.invoke(cli, ["read", f"hid://0665:5161?{FAST}", "mode", "--json"])
    assert got.exit_code == 0, got.output
    assert json.loads(got.output)[0]["text"] == "Line"
    got = runner.invoke(cli, ["write", f"hid://0665:5161?{FAST}", "output_source_priority=SBU"])
    assert got.exit_code != 0 and "without confirmation" in got.output
    assert inverter.settings["output_source_priority"] == 0
    got = runner.invoke(cli, ["write", f"hid://0665:5161?{FAST}", "output_source_priority=9",
                              "--yes"])
    assert got.exit_code != 0 and "not one of" in got.output
    assert not any(e.command and e.command.startswith("POP") for e in inverter.log)

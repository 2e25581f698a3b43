"""The commissioning report for a simulated commissioning: a real simulator on loopback TCP (and a
PI30 on a pty through the CLI), real writes and a clock sync journalled, an attestation stored,
then the report's content checked in both formats."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta

from procs import run_cli, simulator

from gate_help import write_one
from solartui.cli.report_cmd import parse_since
from solartui.devices.register_device import RegisterDevice
from solartui.devices.writes import REJECTED, VERIFIED
from solartui.errors import SolartuiError
from solartui.journal import Journal
from solartui.links.pool import LinkPool
from solartui.links.target import parse_target
from solartui.report.content import gather
from solartui.report.files import report_paths, write_report
from solartui.report.render import to_html, to_markdown
from solartui.sim.modbus_server import Faults, ModbusSimulator
from solartui.sim.register_bank import RegisterBank
from solartui.trust.attestations import Attestation, AttestationStore
from solartui.trust.rungs import model_and_firmware


def fast(plan):
    return replace(plan, readback_delay=0.05)


async def _commissioning(growatt_map, tmp_path):
    """A session an installer might have: one earlier write (before the session), a verified
    write, a rejected one, a clock 1 h slow synced, a point compared with the display."""
    bank = RegisterBank(growatt_map, unit=1, identity={"serial": "RPT0000042"}, clock_offset=-3600)
    faults = Faults()
    sim = ModbusSimulator([bank], faults=faults)
    port = await sim.start_tcp("127.0.0.1", 0)
    pool = LinkPool()
    journal = Journal(tmp_path / "journal.jsonl")
    target = parse_target(f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=300")
    dev = RegisterDevice(growatt_map, pool.get(target, growatt_map.link), 1, journal)
    try:
        ident = await dev.identify()
        journal.append({"time": (datetime.now() - timedelta(days=2)).astimezone().isoformat(),
                        "device": {"serial": "RPT0000042", "map": growatt_map.id},
                        "point": "reactive_power_rate", "old": "0", "new": "5",
                        "outcome": VERIFIED})
        since = datetime.now().astimezone() - timedelta(seconds=1)
        out = await write_one(dev, fast(await dev.plan_write("active_power_rate", "80")))
        assert out.status == VERIFIED, out.detail
        plan = fast(await dev.plan_write("active_power_rate", "70"))
        faults.exception = 4
        assert (await write_one(dev, plan)).status == REJECTED
        faults.exception = None
        clock = await write_one(dev, fast(await dev.plan_clock()))
        assert clock.status == VERIFIED, clock.detail
        model, firmware = model_and_firmware(ident)
        store = AttestationStore(tmp_path / "attest.jsonl")
        store.add(Attestation(growatt_map.id, "vpv1", model, "RPT0000042", firmware,
                              shown="231.0 V", display="231 V", matches=True, person="Ana Installer",
                              target=dev.target_text))
        store.add(Attestation(growatt_map.id, "vpv2", model, "RPT0000042", firmware,
                              shown="350.0 V", display="0 V", matches=False, person="Ana Installer",
                              target=dev.target_text))
        return await gather(dev, journal=journal, since=since, store=store)
    finally:
        await pool.close()
        await sim.stop()


async def test_report_content_for_a_simulated_commissioning(growatt_map, tmp_path):
    r = await _commissioning(growatt_map, tmp_path)
    assert r.serial == "RPT0000042" and r.map_id == growatt_map.id
    assert dict(r.link)["target"].startswith("tcp://127.0.0.1:")
    assert "0 ms between commands" in dict(r.link)["pacing"]
    # the session's writes, with outcomes; the one from two days ago is not this session's
    writes = [c for c in r.changes if c.what == "active_power_rate"]
    assert [c.outcome for c in writes] == [VERIFIED, REJECTED]
    assert writes[0].new.startswith("80") and writes[0].raw == "0x0050"
    assert not any(c.what == "reactive_power_rate" for c in r.changes)
    # clock drift before and after the sync
    (ch,) = r.clock_changes
    assert abs(ch.before + 3600) < 5 and abs(ch.after) < 3 and ch.outcome == VERIFIED
    assert r.clock_now is not None and abs(r.clock_now.drift) < 3
    # every mapped value, with units
    assert len(r.values) == sum(1 for p in growatt_map.points if p.readable)
    pv1 = next(v for v in r.values if v.name == "vpv1")
    assert pv1.value.endswith(" V") and pv1.rung == "hardware-verified"   # attested above
    vpv2 = next(v for v in r.values if v.name == "vpv2")
    assert vpv2.rung == "✗ display differs (structure-verified)"         # never rounded up
    assert r.rung_counts.pop("✗ display differs") == 1
    assert sum(r.rung_counts.values()) == len(r.values)
    assert [a.verdict for a in r.attestations] == ["matches", "does not match"]

    md = to_markdown(r)
    assert md.startswith("# Commissioning report — Growatt RPT0000042")
    for text in ("## Device", "## Link", "## Clock", "## Settings changed in this session",
                 "## Trust", "## Values at the time of the report",
                 "| active_power_rate |", "rejected", "Ana Installer", "### PV"):
        assert text in md, text
    assert re.search(r"\| vpv1 \| [^|]* \| [\d.]+ V \| hardware-verified \|", md)
    assert re.search(r"\| -360\d s \| [+-][012] s \| verified \|", md)     # clock before/after


async def test_html_is_self_contained_and_escaped(growatt_map, tmp_path):
    r = await _commissioning(growatt_map, tmp_path)
    r.notes.append('a <script>alert("x")</script> & more')
    html = to_html(r)
    assert html.startswith("<!DOCTYPE html>")
    assert 'name="viewport"' in html and "overflow-x:auto" in html       # reads on a phone
    assert not re.search(r"(src|href)=|@import|url\(", html)            # nothing fetched
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "RPT0000042" in html and "Ana Installer" in html
    md_path, html_path = write_report(r, str(tmp_path / "out" / "site-a.html"))
    assert md_path.name == "site-a.md" and html_path.read_text() == html
    assert md_path.read_text() == to_markdown(r)


def test_report_paths_and_since(tmp_path):
    class R:
        serial, made = "AB/12 3", datetime(2026, 11, 21, 9, 30, 5)
    assert [p.name for p in report_paths(R, None)] == ["AB_12_3-20261121-093005.md",
                                                       "AB_12_3-20261121-093005.html"]
    assert [p.name for p in report_paths(R, "x/r.md")] == ["r.md", "r.html"]
    assert [p.name for p in report_paths(R, "x/r")] == ["r.md", "r.html"]
    assert parse_since("all") is None
    assert parse_since("today").hour == 0
    assert parse_since("2026-11-21T08:30").tzinfo is not None
    try:
        parse_since("yesterday-ish")
    except SolartuiError as exc:
        assert "--since" in str(exc)
    else:
        raise AssertionError("a bad --since was taken")


async def test_cli_report_with_clock_sync(tmp_path):
    async with simulator("growatt-protocol-ii", "--tcp", "127.0.0.1:0",
                         "--serial", "CLI0000007") as target:
        url = f"{target}&period=0&timeout=500" if "?" in target else f"{target}?period=0&timeout=500"
        out_file = tmp_path / "handover.html"
        code, out, err = await run_cli("report", url, "--map", "growatt-protocol-ii",
                                       "-o", str(out_file), "--sync-clock", "--yes")
        assert code == 0, err
        assert "clock: verified" in err
        assert out.splitlines() == [f"report: {tmp_path / 'handover.md'}", f"report: {out_file}"]
        md = (tmp_path / "handover.md").read_text()
        assert "CLI0000007" in md and "| clock |" not in md.split("## Settings changed")[1]
        assert re.search(r"\| [\d: -]+ \| [+-]\d+ s \| [+-]\d s \| verified \|", md)
        code, out, err = await run_cli("report", url, "--map", "growatt-protocol-ii", "-o", "-")
        assert code == 0 and out.startswith("# Commissioning report — Growatt CLI0000007"), err
        code, out, err = await run_cli("report", url, "--since", "someday")
        assert code == 1 and err.count("\n") == 1 and "--since" in err


async def test_cli_report_pi30(tmp_path):
    async with simulator("pi30") as target:
        url = f"{target}{'&' if '?' in target else '?'}period=50"
        code, out, err = await run_cli("report", url, "-o", "-")
    assert code == 0, err
    assert out.startswith("# Commissioning report — Voltronic")
    assert "## Values at the time of the report" in out and " V |" in out
    assert "drift now" in out


async def test_tui_f6_writes_the_report(growatt_map, tmp_path):
    from tui_rig import running
    async with running(growatt_map, tmp_path, fast=True) as rig:
        out = await write_one(rig.device, await rig.device.plan_write("active_power_rate", "60"))
        assert out.status == VERIFIED
        await rig.pilot.press("f6")          # the handover form; f6 again writes as it stands
        from solartui.tui.screens.report_form import ReportFormScreen
        await rig.screen(ReportFormScreen)
        await rig.pilot.press("f6")
        await rig.until(lambda: any(m.startswith("report written") for m, _ in rig.notes), 20)
    (note,) = [m for m, _ in rig.notes if m.startswith("report written")]
    html_path = note.split(": ", 1)[1].split(" (and ")[0]
    html = open(html_path, encoding="utf-8").read()
    assert "TEST123456" in html and "active_power_rate" in html
    assert open(html_path[:-5] + ".md", encoding="utf-8").read().startswith("# Commissioning")


def test_trust_section_says_what_the_verification_earns(growatt_map, tmp_path):
    from dataclasses import replace as copy_map

    from solartui.report.content import _verification_text
    from solartui.trust.verifications import record_run
    assert _verification_text(growatt_map).startswith("No simulator verification")
    record_run(growatt_map, {"vpv1": "pass", "vpv2": "fail", "flash_start": "no fixture"})
    text = _verification_text(growatt_map)
    assert "1 pass, 1 fail, 1 without a fixture" in text and "older" not in text
    edited = tmp_path / "edited.yaml"                  # the same id, another text
    edited.write_text(open(growatt_map.path).read() + "# edited\n")
    assert "older text of the map, so it earns nothing" in _verification_text(
        copy_map(growatt_map, path=str(edited)))

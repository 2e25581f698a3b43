"""solarman:// end to end, as a person uses it: `solartui read`, `write` through the gate with
read-back, a refused value that never reaches the wire, the logger's one-line errors (wrong
serial, silent inverter), `report`, the live screen, a site file logged with `log --once`, and
`solartui simulate solarman` in its own process. Loopback only."""

from __future__ import annotations

import csv
import json

import pytest

from solartui.journal import Journal
from solartui.links import solarman_frame as F
from solartui.sim.register_bank import RegisterBank
from solartui.sim.solarman_logger import SolarmanLogger

from procs import one_line_error, run_cli as cli, simulator

MAP = "growatt-protocol-ii"
SERIAL = 2385267882


@pytest.fixture
async def logger(growatt_map):
    bank = RegisterBank(growatt_map, unit=1, identity={"serial": "SOLCLI0001"})
    lg = SolarmanLogger(bank, serial=SERIAL)
    await lg.start()
    lg.url = f"solarman://127.0.0.1:{lg.port}?serial={SERIAL}&unit=1&period=0&timeout=400"
    yield lg
    await lg.stop()


def _writes(lg) -> list:
    """The RTU write requests (FC06/FC16) that reached the logger."""
    return [r for r in (F.parse_rtu_request(F.parse_request(f)) for f in lg.frames)
            if r[1] in (6, 16)]


async def test_read_over_solarman_as_over_tcp(logger):
    code, out, err = await cli("read", logger.url, "--map", MAP, "vac1", "fac", "serial",
                               "--json")
    assert code == 0, err
    rows = {r["name"]: r for r in json.loads(out)}
    assert rows["serial"]["value"].strip() == "SOLCLI0001"
    assert rows["fac"]["unit"] == "Hz" and rows["vac1"]["error"] is None


async def test_read_identifies_the_map_without_map_option(logger):
    code, out, err = await cli("read", logger.url, "vac1", "--json")
    assert code == 0, err
    assert json.loads(out)[0]["name"] == "vac1"


async def test_write_through_the_gate_is_read_back_and_journalled(logger, isolated_home):
    code, out, err = await cli("write", logger.url, "--map", MAP, "active_power_rate=75", "--yes")
    assert code == 0, err
    assert "verified" in out and "FC06" in out and "0x004B" in out
    assert logger.bank(1).get_raw("holding", 3) == [75]
    [entry] = Journal(isolated_home / "state" / "journal.jsonl").entries()
    assert entry["outcome"] == "verified" and entry["device"]["serial"] == "SOLCLI0001"
    assert [w[:3] for w in _writes(logger)] == [(1, 6, 3)]


@pytest.mark.parametrize("assignment,fragment", [("active_power_rate=150", "outside"),
                                                 ("serial=ABC", "read-only"),
                                                 ("factory_reset=1", "guarded")])
async def test_a_refused_value_never_reaches_the_wire(logger, assignment, fragment):
    before = logger.bank(1).get_raw("holding", 3)
    code, out, err = await cli("write", logger.url, "--map", MAP, assignment, "--yes")
    assert fragment in one_line_error(code, err)
    assert _writes(logger) == [] and logger.bank(1).writes == 0
    assert logger.bank(1).get_raw("holding", 3) == before


async def test_wrong_serial_is_one_line_naming_the_real_one(logger):
    url = logger.url.replace(f"serial={SERIAL}", "serial=12345")
    code, out, err = await cli("read", url, "--map", MAP, "vac1")
    line = one_line_error(code, err)
    assert f"has serial {SERIAL}, not 12345: use serial={SERIAL}" in line


async def test_wrong_serial_ignored_is_one_line_pointing_at_serial(logger):
    logger.faults.wrong_serial = "silent"
    url = logger.url.replace(f"serial={SERIAL}", "serial=12345")
    code, out, err = await cli("read", url, "--map", MAP, "vac1")
    line = one_line_error(code, err)
    assert "no answer" in line and "check serial=" in line


async def test_silent_inverter_is_one_line_saying_the_logger_answered(logger):
    logger.faults.inverter_silent = True
    code, out, err = await cli("read", logger.url, "--map", MAP, "vac1")
    line = one_line_error(code, err)
    assert f"logger {SERIAL} at 127.0.0.1:{logger.port} answered, but the inverter behind it " \
           "did not reply" in line
    assert "unit=" in line


async def test_a_silent_logger_is_one_line_timeout(logger):
    logger.faults.silent = True
    code, out, err = await cli("read", logger.url, "--map", MAP, "vac1")
    line = one_line_error(code, err)
    assert "no answer" in line and "within 400 ms" in line


async def test_a_wrong_unit_is_found_and_named(logger):
    code, out, err = await cli("read", logger.url.replace("unit=1", "unit=7"), "--map", MAP,
                               "vac1")
    line = one_line_error(code, err)
    assert "answers on unit 1, not on unit 7" in line and "inverter did not reply" in line


async def test_report_over_solarman(logger):
    code, out, err = await cli("report", logger.url, "--map", MAP, "-o", "-")
    assert code == 0, err
    assert out.startswith("# Commissioning report — Growatt SOLCLI0001")


async def test_a_site_file_device_with_a_solarman_target_is_logged(logger, tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text(f"""schema: 1
site: roof
period: 60
devices:
  - name: deye-1
    target: "{logger.url}"
    map: {MAP}
    points: ["vpv1", "fac", "serial"]
    csv: logs/deye-1.csv
""")
    code, out, err = await cli("log", str(site), "--check")
    assert code == 0, err
    code, out, err = await cli("log", str(site), "--once", "--quiet")
    assert code == 0, err
    with open(tmp_path / "logs" / "deye-1.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, row = rows[0], dict(zip(rows[0], rows[1]))
    assert header[:4] == ["time", "vpv1 (V)", "fac (Hz)", "serial"]
    assert row["serial"].strip() == "SOLCLI0001" and float(row["fac (Hz)"]) > 40


async def test_a_site_file_refuses_two_serials_on_one_logger_and_a_givenergy_map(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text("""schema: 1
site: roof
period: 60
devices:
  - name: a
    target: "solarman://127.0.0.1:8899?serial=1&unit=1"
    map: growatt-protocol-ii
    points: ["vpv1"]
  - name: b
    target: "solarman://127.0.0.1:8899?serial=2&unit=2"
    map: growatt-protocol-ii
    points: ["vpv1"]
  - name: c
    target: "solarman://127.0.0.2:8899?serial=3"
    map: givenergy-hybrid
    points: ["serial"]
""")
    code, out, err = await cli("log", str(site), "--check")
    assert code != 0 and "Traceback" not in err
    assert "one logger has one serial" in err and "is a GivEnergy map" in err


async def test_simulate_solarman_in_its_own_process(tmp_path):
    async with simulator("solarman", "--tcp", "127.0.0.1:0", "--serial", "77",
                         "--map", "modbus-generic") as target:
        assert target.startswith("solarman://127.0.0.1:") and "serial=77&unit=1" in target
        code, out, err = await cli("read", f"{target}&period=0", "--map", "modbus-generic",
                                   "--json")
        assert code == 0, err


async def test_simulate_solarman_with_a_silent_inverter(tmp_path):
    async with simulator("solarman", "--tcp", "127.0.0.1:0", "--fault",
                         "inverter-silent") as target:
        code, out, err = await cli("read", f"{target}&period=0", "--map", MAP, "vac1")
        assert "the inverter behind it did not reply" in one_line_error(code, err)


@pytest.mark.parametrize("args,fragment", [
    (["--fault", "bogus"], "unknown fault 'bogus'"),
    (["--serial", "x9"], "decimal number"),
    (["--baud", "9600"], "--baud is not for 'simulate solarman'"),
    (["--map", "voltronic-pi30"], "PI30 commands"),
])
async def test_simulate_solarman_refuses_bad_options_in_one_line(args, fragment):
    code, out, err = await cli("simulate", "solarman", "--tcp", "127.0.0.1:0", *args)
    assert fragment in one_line_error(code, err)


async def test_the_live_screen_runs_over_solarman(logger, tmp_path):
    from textual.widgets import DataTable

    from solartui.session import Session
    from solartui.traffic import TrafficLog
    from solartui.tui.app import SolartuiApp
    from solartui.tui.screens.live import LiveScreen
    from test_tui_live import row, until

    session = Session(Journal(tmp_path / "journal.jsonl"), TrafficLog())
    await session.connect(logger.url, MAP)
    app = SolartuiApp(session=session)
    async with app.run_test(size=(120, 40)) as pilot:
        assert isinstance(app.screen, LiveScreen)
        table = app.screen.query_one(DataTable)
        logger.bank(1).set_raw("input", 38, [2345])
        await until(pilot, lambda: row(table, "vac1")["value"] == "234.5")
        assert "SOLCLI0001" in app.sub_title


async def test_simulate_site_serves_a_solarman_channel(tmp_path):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    site = tmp_path / "site.yaml"
    site.write_text(f"""schema: 1
site: roof
period: 60
devices:
  - name: deye-1
    target: "solarman://127.0.0.1:{port}?serial=99&unit=1"
    map: {MAP}
    points: ["vpv1"]
  - name: deye-2
    target: "solarman://127.0.0.1:{port}?serial=99&unit=2"
    map: {MAP}
    points: ["vpv1"]
""")
    async with simulator("--site", str(site)) as target:
        assert target == f"solarman://127.0.0.1:{port}?serial=99&unit=1"
        for unit in (1, 2):
            code, out, err = await cli("read", target.replace("unit=1", f"unit={unit}")
                                       + "&period=0", "--map", MAP, "vpv1", "--json")
            assert code == 0, err

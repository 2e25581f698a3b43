"""Errors that point to the fix, against real peers: a refused port, a silent device, a wrong unit
(silence at that unit, or a gateway's exception 11), a device that fits no map — each its own one
line from the CLI — and close matches for unknown point names. Also the recent-targets rules."""

from __future__ import annotations

import asyncio
import socket

import pytest

from solartui.registers import catalog
from solartui.registers.suggest import suggest
from solartui.settings import Settings, load_settings, save_settings, settings_path
from solartui.sim.modbus_server import Faults, ModbusSimulator
from solartui.sim.register_bank import RegisterBank

from procs import one_line_error, run_cli as cli

MAP = "growatt-protocol-ii"
FAST = "timeout=200&period=0"


@pytest.fixture
async def sim(growatt_map):
    faults = Faults()
    server = ModbusSimulator([RegisterBank(growatt_map, unit=1, identity={"serial": "HINT000001"})],
                             faults=faults)
    port = await server.start_tcp("127.0.0.1", 0)
    server.port = port
    yield server
    await server.stop()


def free_port() -> int:
    """A port nobody listens on: bound, then closed."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


async def test_refused_connection_says_so_not_map():
    line = one_line_error(*(await cli("read", f"tcp://127.0.0.1:{free_port()}?unit=1&{FAST}"))[::2])
    assert "connection refused" in line and "check the address and the port" in line
    assert "--map" not in line


async def test_no_answer_names_the_timeout_and_how_to_raise_it(sim):
    sim.faults.silent = True
    line = one_line_error(*(await cli("read", f"tcp://127.0.0.1:{sim.port}?unit=1&{FAST}"))[::2])
    assert "no answer" in line and "within 200 ms" in line and "timeout=" in line
    assert "--map" not in line


async def test_wrong_unit_finds_the_one_that_answers(sim):
    for extra in ([], ["--map", MAP, "vac1"]):
        code, _, err = await cli("read", f"tcp://127.0.0.1:{sim.port}?unit=7&{FAST}", *extra)
        line = one_line_error(code, err)
        assert "answers on unit 1, not on unit 7" in line and "unit=1" in line, line


async def test_gateway_exception_11_is_a_wrong_unit(sim):
    sim.faults.exception = 11
    line = one_line_error(*(await cli("read", f"tcp://127.0.0.1:{sim.port}?unit=1&{FAST}"))[::2])
    assert "exception 11" in line and "gateway target failed" in line and "unit=" in line
    assert "--map" not in line


async def test_answers_but_fits_no_map_names_map_and_browser():
    generic = catalog.resolve("modbus-generic")
    server = ModbusSimulator([RegisterBank(generic, unit=1)])
    port = await server.start_tcp("127.0.0.1", 0)
    try:
        line = one_line_error(*(await cli("read", f"tcp://127.0.0.1:{port}?unit=1&{FAST}"))[::2])
    finally:
        await server.stop()
    assert "answered but fits no known map" in line
    assert "--map" in line and "browser" in line and "f3" in line


async def test_unknown_points_get_close_matches_from_the_cli(sim):
    code, _, err = await cli("read", f"tcp://127.0.0.1:{sim.port}?unit=1&{FAST}", "--map", MAP,
                             "pv1_voltage", "Vpv1x")
    line = one_line_error(code, err)
    assert "'pv1_voltage' (did you mean vpv1?)" in line and "'Vpv1x' (did you mean vpv1" in line
    code, _, err = await cli("write", f"tcp://127.0.0.1:{sim.port}?unit=1&{FAST}", "--map", MAP,
                             "active_power=50", "--yes")
    assert "did you mean active_power_rate" in one_line_error(code, err)


@pytest.mark.parametrize("typed, meant", [
    ("pv1_voltage", "vpv1"), ("Vpv1", "vpv1"), ("PV1Curr", "ipv1"), ("pv1 current", "ipv1"),
    ("pv1_power", "ppv1"), ("grid_frequency", "fac"), ("eac_todya", "eac_today"), ("vac_1", "vac1"),
])
def test_suggestions_by_name_doc_and_words(growatt_map, typed, meant):
    items = [(p.name, p.doc) for p in growatt_map.points]
    assert suggest(typed, items)[0] == meant
    assert "eps_voltage" not in suggest("pv1_voltage", items)


def test_site_file_suggests_the_point_by_its_words(tmp_path):
    from solartui.site.site_file import load_site
    site = tmp_path / "site.yaml"
    site.write_text("devices:\n  - name: inv\n    target: tcp://127.0.0.1:5020?unit=1\n"
                    f"    map: {MAP}\n    points: [pv1_voltage]\n")
    with pytest.raises(Exception) as exc:
        load_site(site)
    assert "did you mean vpv1" in str(exc.value) and "eps_voltage" not in str(exc.value)


# --- recent targets ------------------------------------------------------------------------------

def test_recent_targets_newest_first_without_ptys():
    s = Settings()
    assert s.remember("tcp://192.0.2.1:502?unit=1")         # a documentation address: never dialled
    assert s.remember("rtu:///dev/ttyUSB0?unit=1")
    assert not s.remember("rtu:///dev/pts/7?unit=1")
    assert not s.remember("tcp://127.0.0.1:5020?unit=1", simulated=True)
    assert s.remember("tcp://192.0.2.1:502?unit=1")
    assert s.recent == ["tcp://192.0.2.1:502?unit=1", "rtu:///dev/ttyUSB0?unit=1"]


def test_old_pty_entries_are_dropped_on_load():
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text('recent = ["rtu:///dev/pts/3?unit=1", "rtu:///dev/ttyUSB0?unit=1"]\n')
    assert load_settings().recent == ["rtu:///dev/ttyUSB0?unit=1"]


async def test_tui_remembers_only_identified_real_targets(sim, growatt_map):
    from solartui.tui.app import SolartuiApp
    refused = f"tcp://127.0.0.1:{free_port()}?unit=1&{FAST}"
    real = f"tcp://127.0.0.1:{sim.port}?unit=1&{FAST}"
    demo_sim = ModbusSimulator([RegisterBank(growatt_map, unit=1, identity={"serial": "DEMO000TCP"})])
    demo_port = await demo_sim.start_tcp("127.0.0.1", 0)
    save_settings(Settings())
    app = SolartuiApp()
    app.demo_targets = [f"tcp://127.0.0.1:{demo_port}?unit=1"]
    try:
        async with app.run_test() as pilot:
            for target in (refused, f"tcp://127.0.0.1:{demo_port}?unit=1&{FAST}", real):
                worker = app.connect(target)
                await _settle(worker)
                await pilot.pause()
            assert app.device is not None
            assert app.settings.recent == [real]
            assert load_settings().recent == [real]
    finally:
        await demo_sim.stop()


async def _settle(worker) -> None:
    """A connect worker's end, whether it succeeded or failed (a failure is a notification)."""
    for _ in range(200):
        if worker.is_finished:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("connect did not finish")


async def test_silent_pi30_says_how_long_it_waited_and_how_to_wait_longer(tmp_path):
    from solartui.errors import SolartuiError
    from solartui.journal import Journal
    from solartui.session import Session
    from solartui.sim.pi30_inverter import Pi30Faults, Pi30Inverter
    from solartui.sim.pi30_pty import serve_pi30_on_pty
    server = await serve_pi30_on_pty(Pi30Inverter(faults=Pi30Faults(silent=True)), mode="serial")
    session = Session(Journal(tmp_path / "j.jsonl"))
    try:
        with pytest.raises(SolartuiError) as got:
            await session.connect(f"pi30://{server.client_path}?period=0&timeout=300")
        text = str(got.value)
        assert "within 300 ms" in text and "check the cable" in text
        assert f"pi30://{server.client_path}?timeout=2000" in text and "\n" not in text
    finally:
        await session.close()
        await server.stop()

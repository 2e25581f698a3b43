"""The overview a live screen opens on: the maps' `overview:` sections (loaded, validated,
inferred for maps without one), the Textual-free model, and the screen at 80×24 against the real
simulators (Growatt over Modbus TCP, GivEnergy through its dongle envelope, PI30 on a pty)."""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from solartui.devices.clock import ClockReading
from solartui.devices.overview import FAULT, MISSING, OK, STALE, WARNING, OverviewModel
from solartui.devices.readings import Reading
from solartui.errors import MapError
from solartui.journal import Journal
from solartui.links.stats import LinkStats
from solartui.registers.codec import decode
from solartui.registers.command_map import load_command_map, parse_command_map
from solartui.registers.loader import load_map, parse_map
from solartui.registers.overview import SECTIONS, overview_for
from solartui.session import Session
from solartui.sim.givenergy_dongle import GivEnergyDongle
from solartui.sim.modbus_server import ModbusSimulator
from solartui.sim.pi30_inverter import Pi30Inverter
from solartui.sim.pi30_pty import serve_pi30_on_pty
from solartui.sim.register_bank import RegisterBank
from solartui.traffic import TrafficLog

MAPS = Path(__file__).resolve().parent.parent / "maps"
SMALL = """\
schema: 1
device: {id: small, vendor: Test, name: small}
protocol: modbus
link: {}
points:
  - {name: state, doc: State, table: input, address: 0, type: u16, enum: {0: idle, 1: run, 3: fault}, group: Status}
  - {name: fault_code, doc: Fault, table: input, address: 1, type: u16, group: Status}
  - {name: pv_power, doc: Ppv, table: input, address: 2, type: u16, unit: W, group: PV}
  - {name: pv1_voltage, doc: Vpv1, table: input, address: 3, type: u16, scale: 0.1, unit: V, group: PV}
  - {name: grid_voltage, doc: Vac, table: input, address: 4, type: u16, scale: 0.1, unit: V, group: Grid}
  - {name: grid_frequency, doc: Fac, table: input, address: 5, type: u16, scale: 0.01, unit: Hz, group: Grid}
  - {name: grid_power, doc: Pgrid, table: input, address: 6, type: s16, unit: W, group: Grid}
  - {name: soc, doc: SOC, table: input, address: 7, type: u16, unit: "%", group: Battery}
  - {name: battery_power, doc: Pbat, table: input, address: 8, type: s16, unit: W, group: Battery}
  - {name: load_power, doc: Pload, table: input, address: 9, type: u16, unit: W, group: AC}
  - {name: energy_today, doc: Etoday, table: input, address: 10, type: u16, scale: 0.1, unit: kWh, group: Energy}
  - {name: reset, doc: Reset, table: holding, address: 0, type: u16, access: w, guard: true, group: Settings}
"""


# --- the map data ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["growatt_protocol_ii.yaml", "givenergy_hybrid.yaml"])
def test_shipped_register_maps_have_their_own_overview(path):
    m = load_map(MAPS / path)
    ov = overview_for(m)
    assert m.overview is ov and not ov.inferred
    assert [k for k, _ in ov.sections] == list(SECTIONS)          # every section, in order
    assert len(ov.trend) == 4 and all(m.has_point(n) for n in ov.names)


def test_pi30_command_map_has_its_overview_of_polled_fields():
    m = load_command_map(MAPS / "voltronic_pi30.yaml")
    ov = overview_for(m)
    assert not ov.inferred and ov.section("faults")[0].point == "warnings"
    assert {m.command(m.field(n).command).role for n in ov.names} <= {"live", "settings"}


def test_a_map_without_overview_gets_one_inferred_from_groups_units_and_names():
    ov = overview_for(parse_map(SMALL, "small.yaml"))
    assert ov.inferred
    got = {k: [e.point for e in v] for k, v in ov.sections}
    assert got == {"status": ["state"], "faults": ["fault_code"],
                   "pv": ["pv_power", "pv1_voltage"],
                   "grid": ["grid_voltage", "grid_frequency", "grid_power"],
                   "battery": ["soc", "battery_power"], "load": ["load_power"],
                   "energy": ["energy_today"]}
    assert [e.point for e in ov.trend] == ["pv_power", "grid_power", "battery_power", "load_power"]
    generic = overview_for(load_map(MAPS / "modbus_generic.yaml"))      # no points: no sections
    assert generic.sections == () and generic.trend == ()


def test_overview_section_is_validated_with_line_and_close_matches():
    bad = SMALL + """\
overview:
  pv: [pv_pwr, {point: pv1_voltage, label: PV1}]
  grid: [{point: grid_voltage, colour: red}]
  battery: [soc, soc]
  load: [reset]
  weather: [soc]
  trend: [state]
  energy: [energy_today, pv_power, grid_power, soc, load_power, battery_power]
"""
    with pytest.raises(MapError) as err:
        parse_map(bad, "small.yaml")
    text = "\n".join(err.value.findings)
    assert "small.yaml:19: overview.pv: no point 'pv_pwr' in this map (did you mean pv_power?)" in text
    assert "small.yaml:20: overview.grid: unknown key 'colour'" in text
    assert "overview.battery: 'soc' is listed twice" in text
    assert "overview.load: 'reset' is write-only" in text
    assert "unknown section 'weather'" in text
    assert "overview.trend: 'state' is not a number" in text
    assert "overview.energy lists 6 entries; at most 5 fit" in text
    assert "Traceback" not in text


def test_command_map_overview_refuses_fields_the_live_screen_does_not_poll():
    text = (MAPS / "voltronic_pi30.yaml").read_text(encoding="utf-8")
    text = text.replace("  faults: [{point: warnings, label: \"\"}]",
                        "  faults: [serial_number, warnigns]")
    with pytest.raises(MapError) as err:
        parse_command_map(text, "pi30.yaml")
    found = "\n".join(err.value.findings)
    assert "'serial_number' is answered by QID (role identity), which the live screen does not poll" in found
    assert "no point 'warnigns' in this map (did you mean warnings?)" in found


# --- the model -----------------------------------------------------------------------------

def reading(m, name: str, raw: int, t: float | None = None) -> Reading:
    p = m.point(name)
    return Reading(p, decode(p, [raw] if p.count == 1 else [0, raw]), t or time.time())


def test_model_says_it_in_words_keeps_trends_and_marks_stale_values():
    m = parse_map(SMALL, "small.yaml")
    model = OverviewModel(overview_for(m), {"pv_power": "W"}, history=3)
    before = {line.key: line for line in model.lines()}
    assert before["pv"].parts[0].state == MISSING and before["clock"].text == "reading…"
    for raw in (100, 200, 300, 400):
        model.update([reading(m, "state", 1), reading(m, "fault_code", 0),
                      reading(m, "pv_power", raw)])
    lines = {line.key: line for line in model.lines()}
    assert lines["status"].text == "state run" and lines["status"].state == OK
    assert lines["faults"].text == "none" and lines["faults"].state == OK
    assert lines["pv"].text.startswith("pv power 400 W")
    assert lines["energy"].title == "Today"
    trend = model.trends()[0]
    assert trend.values == (200.0, 300.0, 400.0) and trend.last == "400 W"   # a ring of 3

    model.update([reading(m, "state", 3), reading(m, "fault_code", 23)])
    lines = {line.key: line for line in model.lines()}
    assert lines["status"].state == FAULT                 # "fault" in words is a fault
    assert lines["faults"].text == "fault code 23" and lines["faults"].state == FAULT

    model.link_down("no answer after 200 ms")
    lines = {line.key: line for line in model.lines()}
    assert lines["pv"].parts[0].state == STALE            # kept, greyed
    assert lines["link"].state == FAULT and "not answering: no answer" in lines["link"].text


def test_clock_drift_and_link_health():
    m = parse_map(SMALL, "small.yaml")
    model = OverviewModel(overview_for(m), has_clock=True)
    host = datetime(2026, 12, 4, 8, 0, 0)
    model.clock_read(ClockReading(host + timedelta(seconds=90), host, ()))
    clock = {line.key: line for line in model.lines()}["clock"]
    assert clock.state == WARNING and clock.text.startswith("drift +90.5 s")
    model.clock_read(ClockReading(None, host, (), "no answer"))
    assert "unreadable: no answer" in model.lines()[-2].text
    stats = LinkStats(requests=10, replies=10, last_latency=0.012)
    model.set_link(stats, 4.27)
    link = model.lines()[-1]
    assert link.state == OK and link.text.startswith("ok · refresh 4.27 s · reply 12 ms")
    stats.timeouts, stats.requests = 2, 15
    model.set_link(stats, 4.3)
    assert model.lines()[-1].state == WARNING and "2 failed in the last pass" in model.lines()[-1].text
    assert OverviewModel(overview_for(m), has_clock=False).lines()[-2].text == "no clock in this map"


# --- the screen, at 80×24, against the simulators --------------------------------------------

def screen_text(app) -> str:
    """What the terminal shows, as lines of text (from the SVG screenshot)."""
    import html
    import re
    rows: dict[float, list] = {}
    for mt in re.finditer(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>',
                          app.export_screenshot()):
        rows.setdefault(float(mt.group(2)), []).append(
            (float(mt.group(1)), html.unescape(re.sub("<[^>]+>", "", mt.group(3)))))
    lines = []
    for _, row in sorted(rows.items()):
        line = ""
        for x, t in sorted(row):                 # runs of blanks are gaps: place by column
            line = line.ljust(round(x / 12.2)) + t
        lines.append(line.replace("\xa0", " "))
    return "\n".join(lines)


async def until(pilot, cond, timeout=10.0):
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "condition not reached"
        await pilot.pause(0.05)


@asynccontextmanager
async def app_on(kind: str, tmp_path):
    from solartui.tui.app import SolartuiApp
    session = Session(Journal(tmp_path / "j.jsonl"), TrafficLog())
    stop = None
    if kind == "growatt":
        bank = RegisterBank(load_map(MAPS / "growatt_protocol_ii.yaml"), unit=1,
                            identity={"serial": "OVW0000001"})
        sim = ModbusSimulator([bank])
        port = await sim.start_tcp("127.0.0.1", 0)
        await session.connect(f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=1000",
                              "growatt-protocol-ii")
        stop = sim.stop
    elif kind == "givenergy":
        dongle = GivEnergyDongle(heartbeat_interval=0.3, unsolicited_interval=0.2)
        port = await dongle.start()
        await session.connect(f"givenergy://127.0.0.1:{port}?period=0&timeout=1000")
        stop = dongle.stop
    else:
        inverter = Pi30Inverter()
        inverter.warnings = {1}                          # inverter fault
        server = await serve_pi30_on_pty(inverter)
        await session.connect(f"pi30://{server.client_path}?period=0&timeout=800")
        stop = server.stop
    try:
        app = SolartuiApp(session=session)
        async with app.run_test(size=(80, 24)) as pilot:
            yield app, pilot
    finally:
        await session.close()
        await stop()


WANTED = {
    "growatt": ["Status  normal", "Faults  none", "PV ", "Grid ", "Hz", "import", "export",
                "Battery SOC", "Load ", "Today ", "kWh", "Clock   drift", "Link    ok"],
    "givenergy": ["Status ", "Faults ", "PV      PV1", "Grid ", "Hz", "+export/−import",
                  "Battery SOC", "Load    house", "Today   PV", "Clock   drift", "Link    ok"],
    "pi30": ["Status ", "Faults  inverter fault", "PV ", "Grid ", "Hz", "Battery SOC",
             "Load ", "Today   not in this map", "Clock ", "Link    ok"],
}


@pytest.mark.parametrize("kind", ["growatt", "givenergy", "pi30"])
async def test_live_screen_opens_on_the_whole_overview_at_80x24(kind, tmp_path):
    from solartui.tui.screens.overview import OverviewPanel
    async with app_on(kind, tmp_path) as (app, pilot):
        await until(pilot, lambda: app.screen.query(OverviewPanel))
        screen = app.screen
        await until(pilot, lambda: "Link    ok" in screen_text(app)
                    and "Clock   reading" not in screen_text(app), timeout=15)
        text = screen_text(app)
        for wanted in WANTED[kind]:
            assert wanted in text, (wanted, text)
        panel = screen.query_one("#overview", OverviewPanel)
        # the whole overview on the first screen: its last trend row ends above the status line
        last_row = list(panel.query(".ov-trend"))[-1]
        assert last_row.region.bottom <= screen.query_one("#status").region.y
        assert panel.region.bottom <= 23
        await until(pilot, lambda: all(len(s.data or ()) >= 2 for s in panel.query(".ov-spark")))
        if kind == "pi30":                   # a set fault is red, in words
            assert screen.overview.lines()[1].state == FAULT


async def test_t_toggles_the_table_and_e_from_the_overview_brings_it_up(tmp_path):
    from textual.widgets import DataTable
    async with app_on("growatt", tmp_path) as (app, pilot):
        await until(pilot, lambda: getattr(app.screen, "overview", None) is not None)
        screen = app.screen
        table = screen.query_one("#points", DataTable)
        view = screen.query_one("#table-view")
        assert screen.query_one("#overview").display and not view.display
        titles = [c.title for c in app.get_system_commands(screen)]
        assert "Table" in titles and "Write" in titles        # t and e in the palette
        await pilot.press("f1")                                # and in Help
        await until(pilot, lambda: app.screen is not screen)
        assert ("t", "Table", "Live") in [tuple(r) for r in app.screen.rows]
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        await pilot.press("t")
        await until(pilot, lambda: view.display and table.has_focus)
        assert not screen.query_one("#overview").display
        assert "Overview" in [c.title for c in app.get_system_commands(screen)]
        await pilot.press("t")
        await until(pilot, lambda: screen.query_one("#overview").display)
        await pilot.press("e")                                 # needs a row: the table comes up
        await until(pilot, lambda: view.display)
        assert app.screen is screen
        assert any("choose the point" in n.message for n in app._notifications)
        await pilot.press("t", "slash")                        # / from the overview: the filter
        await until(pilot, lambda: screen.query_one("#filter").has_focus)

"""`solartui maps import ha-solarman`: a small definition written for these tests (never the
integration's files) becomes a map the normal loader accepts; each rule, word order, scale,
lookup, mask and writable limit lands where it should; what cannot be converted is named item by
item; the imported map reads from our Modbus simulator and its writes are range-checked by the
gate; `maps verify` works on it with a fixture. Bad files end in one line, exit 2."""

from __future__ import annotations

import json

import pytest

from solartui.errors import MapError
from solartui.registers.ha_solarman import convert
from solartui.registers.loader import load_map, parse_map
from solartui.sim.modbus_server import ModbusSimulator
from solartui.sim.register_bank import RegisterBank

from conftest import ROOT
from procs import run_cli as cli

DEF = ROOT / "tests" / "ha_solarman" / "small_hybrid.yaml"


@pytest.fixture(scope="module")
def imported():
    return convert(DEF.read_text(), str(DEF))


@pytest.fixture(scope="module")
def pmap(imported):
    return parse_map(imported.text, "imported.yaml")


def test_the_result_loads_at_the_generated_rung(pmap):
    assert pmap.trust == "generated" and pmap.id == "ha-small-hybrid"
    assert pmap.vendor == "Testco" and pmap.protocol == "modbus"


@pytest.mark.parametrize("name,table,address,typ,count", [
    ("pv1_power", "input", 0x100, "u16", 1),          # rule 1
    ("total_production", "input", 0x102, "u32", 2),   # rule 2
    ("grid_current", "input", 0x106, "s16", 1),       # rule 3
    ("grid_power", "input", 0x104, "s32", 2),         # rule 4
    ("serial_number", "holding", 3, "ascii", 5),      # rule 5
    ("protocol_version", "holding", 2, "u16", 1),     # rule 7, one register
    ("slot_1_start", "holding", 11, "hhmm_dec", 1),   # rule 9
])
def test_each_rule_becomes_a_type(pmap, name, table, address, typ, count):
    p = pmap.point(name)
    assert (p.table, p.address, p.type, p.count) == (table, address, typ, count)


def test_word_order_follows_the_listed_registers(pmap):
    assert pmap.point("total_production").words == "little"     # [0x102, 0x103]: low first
    assert pmap.point("grid_power").words == "big"              # [0x105, 0x104]: high first


def test_scale_unit_lookup_and_mask(pmap):
    assert pmap.point("pv1_voltage").scale == 0.1 and pmap.point("pv1_voltage").unit == "V"
    assert pmap.point("grid_frequency").unit == "Hz"
    assert pmap.point("battery_status").enum == {0: "Charge", 1: "Stand-by", 2: "Discharge"}
    fan, lost = pmap.point("fan_fault"), pmap.point("grid_lost")
    assert fan.bits == {2: "Fan Fault"} and lost.bits == {4: "Grid Lost"}
    assert lost.alias_of == "fan_fault" and fan.address == lost.address == 0x20


def test_an_offset_carries_over_in_raw_units(pmap):
    """ha-solarman's value = (raw − offset) × scale is the map's own `offset`: Deye's battery
    temperature, raw 1254 with offset 1000 at 0.1, is 25.4 °C; raw 946 is −5.4 °C."""
    from solartui.registers.codec import decode
    p = pmap.point("battery_temperature")
    assert (p.offset, p.scale, p.unit) == (1000, 0.1, "°C")
    assert decode(p, [1254]).value == 25.4 and decode(p, [946]).text == "-5.4 °C"


def test_writable_items_carry_their_limits(pmap):
    mode = pmap.point("work_mode")
    assert mode.writable and mode.enum[2] == "Zero export to CT"
    cur = pmap.point("max_charge_current")
    assert cur.writable and cur.range == (0, 185)
    low = pmap.point("battery_low_voltage")            # raw range 4000-5800 at scale 0.01
    assert low.writable and low.range == (40.0, 58.0)
    assert pmap.point("slot_1_start").writable
    assert not pmap.point("power_factor_setting").writable     # configurable without limits
    assert not pmap.point("pv1_power").writable


def test_what_could_not_be_converted_is_named_item_by_item(imported):
    skipped = dict(imported.skipped)
    assert set(skipped) == {"Device Clock", "Grid Energy Wide", "Half Offset",
                            "Fault Group", "Odd Split", "Something New"}
    assert "whole number of raw units" in skipped["Half Offset"]
    assert "not adjacent" in skipped["Odd Split"]
    assert "0x00F0" in skipped["Fault Group"]
    assert "rule 11" in skipped["Something New"]
    changed = dict(imported.changed)
    assert "read-only" in changed["Power Factor Setting"]


def test_an_item_outside_every_request_says_where_it_is_read(pmap):
    p = pmap.point("outside_requests")
    assert p.table == "holding" and "not inside any request" in p.note


def test_repeated_names_and_loader_refusals_do_not_break_the_import():
    text = """
requests: [{start: 0, end: 10, mb_functioncode: 3}]
parameters:
  - group: Settings
    items:
      - {name: "Power", rule: 1, registers: [1]}
      - {name: "Power", rule: 1, registers: [2]}
      - {name: "Too Big", rule: 1, registers: [3], configurable: {min: 0, max: 70000}}
      - {name: "Half", rule: 2, registers: [1, 2]}
"""
    got = convert(text, "dup.yaml")
    names = [p["name"] for p in got.data["points"]]
    assert names == ["power", "power_2"]
    why = dict(got.skipped)
    assert "does not fit" in why["Too Big"] and "overlap" in why["Half"]
    parse_map(got.text, "dup.yaml")


@pytest.mark.parametrize("text,fragment", [
    ("parameters: [\n  - {name: x\n", "not valid YAML"),
    ("a: !!python/object:os.system x\n", "not valid YAML"),
    ("requests: []\n", "not an ha-solarman definition"),
    ("- 1\n- 2\n", "not an ha-solarman definition"),
])
def test_a_file_that_is_no_definition_is_a_map_error(text, fragment):
    with pytest.raises(MapError) as exc:
        convert(text, "bad.yaml")
    assert fragment in exc.value.findings[0]


async def test_cli_writes_the_map_and_reports_each_item(tmp_path):
    out = tmp_path / "imported.yaml"
    code, stdout, err = await cli("maps", "import", "ha-solarman", str(DEF), "-o", str(out))
    assert code == 0, err
    assert stdout.startswith("imported 19 point(s) at rung generated")
    lines = stdout.splitlines()
    assert "not converted: Half Offset: offset 2.5: a solartui offset is a whole number of raw " \
           "units (the value would be wrong by the fraction × scale)" in lines
    assert sum(1 for ln in lines if ln.startswith("not converted: ")) == 6
    load_map(out)
    code, stdout, err = await cli("maps", "check", str(out))
    assert code == 0, stdout + err
    code, stdout, err = await cli("maps", "import", "ha-solarman", str(DEF), "-o", str(out))
    assert code != 0 and "exists" in err and len(err.strip().splitlines()) == 1    # twice


@pytest.mark.parametrize("content", ["parameters: [\n", "requests: []\n", None])
async def test_cli_bad_file_is_one_line_exit_2(tmp_path, content):
    f = tmp_path / "bad.yaml"
    if content is not None:
        f.write_text(content)
    code, out, err = await cli("maps", "import", "ha-solarman", str(f))
    assert code == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and err.startswith("solartui: ")


@pytest.fixture
async def served(tmp_path):
    path = tmp_path / "imported.yaml"
    path.write_text(convert(DEF.read_text(), str(DEF)).text)
    m = load_map(path)
    bank = RegisterBank(m, unit=1)
    bank.set_raw("input", 0x100, [3210])
    bank.set_raw("input", 0x104, [0xFFFF, 0xFB2E])      # high word first: -1234
    bank.set_raw("input", 0x102, [0x86A0, 0x0001])      # low word first: 100000 -> 10000.0
    bank.set_raw("holding", 9, [60])
    server = ModbusSimulator([bank])
    port = await server.start_tcp("127.0.0.1", 0)
    server.bank, server.path = bank, str(path)
    server.url = f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=300"
    yield server
    await server.stop()


async def test_the_imported_map_reads_from_the_simulator(served):
    code, out, err = await cli("read", served.url, "--map", served.path, "pv1_power",
                               "grid_power", "total_production", "--json")
    assert code == 0, err
    rows = {r["name"]: r["value"] for r in json.loads(out)}
    assert rows == {"pv1_power": 3210, "grid_power": -1234, "total_production": 10000.0}


async def test_a_write_through_the_gate_is_range_checked(served):
    code, out, err = await cli("write", served.url, "--map", served.path,
                               "max_charge_current=200", "--yes")
    assert code != 0 and "outside" in err and len(err.strip().splitlines()) == 1
    assert served.bank.get_raw("holding", 9) == [60] and served.bank.writes == 0
    code, out, err = await cli("write", served.url, "--map", served.path,
                               "max_charge_current=100", "--yes")
    assert code == 0, err
    assert served.bank.get_raw("holding", 9) == [100]


async def test_maps_verify_on_an_imported_map_with_a_fixture(tmp_path):
    path = tmp_path / "imported.yaml"
    path.write_text(convert(DEF.read_text(), str(DEF)).text)
    fixture = tmp_path / "fixture.yaml"
    fixture.write_text(
        "schema: 1\nmap: ha-small-hybrid\nsource: worked by hand from the test definition\n"
        "points:\n"
        "  pv1_voltage: {table: input, address: 0x101, words: [0x0F23], expect: 387.5}\n"
        "  total_production: {table: input, address: 0x102, words: [0x0001, 0x0002], "
        "expect: 13107.3}\n"
        "  grid_power: {table: input, address: 0x104, words: [0xFFFF, 0xFF38], expect: -200}\n"
        "  battery_status: {table: input, address: 0x10E, words: [2], expect: Discharge}\n"
        "  battery_temperature: {table: input, address: 0x10D, words: [946], expect: -5.4}\n"
        "  slot_1_start: {table: holding, address: 11, words: [2215], expect: \"22:15\"}\n")
    code, out, err = await cli("maps", "verify", str(path), "--fixture", str(fixture))
    assert code == 0, out + err
    assert "6 pass, 0 fail" in out


async def test_the_imported_map_logs_and_reports(served, tmp_path):
    """The imported map works with `log` (a site file naming the file) and `report`."""
    site = tmp_path / "site.yaml"
    site.write_text(f"""schema: 1
site: imported
period: 60
error_log: {tmp_path / 'errors.log'}
devices:
  - name: deye
    target: "{served.url}"
    map: {served.path}
    unit: 1
    points: [pv1_power, grid_power, total_production]
    csv: {tmp_path / 'deye.csv'}
""")
    code, out, err = await cli("log", str(site), "--once")
    assert code == 0, err
    lines = (tmp_path / "deye.csv").read_text().splitlines()
    assert len(lines) == 2 and "3210" in lines[1] and "-1234" in lines[1]
    report = tmp_path / "report.md"
    code, out, err = await cli("report", served.url, "--map", served.path, "-o", str(report),
                               "--site", "imported", "--customer", "c", "--installer", "i")
    assert code == 0, err
    text = report.read_text()
    assert "pv1_power" in text and "3210" in text


async def test_the_imported_map_on_the_live_screen(served):
    from textual.widgets import DataTable

    from solartui.tui.app import SolartuiApp
    from solartui.tui.screens.live import LiveScreen
    from test_tui_live import row, until

    app = SolartuiApp(served.url, served.path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LiveScreen), timeout=20)
        if app.screen.query("#points"):
            table = app.screen.query_one("#points", DataTable)
        else:                                   # opened on the overview: `t` shows the table
            await pilot.press("t")
            table = app.screen.query_one("#points", DataTable)
        await until(pilot, lambda: table.row_count > 0)
        await until(pilot, lambda: row(table, "pv1_power")["value"] != "", timeout=20)
        assert row(table, "pv1_power")["value"].startswith("3210")

"""`solartui maps verify`: every shipped map decodes its hand-written fixture from the real
simulators (loopback TCP for Modbus and GivEnergy, a pty for PI30); a map with one deliberate
mistake (scale, word order, address, enum label) fails exactly that point; a bad fixture is one
clear line; a run is recorded and earns the simulator-verified rung for that exact map text."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from solartui.errors import SolartuiError
from solartui.registers import catalog
from solartui.trust.fixture import FixtureError, fixture_for, load_fixture, parse_fixture
from solartui.trust.verifications import record_run, verified_points
from solartui.trust.verify import FAIL, NO_FIXTURE, PASS, verify

from conftest import ROOT
from procs import one_line_error, run_cli

SHIPPED = ["growatt-protocol-ii", "givenergy-hybrid", "voltronic-pi30", "growatt-legacy",
           "growatt-spf", "sungrow-hybrid", "sungrow-string", "deye-hybrid", "deye-hybrid-3p-lv"]
# the GivEnergy family maps (their fixtures are checked in test_givenergy_families.py)
FAMILY_MAPS = ["givenergy-ac", "givenergy-ems", "givenergy-gateway", "givenergy-three-phase"]
WRITE_ONLY = {"growatt-protocol-ii": {"flash_start", "reset_user_info", "factory_reset"},
              "givenergy-hybrid": {"reboot"}, "voltronic-pi30": set(), "growatt-legacy": set(),
              "growatt-spf": set(), "sungrow-hybrid": set(), "sungrow-string": set(),
              "deye-hybrid": set(), "deye-hybrid-3p-lv": set()}
# tests/maps: copies of the GivEnergy map, each with one mistake, and the point it must fail
BROKEN = {"givenergy_wrong_scale.yaml": "v_pv1", "givenergy_swapped_words.yaml": "e_pv_total",
          "givenergy_wrong_address.yaml": "p_load_demand",
          "givenergy_wrong_enum.yaml": "battery_type"}
GOOD_SEED = "  vpv1: {table: input, address: 3, words: [0x0929], expect: 234.5}\n"



def fixture_text(body: str, map_id: str = "growatt-protocol-ii") -> str:
    return f"schema: 1\nmap: {map_id}\nsource: test\npoints:\n{body}"


async def run_map(name: str):
    m = catalog.resolve(str(name))
    return m, await verify(m, fixture_for(m))


# --- the shipped maps agree with their documents ------------------------------------------------

@pytest.mark.parametrize("map_id", SHIPPED)
async def test_shipped_map_passes_its_fixture(map_id):
    m, run = await run_map(map_id)
    fails = [v for v in run.verdicts if v.verdict == FAIL]
    assert not fails, "\n".join(f"{v.name}: expected {v.expected}, decoded {v.decoded} "
                                f"{v.raw} {v.detail}" for v in fails)
    missing = {v.name for v in run.verdicts if v.verdict == NO_FIXTURE}
    assert missing == WRITE_ONLY[map_id]        # every readable point has a known-true value
    assert run.count(PASS) > 50
    assert run.seconds < 5


async def test_fixture_entries_are_all_judged():
    """Nothing in a fixture is silently skipped: every entry becomes a verdict."""
    for map_id in ("growatt-protocol-ii", "givenergy-hybrid"):
        m, run = await run_map(map_id)
        fx = fixture_for(m)
        judged = {v.name for v in run.verdicts if v.verdict == PASS and v.kind == "point"}
        assert judged == set(fx.points)
        assert any(v.kind == "clock" and v.verdict == PASS for v in run.verdicts)
        assert {v.name for v in run.verdicts if v.kind == "identify"} == set(fx.identify)


# --- deliberate mistakes are caught, exactly where they are -------------------------------------

@pytest.mark.parametrize("file,point", sorted(BROKEN.items()))
async def test_broken_map_fails_exactly_that_point(file, point):
    _, run = await run_map(ROOT / "tests" / "maps" / file)
    assert [v.name for v in run.verdicts if v.verdict == FAIL] == [point]
    bad = next(v for v in run.verdicts if v.name == point)
    assert bad.expected and bad.decoded and bad.expected != bad.decoded and bad.raw


async def test_swapped_words_show_the_raw_words():
    _, run = await run_map(ROOT / "tests" / "maps" / "givenergy_swapped_words.yaml")
    bad = next(v for v in run.verdicts if v.verdict == FAIL)
    assert bad.raw == "0x0002 0x1A3B" and bad.expected == "13778.7 kWh"
    assert bad.decoded == "44007424.2 kWh"


async def test_growatt_word_order_is_caught_over_modbus_tcp(tmp_path):
    text = (ROOT / "maps" / "growatt_protocol_ii.yaml").read_text()
    old = "{name: pac1, doc: Pac1 H / L, table: input, address: 40, type: u32,"
    assert text.count(old) == 1
    broken = tmp_path / "growatt_little.yaml"
    broken.write_text(text.replace(old, old + " words: little,"))
    _, run = await run_map(broken)
    assert [v.name for v in run.verdicts if v.verdict == FAIL] == ["pac1"]


async def test_pi30_wrong_index_and_scale_are_caught_over_a_pty(tmp_path):
    text = (ROOT / "maps" / "voltronic_pi30.yaml").read_text()
    edits = [("{name: ac_input_frequency, index: 1,", "{name: ac_input_frequency, index: 3,"),
             ("{name: ac_output_frequency, index: 3,", "{name: ac_output_frequency, index: 1,"),
             ("{name: battery_voltage_offset_fans_on, index: 17, type: int, scale: 10,",
              "{name: battery_voltage_offset_fans_on, index: 17, type: int, scale: 1,"),
             ('setter: "PBFT{:04.1f}"', 'setter: "PBFT{:05.2f}"')]
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    broken = tmp_path / "pi30_broken.yaml"
    broken.write_text(text)
    _, run = await run_map(broken)
    fails = {(v.kind, v.name) for v in run.verdicts if v.verdict == FAIL}
    assert fails == {("field", "ac_input_frequency"), ("field", "ac_output_frequency"),
                     ("field", "battery_voltage_offset_fans_on"),
                     ("setting", "battery_float_voltage")}
    assert "PBFT54.00" in next(v.detail for v in run.verdicts
                               if v.kind == "setting" and v.verdict == FAIL)
    # the setting shares its name with its read-back field: the name earns nothing
    assert run.recorded()["battery_float_voltage"] == FAIL


async def test_a_field_the_map_reads_from_another_query_fails(tmp_path):
    fx_text = (ROOT / "maps" / "fixtures" / "voltronic-pi30.yaml").read_text()
    # the document puts the grid rating in QPIRI; a fixture claiming QPIGS does not match the map
    fx_text = fx_text.replace("      grid_rating_voltage: 230.0                  # 0\n", "")
    fx_text = fx_text.replace("      ac_input_voltage: 228.4 ",
                              "      grid_rating_voltage: 228.4\n      ac_input_voltage: 228.4 ")
    fx = tmp_path / "pi30.yaml"
    fx.write_text(fx_text)
    m = catalog.resolve("voltronic-pi30")
    run = await verify(m, fixture_for(m, fx))
    bad = [v for v in run.verdicts if v.verdict == FAIL]
    assert [v.name for v in bad] == ["grid_rating_voltage"] and "QPIRI" in bad[0].detail


# --- fixtures are checked like maps: every problem, with its line --------------------------------

def test_fixture_errors_name_file_and_line(tmp_path):
    cases = {
        "yaml": (fixture_text(GOOD_SEED + "  ipv1: {table: input, address: [4\n"),
                 "not valid YAML"),
        "missing expect": (fixture_text(GOOD_SEED + "  ipv1: {table: input, address: 4, words: [87]}\n"),
                           ":6: point ipv1: missing 'expect'"),
        "conflict": (fixture_text(GOOD_SEED + "  ppv1: {table: input, address: 5, words: [1, 2], expect: 6553.8}\n"
                                  "  ipv1: {table: input, address: 4, words: [87, 9], expect: 8.7}\n"),
                     "conflicting seeds"),
        "unknown key": (fixture_text(GOOD_SEED + "  ipv1: {table: input, adress: 4, words: [87], expect: 8.7}\n"),
                        "unknown key 'adress'"),
        "bad words": (fixture_text("  ipv1: {table: input, address: 4, words: [70000], expect: 8.7}\n"),
                      "words must be a list of register values"),
    }
    for what, (text, needle) in cases.items():
        with pytest.raises(FixtureError) as exc:
            parse_fixture(text, "fx.yaml")
        assert needle in str(exc.value), (what, str(exc.value))
        assert str(exc.value).startswith("fx.yaml:"), what
        assert "\n" not in str(exc.value)


def test_conflict_names_both_entries():
    text = fixture_text(GOOD_SEED + "  ppv1: {table: input, address: 5, words: [1, 2], expect: 6553.8}\n"
                        "  ipv1: {table: input, address: 4, words: [87, 9], expect: 8.7}\n")
    with pytest.raises(FixtureError) as exc:
        parse_fixture(text, "fx.yaml")
    assert str(exc.value) == ("fx.yaml:7: ipv1 seeds input 5 = 0x0009, but ppv1 (line 6) seeds "
                              "it 0x0001: conflicting seeds")


def test_unknown_point_and_wrong_map(tmp_path):
    m = catalog.resolve("growatt-protocol-ii")
    f = tmp_path / "fx.yaml"
    f.write_text(fixture_text(GOOD_SEED + "  no_such_point: {table: input, address: 9, words: [1], expect: 1}\n"))
    with pytest.raises(FixtureError, match=r"fx.yaml:6: point no_such_point: not in map growatt"):
        fixture_for(m, f)
    f.write_text(fixture_text(GOOD_SEED, map_id="givenergy-hybrid"))
    with pytest.raises(FixtureError, match="is for map 'givenergy-hybrid', not 'growatt-protocol-ii'"):
        fixture_for(m, f)
    with pytest.raises(FixtureError) as exc:
        fixture_for(catalog.resolve("voltronic-pi30"),
                    ROOT / "maps" / "fixtures" / "givenergy-hybrid.yaml")
    assert any("needs a fixture with commands" in x for x in exc.value.findings)


def test_command_fixture_errors():
    base = "schema: 1\nmap: voltronic-pi30\nsource: test\ncommands:\n"
    for body, needle in (
            ("  QPI: {response: \"(PI30\", fields: {protocol_id: PI30}}\n", "without '('"),
            ("  QPI: {response: PI30, fields: {protocol_id: }}\n", "field protocol_id: the expected value is empty"),
            ("  QPI: {response: PI30}\nsettings:\n  buzzer: {setter: PEa}\n", "setting buzzer: missing 'expect'")):
        with pytest.raises(FixtureError, match=re.escape(needle)):
            parse_fixture(base + body, "fx.yaml")


def test_shipped_fixtures_load():
    for map_id in SHIPPED:
        fx = load_fixture(ROOT / "maps" / "fixtures" / f"{map_id}.yaml")
        assert fx.map_id == map_id and fx.source


# --- evidence: recorded, bound to the map text ----------------------------------------------------

async def test_run_is_recorded_and_an_edit_voids_it(tmp_path):
    copy = tmp_path / "givenergy_hybrid.yaml"
    shutil.copy(ROOT / "maps" / "givenergy_hybrid.yaml", copy)
    m, run = await run_map(copy)
    record_run(m, run.recorded())
    verified = verified_points(m)
    assert "v_pv1" in verified and "e_pv_total" in verified and "identify:serial" in verified
    assert "reboot" not in verified                     # no fixture: earns nothing
    copy.write_text(copy.read_text() + "# an edit\n")
    assert verified_points(catalog.resolve(str(copy))) == frozenset()


async def test_a_failing_point_earns_nothing(tmp_path):
    m, run = await run_map(ROOT / "tests" / "maps" / "givenergy_wrong_scale.yaml")
    record_run(m, run.recorded())
    verified = verified_points(m)
    assert "v_pv1" not in verified and "v_pv2" in verified


# --- the command line ---------------------------------------------------------------------------

async def test_cli_verifies_every_shipped_map_and_records(isolated_home):
    code, out, err = await run_cli("maps", "verify")
    assert code == 0, err
    for map_id in SHIPPED + FAMILY_MAPS:
        assert f"{map_id} (" in out
    assert out.count(" 0 fail") == len(SHIPPED + FAMILY_MAPS)
    assert "earned: simulator-verified for" in out
    assert "FAIL" not in out
    store = isolated_home / "state" / "evidence" / "verifications.jsonl"
    runs = [json.loads(line) for line in store.read_text().splitlines()]
    assert sorted(r["map_id"] for r in runs) == sorted(SHIPPED + FAMILY_MAPS)
    assert all(r["digest"] for r in runs)


async def test_cli_broken_maps_fail_with_exit_1():
    files = [str(ROOT / "tests" / "maps" / f) for f in sorted(BROKEN)]
    code, out, err = await run_cli("maps", "verify", *files, "--json")
    assert code == 1, err
    runs = json.loads(out)["runs"]
    for r, f in zip(runs, sorted(BROKEN)):
        fails = [v["name"] for v in r["verdicts"] if v["verdict"] == FAIL]
        assert fails == [BROKEN[f]], f
        assert r["fail"] == 1 and BROKEN[f] not in r["earned"]


async def test_cli_table_shows_the_failure():
    code, out, err = await run_cli("maps", "verify",
                                   str(ROOT / "tests" / "maps" / "givenergy_wrong_scale.yaml"))
    assert code == 1
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("v_pv1"))
    assert "312.3 V" in line and "31.23 V" in line and line.rstrip().endswith("FAIL")
    assert "raw 0x0C33" in out
    assert "86 pass, 1 fail, 1 no fixture" in out
    assert one_line_error(code, err) == "solartui: verification failed: 1 point(s) of givenergy-hybrid"


@pytest.mark.parametrize("body,needle", [
    ("  vpv1: {table: input, address: [3\n", "not valid YAML"),
    ("  nope: {table: input, address: 3, words: [1], expect: 1}\n", "point nope: not in map"),
    (GOOD_SEED + "  ppv1: {table: input, address: 2, words: [1, 2], expect: 6553.8}\n", "conflicting seeds"),
    ("  vpv1: {table: input, address: 3, words: [0x0929]}\n", "point vpv1: missing 'expect'"),
])
async def test_cli_bad_fixture_is_one_line(tmp_path, body, needle):
    f = tmp_path / "fx.yaml"
    f.write_text(fixture_text(body))
    code, out, err = await run_cli("maps", "verify", "growatt-protocol-ii", "--fixture", str(f))
    assert code == 1
    assert needle in one_line_error(code, err)
    assert str(f) in err


async def test_cli_bad_input():
    code, _, err = await run_cli("maps", "verify", "no-such-map")
    assert "no map with id 'no-such-map'" in one_line_error(code, err)
    code, _, err = await run_cli("maps", "verify", "givenergy-hybrid", "growatt-protocol-ii",
                                 "--fixture", "x.yaml")
    assert code == 2 and "--fixture needs exactly one MAP" in one_line_error(code, err)
    code, _, err = await run_cli("maps", "verify", "modbus-generic")
    assert "modbus-generic has no fixture" in one_line_error(code, err)


def test_no_fixture_is_a_solartui_error():
    with pytest.raises(SolartuiError, match="has no fixture"):
        fixture_for(catalog.resolve("modbus-generic"))

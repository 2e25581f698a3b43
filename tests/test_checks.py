"""Structure checks: maps that load but are probably wrong, and the rung a map earns."""

from __future__ import annotations

from pathlib import Path

import pytest

from solartui.registers.checks import CheckReport, check_map
from solartui.registers.loader import load_map, parse_map

GROWATT = Path(__file__).resolve().parent.parent / "maps" / "growatt_protocol_ii.yaml"
PATH = "checks-test.yaml"


def make(*points: str, trust: str = "structure-verified", extra: str = "") -> str:
    return (f"schema: 1\n"
            f"device: {{id: check-test, vendor: Test, name: Check test, trust: {trust}}}\n"
            f"protocol: modbus\n"
            f"link: {{max_read: 125}}\n"
            f"{extra}"
            f"points:\n" + "\n".join(points) + "\n")


def check(text: str) -> CheckReport:
    return check_map(parse_map(text, PATH))


def line_of(text: str, marker: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if marker in line)


VPV1 = "  - {name: vpv1, doc: Vpv1, table: input, address: 3, type: u16, scale: 0.1, unit: V}"


def test_growatt_map_earns_structure_verified():
    report = check_map(load_map(GROWATT))
    assert report.problems == [], [str(f) for f in report.problems]
    assert report.earned == "structure-verified"
    assert all(f.level == "note" for f in report.findings)


def test_clean_small_map():
    report = check(make(VPV1))
    assert report.findings == ()
    assert report.earned == "structure-verified"


def test_voltage_named_point_in_amps():
    text = make(VPV1, "  - {name: pv1_voltage, doc: V1, table: input, address: 5, type: u16, "
                      "scale: 0.1, unit: A}")
    report = check(text)
    assert report.earned == "generated"
    [problem] = report.problems
    assert problem.point == "pv1_voltage"
    assert problem.line == line_of(text, "name: pv1_voltage")
    assert "voltage" in problem.text and "A" in problem.text
    assert str(problem).startswith(f"problem: line {problem.line}: point pv1_voltage: ")


@pytest.mark.parametrize("name,unit", [("pv1_voltage", "V"), ("grid_frequency", "Hz"),
                                       ("battery_soc", "%"), ("inverter_temperature", "°C"),
                                       ("ipv2", "mA"), ("eac_today", "kWh")])
def test_name_and_unit_agree(name, unit):
    report = check(make(f"  - {{name: {name}, doc: X, table: input, address: 5, type: u16, "
                        f"unit: '{unit}'}}"))
    assert report.problems == []


@pytest.mark.parametrize("name,unit", [("grid_frequency", "V"), ("battery_soc", "Ah"),
                                       ("inverter_temperature", ""), ("ipv2", "W"),
                                       ("eac_today", "W")])
def test_name_and_unit_disagree(name, unit):
    unit_yaml = f", unit: '{unit}'" if unit else ""
    report = check(make(f"  - {{name: {name}, doc: X, table: input, address: 5, type: u16"
                        f"{unit_yaml}}}"))
    assert [p.point for p in report.problems] == [name]


def test_enum_named_like_a_quantity_is_not_a_unit_problem():
    report = check(make("  - {name: voltage_mode, doc: VM, table: holding, address: 5, "
                        "type: u16, enum: {0: low, 1: high}}"))
    assert report.problems == []


def test_high_and_low_halves_as_two_16_bit_points():
    text = make("  - {name: ppv_high, doc: Ppv H, table: input, address: 1, type: u16}",
                "  - {name: ppv_low, doc: Ppv L, table: input, address: 2, type: u16}")
    report = check(text)
    [problem] = report.problems
    assert problem.point == "ppv_high" and problem.line == line_of(text, "ppv_high")
    assert "Ppv H" in problem.text and "Ppv L" in problem.text and "32-bit" in problem.text
    assert report.earned == "generated"


def test_underscore_halves_are_caught_too():
    report = check(make("  - {name: eac_h, doc: Eac_H, table: input, address: 1, type: u16, "
                        "unit: kWh}",
                        "  - {name: eac_l, doc: Eac_L, table: input, address: 2, type: u16, "
                        "unit: kWh}"))
    assert [p.point for p in report.problems] == ["eac_h"]


def test_a_proper_32_bit_point_is_fine():
    report = check(make("  - {name: ppv, doc: Ppv H / Ppv L, table: input, address: 1, "
                        "type: u32, scale: 0.1, unit: W}"))
    assert report.problems == []


def test_high_word_without_its_low_word_is_fine():
    report = check(make("  - {name: ppv_high, doc: Ppv H, table: input, address: 1, type: u16}",
                        "  - {name: other, doc: Other, table: input, address: 2, type: u16}"))
    assert report.problems == []


def test_point_in_a_hole_cannot_be_planned():
    text = make(VPV1, "  - {name: ghost, doc: G, table: input, address: 50, type: u16}",
                extra="holes:\n  input: [[45, 55]]\n")
    report = check(text)
    assert report.earned == "generated"
    assert any("cannot plan" in p.text and "hole" in p.text for p in report.problems), \
        [str(f) for f in report.findings]


def test_write_only_point_in_a_hole_is_not_read():
    report = check(make(VPV1, "  - {name: reset, doc: R, table: holding, address: 50, "
                              "type: u16, access: w, guard: true}",
                        extra="holes:\n  holding: [[45, 55]]\n"))
    assert report.problems == []


def test_point_wider_than_max_read_cannot_be_planned():
    text = make("  - {name: sn, doc: SN, table: holding, address: 23, type: ascii, count: 10}")
    text = text.replace("max_read: 125", "max_read: 8")
    report = check(text)
    assert any("cannot plan" in p.text for p in report.problems)


def test_hardware_verified_map_gets_a_note():
    report = check(make(VPV1, trust="hardware-verified"))
    notes = [f for f in report.findings if f.level == "note"]
    assert any("hardware-verified" in n.text and "structure-verified" in n.text for n in notes)
    assert report.problems == []
    assert report.earned == "structure-verified"      # never rounds up


def test_point_claiming_more_than_its_map_gets_a_note():
    text = make(VPV1, "  - {name: vpv2, doc: Vpv2, table: input, address: 7, type: u16, "
                      "scale: 0.1, unit: V, trust: simulator-verified}")
    report = check(text)
    [note] = [f for f in report.findings if f.level == "note"]
    assert note.point == "vpv2" and note.line == line_of(text, "name: vpv2")
    assert report.earned == "structure-verified"


def test_enum_with_a_unit_gets_a_note():
    report = check(make("  - {name: mode, doc: M, table: holding, address: 5, type: u16, "
                        "unit: V, enum: {0: a, 1: b}}"))
    assert [f.level for f in report.findings] == ["note"]


def test_identify_field_disagreeing_with_a_point():
    text = make("  - {name: serial_word, doc: SN, table: holding, address: 23, type: u16}",
                extra="identify:\n  serial: {table: holding, address: 23, count: 5, "
                      "type: ascii}\n")
    report = check(text)
    [problem] = report.problems
    assert problem.point == "serial_word" and "identify.serial" in problem.text


def test_problems_come_before_notes():
    text = make("  - {name: pv1_voltage, doc: V1, table: input, address: 5, type: u16, unit: A}",
                "  - {name: mode, doc: M, table: holding, address: 5, type: u16, unit: V, "
                "enum: {0: a, 1: b}}", trust="hardware-verified")
    levels = [f.level for f in check(text).findings]
    assert levels == sorted(levels, key=lambda lv: lv != "problem")
    assert levels.count("problem") == 1 and levels.count("note") == 2


def test_every_type_decodes_the_fill_patterns():
    points = [f"  - {{name: p_{t}, doc: {t.upper()}, table: input, address: {10 * i}, "
              f"type: {t}{', count: 4' if t == 'ascii' else ''}}}"
              for i, t in enumerate(("u16", "s16", "u32", "s32", "f32", "ascii", "hhmm"))]
    points.append("  - {name: scaled, doc: S, table: input, address: 90, type: s32, "
                  "scale: 0.001, unit: kW}")
    text = make(*points)
    assert check(text).problems == []

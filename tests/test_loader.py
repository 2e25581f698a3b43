"""Map loader: every kind of bad map is a MapError naming the file, the line and the point.

Line numbers are never written by hand: each test marks the offending line with a unique text and
looks its number up, so the maps can be edited without breaking the tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solartui.errors import MapError
from solartui.registers.loader import load_map, parse_map
from solartui.registers.model import DeviceMap

PATH = "maps/test.yaml"
GROWATT = Path(__file__).resolve().parent.parent / "maps" / "growatt_protocol_ii.yaml"

HEAD = """# a small map for the loader tests
schema: 1
device:
  id: test-device
  vendor: Test
  name: Test device
  families: [T1]
  source: {document: Test protocol, version: "1.0"}
  trust: structure-verified
protocol: modbus
link: {baudrates: [9600], parity: N, unit: 1, max_read: 125}
"""

VPV1 = "  - {name: vpv1, doc: Vpv1, table: input, address: 3, type: u16, scale: 0.1, unit: V}"
PPV = "  - {name: ppv, doc: Ppv, table: input, address: 1, type: u32, scale: 0.1, unit: W}"
RATE = """  - name: active_power_rate
    doc: Active P Rate
    table: holding
    address: 3
    type: u16
    unit: "%"
    access: rw
    range: [0, 100]
    special: {255: unlimited}
    group: Settings"""


def make(*points: str, head: str = HEAD, extra: str = "") -> str:
    return head + extra + "points:\n" + "\n".join(points or (VPV1,)) + "\n"


def findings_of(text: str) -> list[str]:
    with pytest.raises(MapError) as info:
        parse_map(text, PATH)
    exc = info.value
    assert exc.path == PATH
    assert exc.findings, "a MapError carries at least one finding"
    assert str(exc).startswith(exc.findings[0])
    for item in exc.findings:
        assert item.startswith(f"{PATH}:"), item
        assert "\n" not in item
    return exc.findings


def line_of(text: str, marker: str, nth: int = 1) -> int:
    """1-based number of the line holding the nth occurrence of marker."""
    seen = 0
    for number, line in enumerate(text.splitlines(), 1):
        if marker in line:
            seen += 1
            if seen == nth:
                return number
    raise AssertionError(f"{marker!r} not in the map text")


def expect(text: str, line: int, point: str | None, *words: str) -> str:
    """Assert one finding sits on `line`, names `point` and says each of `words`."""
    items = findings_of(text)
    prefix = f"{PATH}:{line}: " + (f"point {point}: " if point else "")
    hits = [f for f in items if f.startswith(prefix) and all(w in f for w in words)]
    assert hits, f"no finding {prefix!r} with {words} in {items}"
    return hits[0]


# --- good maps ---------------------------------------------------------------------------------

def test_small_map_loads():
    m = parse_map(make(VPV1, PPV, RATE), PATH)
    assert isinstance(m, DeviceMap)
    assert [p.name for p in m.points] == ["vpv1", "ppv", "active_power_rate"]
    rate = m.point("active_power_rate")
    assert rate.writable and rate.range == (0, 100) and rate.special == {255: "unlimited"}
    assert rate.line == line_of(make(VPV1, PPV, RATE), "name: active_power_rate")
    assert m.point("ppv").count == 2 and m.point("ppv").end == 2
    assert m.trust == "structure-verified" and m.point("vpv1").trust == "structure-verified"
    assert m.link.baudrates == (9600,)


def test_same_address_in_two_tables_is_fine():
    parse_map(make(VPV1, "  - {name: h3, doc: H3, table: holding, address: 3, type: u16}"), PATH)


def test_alias_may_overlap_its_primary():
    m = parse_map(make(
        "  - {name: warning_code, doc: WarnCode, table: input, address: 112, type: u16}",
        "  - {name: ac_charge_energy, doc: ACCharge, table: input, address: 112, type: u32, "
        "scale: 0.1, unit: kWh, alias_of: warning_code}"), PATH)
    assert m.point("ac_charge_energy").alias_of == "warning_code"


def test_guarded_writable_point_needs_no_range():
    parse_map(make("  - {name: reset, doc: Reset, table: holding, address: 9, type: u16, "
                   "access: w, guard: true}"), PATH)


def test_s16_negative_range_is_fine():
    m = parse_map(make("  - {name: offset, doc: Offset, table: holding, address: 9, type: s16, "
                       "access: rw, range: [-32768, 32767]}",
                       "  - {name: offset2, doc: Offset2, table: holding, address: 10, type: s16, "
                       "scale: 0.1, unit: A, access: rw, range: [-3276.8, 3276.7]}"), PATH)
    assert m.point("offset").range == (-32768, 32767)


# --- unknown keys --------------------------------------------------------------------------------

def test_unknown_top_level_key():
    text = make(VPV1, extra="colour: red\n")
    expect(text, line_of(text, "colour"), None, "unknown key 'colour'", "the map")


def test_unknown_key_in_device():
    text = make(VPV1, head=HEAD.replace("  vendor: Test\n", "  vendor: Test\n  colour: red\n"))
    expect(text, line_of(text, "colour"), None, "unknown key 'colour'", "device")


def test_unknown_key_in_link():
    text = make(VPV1, head=HEAD.replace("max_read: 125}", "max_read: 125, speed: 3}"))
    expect(text, line_of(text, "speed"), None, "unknown key 'speed'", "link")


def test_unknown_key_in_point():
    text = make(VPV1, RATE.replace("    range: [0, 100]", "    rnage: [0, 100]"))
    expect(text, line_of(text, "rnage"), "active_power_rate", "unknown key 'rnage'")


def test_unknown_key_in_flow_point():
    text = make(VPV1.replace("unit: V}", "unit: V, colour: red}"))
    expect(text, line_of(text, "colour"), "vpv1", "unknown key 'colour'")


def test_unknown_key_in_write():
    text = make(RATE + "\n    write: {function: 6, delay: 5}")
    expect(text, line_of(text, "delay: 5"), "active_power_rate", "unknown key 'delay'")


# --- missing and duplicate -----------------------------------------------------------------------

def test_missing_point_field():
    text = make(VPV1, "  - {name: vpv2, table: input, address: 7, type: u16}")
    expect(text, line_of(text, "name: vpv2"), "vpv2", "missing", "doc")


def test_missing_point_name_names_the_line():
    text = make(VPV1, "  - {doc: Vpv2, table: input, address: 7, type: u16}")
    line = line_of(text, "doc: Vpv2")
    expect(text, line, f"#{line}", "missing", "name")


@pytest.mark.parametrize("key", ["schema", "device", "protocol", "link", "points"])
def test_missing_top_level_section(key):
    text = make(VPV1)
    lines = text.splitlines(keepends=True)
    start = line_of(text, f"{key}:") - 1
    end = start + 1
    while key != "points" and end < len(lines) and lines[end].startswith(" "):
        end += 1
    if key == "points":
        end = len(lines)
    text = "".join(lines[:start] + lines[end:])
    items = findings_of(text)
    assert any(f"missing '{key}'" in f for f in items), items


@pytest.mark.parametrize("key", ["device", "link", "points"])
def test_empty_top_level_section(key):
    text = make(VPV1).replace("link: {baudrates: [9600], parity: N, unit: 1, max_read: 125}",
                              "link:")
    if key == "device":
        text = make(VPV1, head="schema: 1\ndevice:\nprotocol: modbus\nlink: {}\n")
    if key == "points":
        text = HEAD + "points:\n"
    items = findings_of(text)
    assert any(f"'{key}'" in f for f in items), items


def test_missing_device_text():
    text = make(VPV1, head=HEAD.replace("  vendor: Test\n", ""))
    expect(text, line_of(text, "id: test-device"), None, "vendor")


def test_duplicate_point_name():
    text = make(VPV1, PPV, VPV1.replace("address: 3", "address: 30"))
    first, second = line_of(text, "name: vpv1"), line_of(text, "name: vpv1", 2)
    expect(text, second, "vpv1", "duplicate name", f"line {first}")


def test_duplicate_yaml_key_in_point():
    text = make(VPV1, RATE.replace("    type: u16\n", "    type: u16\n    address: 4\n"))
    expect(text, line_of(text, "address: 4"), "active_power_rate", "duplicate key 'address'")


def test_duplicate_yaml_key_in_flow_point():
    text = make(VPV1.replace("type: u16", "type: u16, type: s16"))
    expect(text, line_of(text, "name: vpv1"), "vpv1", "duplicate key 'type'")


def test_duplicate_top_level_key():
    text = make(VPV1, extra="protocol: modbus\n")
    expect(text, line_of(text, "protocol:", 2), None, "duplicate key 'protocol'")


# --- overlaps ------------------------------------------------------------------------------------

def test_overlapping_u16_points():
    text = make(VPV1, "  - {name: vpv1_again, doc: V, table: input, address: 3, type: u16}")
    expect(text, line_of(text, "vpv1_again"), "vpv1_again", "overlap", "'vpv1'")


def test_u32_second_word_overlaps_next_point():
    text = make("  - {name: pac, doc: Pac H / L, table: input, address: 35, type: u32}",
                "  - {name: fac, doc: Fac, table: input, address: 36, type: u16, scale: 0.01, "
                "unit: Hz}")
    found = expect(text, line_of(text, "name: fac"), "fac", "overlap", "'pac'", "35-36")
    assert f"line {line_of(text, 'name: pac')}" in found


def test_long_ascii_overlaps_a_later_point_that_is_not_adjacent():
    text = make(
        "  - {name: tail, doc: T, table: holding, address: 28, type: u16}",
        VPV1,
        "  - {name: serial, doc: Serial NO, table: holding, address: 20, type: ascii, count: 10}",
        "  - {name: inside, doc: I, table: holding, address: 22, type: u16}",
        "  - {name: after, doc: A, table: holding, address: 30, type: u16}")
    items = findings_of(text)
    assert any(f.startswith(f"{PATH}:{line_of(text, 'name: tail')}: point tail: ")
               and "'serial'" in f for f in items), items
    assert any(f.startswith(f"{PATH}:{line_of(text, 'name: inside')}: point inside: ")
               and "'serial'" in f for f in items), items
    assert not any("point after:" in f for f in items), items
    assert len(items) == 2


# --- types, widths, units, ranges ------------------------------------------------------------

def test_count_does_not_match_type_width():
    text = make("  - {name: odd, doc: Odd, table: input, address: 5, type: u16, count: 2}")
    expect(text, line_of(text, "name: odd"), "odd", "u16", "count is 2")


def test_ascii_needs_count():
    text = make("  - {name: sn, doc: SN, table: holding, address: 23, type: ascii}")
    expect(text, line_of(text, "name: sn"), "sn", "ascii", "count")


def test_word_order_on_16_bit_type():
    text = make("  - {name: w, doc: W, table: input, address: 5, type: u16, words: little}")
    expect(text, line_of(text, "name: w"), "w", "32-bit")


def test_unknown_unit():
    text = make(VPV1, RATE.replace('unit: "%"', "unit: percent"))
    expect(text, line_of(text, "name: active_power_rate"), "active_power_rate",
           "unknown unit 'percent'")


@pytest.mark.parametrize("spec", [
    "type: u16, access: rw, range: [0, 70000]",
    "type: u16, access: rw, range: [-1, 10]",
    "type: u16, scale: 0.1, access: rw, range: [0, 6553.6]",
    "type: s16, access: rw, range: [-40000, 0]",
    "type: u32, access: rw, range: [0, 4294967296]",
])
def test_range_outside_the_type(spec):
    text = make(f"  - {{name: lim, doc: Lim, table: holding, address: 5, {spec}}}")
    expect(text, line_of(text, "name: lim"), "lim", "range", "does not fit")


@pytest.mark.parametrize("spec", [
    "type: u16, access: rw, range: [0, 65535]",
    "type: u16, scale: 0.1, access: rw, range: [0, 6553.5]",
    "type: s16, access: rw, range: [-32768, -1]",
    "type: u32, access: rw, range: [0, 4294967295]",
])
def test_range_at_the_edge_of_the_type(spec):
    parse_map(make(f"  - {{name: lim, doc: Lim, table: holding, address: 5, {spec}}}"), PATH)


@pytest.mark.parametrize("spec", [
    "type: ascii, count: 2",
    "type: f32",
    "type: u16, scale: 0.1",
    "type: hhmm",
])
def test_enum_on_a_non_integer(spec):
    text = make(f"  - {{name: mode, doc: Mode, table: holding, address: 5, {spec}, "
                "enum: {0: off, 1: 'on'}}")
    expect(text, line_of(text, "name: mode"), "mode", "enum needs an integer type")


def test_unknown_type():
    text = make("  - {name: big, doc: Big, table: input, address: 5, type: u64}")
    expect(text, line_of(text, "name: big"), "big", "unknown type 'u64'")


def test_unknown_table_in_point():
    text = make("  - {name: coil, doc: Coil, table: coils, address: 5, type: u16}")
    expect(text, line_of(text, "name: coil"), "coil", "table", "coils")


def test_unknown_table_in_blocks():
    text = make(VPV1, extra="blocks:\n  coils: [[0, 10]]\n")
    expect(text, line_of(text, "coils:"), None, "unknown table 'coils'")


def test_point_outside_declared_blocks():
    text = make(VPV1,
                "  - {name: straddle, doc: S, table: input, address: 9, type: u32}",
                "  - {name: far, doc: F, table: input, address: 300, type: u16}",
                extra="blocks:\n  input: [[0, 9], [10, 19]]\n")
    expect(text, line_of(text, "name: straddle"), "straddle", "9-10", "block")
    expect(text, line_of(text, "name: far"), "far", "300-300", "block")


def test_blocks_only_constrain_their_own_table():
    parse_map(make(VPV1, "  - {name: h, doc: H, table: holding, address: 500, type: u16}",
                   extra="blocks:\n  input: [[0, 9]]\n"), PATH)


def test_overlapping_blocks():
    text = make(VPV1, extra="blocks:\n  input: [[0, 10], [10, 19]]\n")
    assert any("overlap" in f for f in findings_of(text))


@pytest.mark.parametrize("alias,words", [
    ("nowhere", ["unknown point 'nowhere'"]),
    ("ac_energy", ["is an alias"]),
    ("hold", ["another table"]),
])
def test_bad_alias_of(alias, words):
    text = make(
        "  - {name: warning_code, doc: W, table: input, address: 112, type: u16}",
        "  - {name: ac_energy, doc: E, table: input, address: 112, type: u16, "
        "alias_of: warning_code}",
        "  - {name: hold, doc: H, table: holding, address: 112, type: u16}",
        f"  - {{name: bad_alias, doc: B, table: input, address: 112, type: u16, "
        f"alias_of: {alias}}}")
    expect(text, line_of(text, "name: bad_alias"), "bad_alias", *words)


def test_writable_point_without_range_or_enum():
    text = make(VPV1, RATE.replace("    range: [0, 100]\n", ""))
    expect(text, line_of(text, "name: active_power_rate"), "active_power_rate",
           "needs a range or an enum")


@pytest.mark.parametrize("spec,words", [
    ("type: u16, group: Misc", ["unknown group"]),
    ("type: u16, access: x", ["access"]),
    ("type: u16, trust: gold", ["trust"]),
    ("type: u16, scale: 0", ["scale"]),
    ("type: ascii, count: 2, scale: 0.1", ["cannot have a scale"]),
    ("type: u16, bits: {16: top}", ["bits"]),
    ("type: s16, bits: {0: a}", ["unsigned"]),
    ("type: u16, special: {70000: x}", ["special"]),
    ("type: u16, enum: {0: yes}", ["label"]),
    ("type: u16, access: rw, range: [10, 0]", ["min <= max"]),
    ("type: u16, access: rw, range: [0, 10], step: -1", ["step"]),
    ("type: u32, access: rw, range: [0, 10], write: {function: 6}", ["function 6"]),
    ("type: u16, address: 70000", ["address"]),
    ("type: ascii, count: 10, address: 65530", ["past address 65535"]),
])
def test_other_point_problems(spec, words):
    spec = spec if "address:" in spec else spec + ", address: 5"
    text = make(f"  - {{name: odd, doc: Odd, table: holding, {spec}}}")
    expect(text, line_of(text, "name: odd"), "odd", *words)


@pytest.mark.parametrize("name", ["PV1", "pv-1", "1pv", "pv 1"])
def test_name_must_be_snake_case(name):
    text = make(f"  - {{name: '{name}', doc: X, table: input, address: 5, type: u16}}")
    expect(text, line_of(text, "doc: X"), name, "snake_case")


# --- not a map at all ----------------------------------------------------------------------------

def test_not_yaml():
    text = make(VPV1, "  - {name: broken, doc: [Vpv2, table: input}")
    items = findings_of(text)
    assert len(items) == 1
    assert items[0].startswith(f"{PATH}:{line_of(text, 'name: broken')}: not valid YAML")


def test_control_character_names_its_line():
    text = make(VPV1, "  - {name: ctl, doc: \"x\x07y\", table: input, address: 5, type: u16}")
    items = findings_of(text)
    assert items[0].startswith(f"{PATH}:{line_of(text, 'name: ctl')}: not valid YAML"), items


def test_tab_indentation():
    text = HEAD + "points:\n\t- {name: a}\n"
    assert findings_of(text)[0].startswith(f"{PATH}:{line_of(text, 'name: a')}: not valid YAML")


@pytest.mark.parametrize("text", ["- schema: 1\n- device: x\n", "just words\n", "42\n",
                                  "[1, 2, 3]\n"])
def test_not_a_mapping(text):
    items = findings_of(text)
    assert items == [f"{PATH}:1: a map is a mapping with schema, device, link and points"]


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n", "~\n"])
def test_empty_file(text):
    assert findings_of(text)[0].startswith(f"{PATH}:1: ")


def test_two_documents():
    findings_of(make(VPV1) + "---\n" + make(VPV1))


def test_all_findings_at_once():
    text = make(VPV1.replace("unit: V", "unit: volts"),
                "  - {name: sn, doc: SN, table: holding, address: 23, type: ascii}",
                head=HEAD.replace("  vendor: Test\n", "  vendor: Test\n  colour: red\n"))
    items = findings_of(text)
    assert len(items) == 3, items
    assert any(f.startswith(f"{PATH}:{line_of(text, 'colour')}: unknown key") for f in items)
    assert any(f"{line_of(text, 'vpv1')}: point vpv1: unknown unit 'volts'" in f for f in items)
    assert any(f"{line_of(text, 'name: sn')}: point sn: type ascii needs count" in f
               for f in items)
    # and a fourth, found by the cross-point overlap check after the per-point checks
    text = make(VPV1.replace("unit: V", "unit: volts"),
                "  - {name: sn, doc: SN, table: holding, address: 23, type: ascii}",
                "  - {name: pac, doc: Pac, table: input, address: 35, type: u32}",
                "  - {name: fac, doc: Fac, table: input, address: 36, type: u16}",
                head=HEAD.replace("  vendor: Test\n", "  vendor: Test\n  colour: red\n"))
    items = findings_of(text)
    assert len(items) == 4, items
    assert {i.split(": ")[1] for i in items} >= {"point vpv1", "point sn", "point fac"}


def test_load_map_missing_file(tmp_path):
    with pytest.raises(MapError) as info:
        load_map(tmp_path / "nope.yaml")
    assert "nope.yaml" in info.value.findings[0]


def test_load_map_not_utf8(tmp_path):
    p = tmp_path / "latin.yaml"
    p.write_bytes(make(VPV1).encode("utf-8") + b"# caf\xe9\n")
    with pytest.raises(MapError):
        load_map(p)


def test_load_map_reads_a_file(tmp_path):
    p = tmp_path / "good.yaml"
    p.write_text(make(VPV1, PPV), encoding="utf-8")
    assert load_map(p).path == str(p)


# --- inputs that once escaped as something other than MapError --------------------------------

@pytest.mark.parametrize("text", [
    make("  - {name: a, doc: A, table: input, address: 0, type: [u16]}"),
    make("  - {name: a, doc: A, table: input, address: 0, type: u16, unit: [V]}"),
    make("  - {name: a, doc: A, table: input, address: 0, type: u16, unit: {V: 1}}"),
    make("  - {name: a, doc: A, table: input, address: 0, type: u16, scale: %s}" % ("9" * 400)),
    make("  - {name: a, doc: A, table: input, address: 0, type: u16, access: rw, "
         "range: [0, %s]}" % ("9" * 400)),
    make("  - {name: a, doc: A, table: input, address: 0, type: u16, access: rw, "
         "scale: 1.0e-300, range: [0, 1.0e+300]}"),
    make("  - {name: a, doc: A, table: input, address: 0, type: u16, step: %s}" % ("9" * 400)),
    "schema: 1\ndevice:\nprotocol: modbus\nlink: {}\npoints:\n"
    "  - {name: a, doc: A, table: input, address: 0, type: u16}\n",
    "[" * 1000,
    "a: " + "{b: " * 3000,
    "- " * 3000 + "x\n",
    "\x01",
    "schema: 1\x00\n",
    "&a [*a]\n",
    "&a {x: *a}\n",
    "? [1, 2]\n: 3\n",
    "? {a: 1}\n: 3\n",
    "{[1]: 2}\n",
    "!!set schema: 1\n",
    "a: !!set b\n",
])
def test_nasty_inputs_give_map_error(text):
    findings_of(text)


# --- property tests ----------------------------------------------------------------------------

def _only_map_error(text: str) -> None:
    try:
        result = parse_map(text, PATH)
    except MapError as exc:
        assert exc.findings and all(isinstance(f, str) for f in exc.findings)
        return
    assert isinstance(result, DeviceMap)


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(st.text(max_size=300))
def test_random_text_only_raises_map_error(text):
    _only_map_error(text)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_map_error(data):
    _only_map_error(data.decode("latin-1"))


TOKENS = ["schema: 1\n", "device: ", "points:\n", "link: ", "  - ", "{", "}", "[", "]", ", ",
          ": ", "name: a", "type: u16", "type: ascii", "count: ", "address: ", "table: input",
          "table: holding", "0", "65535", "-1", "1e400", ".nan", "'", '"', "&x ", "*x", "<<: ",
          "!!binary ", "!!set ", "!!omap ", "!!python/object ", "? ", "\n", "\t", "# c\n", "---\n",
          "...\n", "|\n  ", ">\n  ", "~", "yes", "\x85", "\ufeff", "%YAML 1.1\n", "\\", "@"]


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_yaml_like_text_only_raises_map_error(tokens):
    _only_map_error("".join(tokens))


def _base_dict() -> dict:
    return {
        "schema": 1,
        "device": {"id": "test-device", "vendor": "Test", "name": "Test device",
                   "families": ["T1"], "trust": "structure-verified"},
        "protocol": "modbus",
        "link": {"max_read": 125, "units": [1, 247]},
        "blocks": {"input": [[0, 124]], "holding": [[0, 124]]},
        "holes": {"input": [[100, 110]]},
        "identify": {"serial": {"table": "holding", "address": 23, "count": 5, "type": "ascii"}},
        "clock": {"table": "holding", "address": 45,
                  "fields": ["year", "month", "day", "hour", "minute", "second"], "year": "auto"},
        "points": [
            {"name": "vpv1", "doc": "Vpv1", "table": "input", "address": 3, "type": "u16",
             "scale": 0.1, "unit": "V"},
            {"name": "rate", "doc": "Rate", "table": "holding", "address": 3, "type": "u16",
             "unit": "%", "access": "rw", "range": [0, 100], "special": {255: "unlimited"},
             "write": {"function": 6, "delay_ms": 500}},
            {"name": "mode", "doc": "Mode", "table": "holding", "address": 4, "type": "u16",
             "access": "rw", "enum": {0: "a", 1: "b"}, "alias_of": None},
        ],
    }


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-2**600, 2**600), st.floats(),
    st.text(max_size=8),
    st.sampled_from(["u16", "u32", "ascii", "hhmm", "input", "holding", "rw", "V", "little",
                     "vpv1", "auto", "structure-verified"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.one_of(st.text(max_size=6), st.integers(-3, 300)), inner, max_size=3)),
    max_leaves=6)
SLOTS = (["schema", "device", "protocol", "link", "blocks", "holes", "identify", "clock",
          "points", "extra"]
         + [f"device.{k}" for k in ("id", "vendor", "name", "families", "source", "trust")]
         + [f"link.{k}" for k in ("baudrates", "parity", "unit", "units", "max_read",
                                  "functions", "timeout_ms")]
         + ["identify.serial", "identify.serial.count", "clock.fields", "clock.year",
            "blocks.input", "holes.input"]
         + [f"points.{i}.{k}" for i in range(3)
            for k in ("name", "doc", "table", "address", "type", "count", "words", "scale",
                      "unit", "group", "access", "range", "step", "enum", "bits", "special",
                      "write", "guard", "trust", "alias_of", "colour")]
         + ["points.0", "points.1.write.function", "points.1.write.delay_ms",
            "points.1.special.255", "points.2.enum.0"])


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from(SLOTS), VALUES), min_size=1, max_size=3),
       st.booleans())
def test_mutated_map_only_raises_map_error(mutations, drop_alias):
    """A valid map with a few fields replaced by anything YAML can hold."""
    data = _base_dict()
    if drop_alias:
        del data["points"][2]["alias_of"]
    for slot, value in mutations:
        parts = slot.split(".")
        node = data
        for part in parts[:-1]:
            if isinstance(node, list) and not part.isdigit():
                break                   # an earlier mutation put a list where a mapping was
            key = int(part) if isinstance(node, list) else (int(part) if part.isdigit() else part)
            if isinstance(node, list):
                if key >= len(node):
                    break
            elif not isinstance(node, dict) or key not in node:
                break
            node = node[key]
        else:
            last = parts[-1]
            if isinstance(node, list) and last.isdigit() and int(last) < len(node):
                node[int(last)] = value
            elif isinstance(node, dict):
                node[int(last) if last.isdigit() else last] = value
    try:
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    except yaml.YAMLError:
        return
    _only_map_error(text)


def test_unmutated_base_dict_loads():
    data = _base_dict()
    del data["points"][2]["alias_of"]
    m = parse_map(yaml.safe_dump(data, sort_keys=False), PATH)
    assert len(m.points) == 3 and m.clock is not None and "serial" in m.identify


# --- the real map ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def growatt():
    return load_map(GROWATT)


def test_growatt_map_loads(growatt):
    assert growatt.id == "growatt-protocol-ii"
    assert growatt.path == str(GROWATT)
    assert len(growatt.points) == 308
    names = [p.name for p in growatt.points]
    assert len(set(names)) == len(names)
    assert growatt.trust == "structure-verified"
    assert growatt.link.max_read == 125 and growatt.link.min_period_ms == 850


def test_growatt_identify_and_clock(growatt):
    for name in ("serial", "firmware", "model", "device_type", "protocol_version"):
        assert name in growatt.identify, name
    serial = growatt.identify["serial"]
    assert (serial.table, serial.address, serial.type, serial.count) == ("holding", 23, "ascii", 5)
    clock = growatt.clock
    assert clock is not None
    assert clock.year == "auto" and clock.table == "holding" and clock.address == 45
    assert clock.fields == ("year", "month", "day", "hour", "minute", "second")


def test_growatt_points_are_sane(growatt):
    for p in growatt.points:
        assert p.line > 0, p.name
        assert p.table in ("input", "holding")
        if p.writable and p.type not in ("ascii", "hhmm"):
            assert p.range is not None or p.enum is not None or p.bits is not None, p.name
    assert growatt.point("vpv1").scale == 0.1 and growatt.point("vpv1").unit == "V"


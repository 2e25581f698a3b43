"""The PI30 command map: the shipped map, its loader, field decoding, setter encoding, read-back.

Decoding is checked against every response vector in tests/vectors/pi30.json (a copy of the
shared vectors) whose command the map declares: each key of the vector's `decoded` is either
compared or listed in SKIP with a reason, so nothing is ignored silently. Line numbers in loader findings are looked up by marker
text, never written by hand.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solartui.errors import MapError, ValueRejected
from solartui.registers import catalog
from solartui.registers.command_codec import (
    DecodedField, allowed_text, check_command_map, clock_setters, decode_fields, decode_token,
    encode_setting, identify_value, readback_value, same_value, setting_value, value_text,
)
from solartui.registers.command_map import CommandMap, load_command_map, parse_command_map
from solartui.registers.model import DeviceMap

from conftest import ROOT
from procs import run_cli as cli

MAP_FILE = ROOT / "maps" / "voltronic_pi30.yaml"
VECTORS = json.loads((ROOT / "tests" / "vectors" / "pi30.json").read_text())   # shared/ copy
PATH = "maps/pi30-test.yaml"


@pytest.fixture(scope="module")
def pi30() -> CommandMap:
    return load_command_map(MAP_FILE)


def tokens_of(response_hex: str, crc: str) -> tuple[str, ...]:
    """The reply's fields: strip "(", the 2 CRC bytes (when present) and CR; split on spaces."""
    frame = bytes.fromhex(response_hex)
    body = frame[1:-1] if crc == "absent" else frame[1:-3]
    return tuple(t for t in body.decode("ascii").split(" ") if t)


def response_vectors(pi30_map: CommandMap):
    names = {c.command for c in pi30_map.commands}
    return [v for v in VECTORS if v["response_hex"] and v["crc"] != "invalid"
            and v["response_hex"].startswith("28") and v["command"] in names]


# --- the shipped map ---------------------------------------------------------------------------

def test_shipped_map_loads(pi30):
    assert pi30.id == "voltronic-pi30" and pi30.protocol == "pi30"
    assert pi30.trust == "structure-verified"
    assert pi30.link.baudrates == (2400,) and pi30.link.usb == (0x0665, 0x5161)
    assert pi30.link.min_period == 0.5 and pi30.link.timeout == 3.0
    assert [c.command for c in pi30.commands] == [
        "QPI", "QID", "QVFW", "QMN", "QGMN", "QPIGS", "QPIGS2", "QMOD", "QPIWS", "QPIRI",
        "QFLAG", "QMCHGCR", "QMUCHGCR", "QT"]
    assert {n: (i.command, i.strip) for n, i in pi30.identify.items()} == {
        "protocol": ("QPI", ""), "serial": ("QID", ""), "firmware": ("QVFW", "VERFW:"),
        "model": ("QMN", "")}
    assert pi30.identify["protocol"].expect == ("PI30",)
    assert pi30.clock.command == "QT" and pi30.clock.field == "device_time"
    assert [s.name for s in pi30.settings] == [
        "output_source_priority", "charger_source_priority", "battery_type",
        "input_voltage_range", "battery_recharge_voltage", "battery_redischarge_voltage",
        "battery_under_voltage", "battery_bulk_voltage", "battery_float_voltage",
        "max_charging_current", "max_ac_charging_current", "buzzer", "overload_bypass",
        "power_saving", "lcd_return_to_default_page", "overload_restart",
        "over_temperature_restart", "lcd_backlight", "alarm_on_primary_source_loss",
        "fault_code_record"]
    for s in pi30.settings:
        assert s.reads_back.command in ("QPIRI", "QFLAG")
        assert pi30.field(s.reads_back.field).command == s.reads_back.command
        assert s.trust == "structure-verified"
    assert pi30.command("QPIGS").field("battery_voltage").unit == "V"
    assert pi30.field("heatsink_temperature").unit == "°C"
    assert all(f.trust == "structure-verified" for f in pi30.fields)
    with pytest.raises(KeyError):
        pi30.setting("nope")


def test_shipped_map_passes_its_structure_check(pi30):
    report = check_command_map(pi30)
    assert report.problems == [] and report.earned == "structure-verified"


def test_catalog_knows_the_command_map():
    m = catalog.resolve("voltronic-pi30")
    assert isinstance(m, CommandMap)
    assert catalog.resolve(str(MAP_FILE)) is m
    assert "voltronic-pi30" not in [x.id for x in catalog.all_maps()]      # Modbus callers
    assert all(isinstance(x, DeviceMap) for x in catalog.all_maps())
    every = {x.id: x for x in catalog.all_maps(protocol=None)}
    assert isinstance(every["voltronic-pi30"], CommandMap)
    assert isinstance(every["growatt-protocol-ii"], DeviceMap)
    assert [x.id for x in catalog.all_maps("pi30")] == ["voltronic-pi30"]


# --- decoding the vectors ----------------------------------------------------------------------

UNIT_SUFFIXES = ("_v", "_hz", "_va", "_w", "_a", "_c", "_percent", "_min")
SKIP = {
    "frame", "payload", "crc_xmodem", "crc_wire", "token_count", "remark",
    # labels: the vector's come from mpp-solar, the map's from the vendor tables (§7.6 says to
    # prefer the vendor PBT list; mpp-solar says "SBU first", "WECO", ...)
    "battery_type_label", "input_voltage_range_label", "output_source_priority_label",
    "charger_source_priority_label", "machine_type_label", "topology_label",
    "output_mode_label", "operation_logic_label",
}
# The vector says 2021-07-26T12:06:06 for the payload 20210726122606, whose HHMMSS is 122606:
# 12:26:06. The notes (§7.10) repeat the slip. The map decodes what the payload says.
PAYLOAD_TIME = {"20210726122606": datetime(2021, 7, 26, 12, 26, 6)}


def check_vector(pi30, vector) -> int:
    """Compare every key of the vector's `decoded`; return how many were compared."""
    command = pi30.command(vector["command"])
    tokens = tokens_of(vector["response_hex"], vector["crc"])
    got = decode_fields(command, tokens)
    assert all(d.ok for d in got.values()), {k: d.error for k, d in got.items() if not d.ok}
    compared = 0
    for key, want in vector["decoded"].items():
        if key in SKIP:
            continue
        compared += 1
        if key == "status_flags":
            assert got["device_status"].value == want
        elif key == "status2_flags":
            assert got["device_status2"].value == want
        elif key in ("device_status", "device_status2"):
            assert got[key].raw == want
        elif key == "battery_voltage_offset_fans_on_10mv":
            assert got["battery_voltage_offset_fans_on"].value == want * 10      # in mV
        elif key in ("bit_string", "length", "set_indexes", "active"):
            w = got["warnings"]
            assert {"bit_string": w.raw, "length": len(w.raw),
                    "set_indexes": [a.index for a in w.value],
                    "active": [a._asdict() for a in w.value]}[key] == want
        elif key == "flags":
            assert {k: got[k].value for k in want} == want
        elif key == "mode_label":
            assert got["mode"].text == want
        elif key in ("firmware", "series", "version"):
            assert got["firmware_version"].value == vector["decoded"]["firmware"]
            series, version = identify_value(pi30.identify["firmware"], tokens).split(".")
            assert {"firmware": got["firmware_version"].raw, "series": series,
                    "version": version}[key] == want
        elif key in ("model", "rated_va"):
            model, rated = got["model_name"].value.split("-")
            assert {"model": model, "rated_va": int(rated)}[key] == want
        elif key == "selectable_a":
            name = command.fields[0].name
            assert list(got[name].value) == want
        elif key in ("device_time", "raw"):
            t = got["device_time"]
            if key == "raw":
                assert t.raw == want
            else:
                expected = PAYLOAD_TIME.get(t.raw, datetime.fromisoformat(want))
                assert t.value == expected
        else:
            name = key if key in got else next(
                (key[:-len(s)] for s in UNIT_SUFFIXES if key.endswith(s)), key)
            assert name in got, f"{vector['name']}: no field for {key}"
            assert got[name].value == want, (key, got[name])
    return compared


def test_every_response_vector_decodes(pi30):
    vectors = response_vectors(pi30)
    assert {v["command"] for v in vectors} >= {
        "QPIGS", "QPIGS2", "QPIRI", "QMOD", "QPIWS", "QFLAG", "QPI", "QID", "QVFW", "QT",
        "QMN", "QGMN", "QMCHGCR", "QMUCHGCR"}
    total = 0
    for v in vectors:
        n = check_vector(pi30, v)
        assert n >= 1, v["name"]
        total += n
    assert total > 200


def test_qpigs_texts_and_short_replies(pi30):
    qpigs = pi30.command("QPIGS")
    full = "230.0 50.0 230.0 50.0 0829 0751 010 447 54.50 020 083 0054 02.7 323.6 00.00 00000 " \
           "00010110 00 00 00879 010"
    got = decode_fields(qpigs, tuple(full.split()))
    assert got["battery_voltage"].text == "54.50 V" and got["battery_voltage"].unit == "V"
    assert got["pv_input_current"].text == "2.7 A"
    assert got["device_status"].text == "load on, charging on, SCC charging on"
    assert got["device_status2"].text == "switched on"
    assert got["heatsink_temperature"].text == "54 °C"
    assert isinstance(got["ac_output_active_power"], DecodedField)
    assert got["ac_output_active_power"].words == ()
    short = decode_fields(qpigs, tuple(full.split()[:17]))          # HS/MS/MSX: 17 tokens
    assert "device_status" in short and "device_status2" not in short and len(short) == 17


def test_qpiws_fault_rule(pi30):
    qpiws = pi30.command("QPIWS")
    # over temperature (9) and overload (16): warnings alone, faults with inverter fault (1)
    alone = decode_fields(qpiws, ("0" * 9 + "1" + "0" * 6 + "1" + "0" * 15,))["warnings"]
    assert [(a.index, a.severity) for a in alone.value] == [(9, "warning"), (16, "warning")]
    both = decode_fields(qpiws, ("01" + "0" * 7 + "1" + "0" * 6 + "1" + "0" * 21,))["warnings"]
    assert [(a.index, a.severity) for a in both.value] == [
        (1, "fault"), (9, "fault"), (16, "fault")]
    assert both.text == "inverter fault (fault), over temperature (fault), overload (fault)"
    odd = decode_fields(qpiws, ("0" * 38 + "1" + "0" + "7",))["warnings"]   # past the table
    assert [(a.index, a.name, a.severity) for a in odd.value] == [
        (38, "bit 38", "unknown"), (40, "bit 40 = 7", "unknown")]


def test_qmod_unknown_letter(pi30):
    got = decode_fields(pi30.command("QMOD"), ("X",))["mode"]
    assert got.ok and got.value == "X" and got.text == "unknown (X)"


def test_qflag_absent_letters_and_upper_case(pi30):
    got = decode_fields(pi30.command("QFLAG"), ("EAKDbu",))
    assert got["buzzer"].value is True and got["lcd_return_to_default_page"].value is True
    assert got["overload_bypass"].value is False and got["overload_restart"].value is False
    assert got["lcd_backlight"].value is None and got["lcd_backlight"].text == "not reported"


def test_nak_and_garbage_become_error_entries(pi30):
    nak = decode_fields(pi30.command("QPIRI"), ("NAK",))
    assert nak and all(not d.ok and "NAK" in d.error for d in nak.values())
    assert identify_value(pi30.identify["serial"], ("NAK",)) is None
    bad = decode_fields(pi30.command("QPIGS"), ("abc", "5x", "1.2.3") + ("0",) * 13
                        + ("0011",))
    assert not bad["ac_input_voltage"].ok and "not a number" in bad["ac_input_voltage"].error
    assert not bad["ac_input_frequency"].ok and not bad["ac_output_voltage"].ok
    assert not bad["device_status"].ok and "8 characters" in bad["device_status"].error
    assert not decode_fields(pi30.command("QT"), ("20211345",))["device_time"].ok
    assert not decode_fields(pi30.command("QFLAG"), ("xyz",))["buzzer"].ok
    assert not decode_fields(pi30.command("QPIWS"), ("00-1",))["warnings"].ok


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="0123456789.-ENDABabkuvxyz:( ", max_size=12), max_size=30))
def test_decoding_never_raises(tokens):
    m = catalog.resolve("voltronic-pi30")
    for command in m.commands:
        for d in decode_fields(command, tuple(tokens)).values():
            assert isinstance(d.text, str) and (d.ok or d.value is None)


def test_identify_values(pi30):
    assert identify_value(pi30.identify["firmware"], ("VERFW:00072.70",)) == "00072.70"
    assert identify_value(pi30.identify["protocol"], ("PI30",)) == "PI30"
    assert identify_value(pi30.identify["serial"], ()) is None


# --- setters -----------------------------------------------------------------------------------

def context_48v(pi30) -> dict:
    """What a driver knows after QPIRI, QMCHGCR and QMUCHGCR on a 48 V unit (from the vectors)."""
    ctx = {}
    for v in response_vectors(pi30):
        if v["name"] in ("QPIRI response (230 V 5 kVA, 25 fields)", "QMCHGCR response",
                         "QMUCHGCR response"):
            ctx.update(decode_fields(pi30.command(v["command"]),
                                     tokens_of(v["response_hex"], v["crc"])))
    assert ctx["battery_rating_voltage"].value == 48.0
    return ctx


SETTER_NAMES = {
    "output source priority": "output_source_priority",
    "charger source priority": "charger_source_priority", "AC input range": "input_voltage_range",
    "battery type": "battery_type", "battery re-charge voltage": "battery_recharge_voltage",
    "battery re-discharge voltage": "battery_redischarge_voltage",
    "battery cut-off (under) voltage": "battery_under_voltage",
    "bulk / C.V. charging voltage": "battery_bulk_voltage",
    "float charging voltage": "battery_float_voltage",
    "max charging current": "max_charging_current",
    "max charging current (>=100 A)": "max_charging_current",
    "max utility charging current": "max_ac_charging_current",
}
# CRC examples whose value the notes themselves call outside the documented range
OUT_OF_RANGE_VECTORS = {"PBDV46.4", "PCVV45.3"}


def test_every_setter_vector(pi30):
    ctx = context_48v(pi30)
    seen = set()
    for v in VECTORS:
        d = v["decoded"]
        if d.get("frame") != "request" or "setting" not in d:
            continue
        command = v["command"]
        assert bytes.fromhex(v["request_hex"])[:-3] == command.encode()
        if d["setting"] in SETTER_NAMES:
            s = pi30.setting(SETTER_NAMES[d["setting"]])
            value = d.get("value_v", d.get("value_a", d.get("value")))
            if command in OUT_OF_RANGE_VECTORS:
                with pytest.raises(ValueRejected):
                    encode_setting(s, value, ctx)
            else:
                assert encode_setting(s, value, ctx) == command
            seen.add(s.name)
        elif d["setting"] in ("flag enable", "flag disable"):
            sent = [encode_setting(pi30.setting(name), on) for name, on in d["flags"].items()]
            prefix = "PE" if d["setting"] == "flag enable" else "PD"
            assert all(x.startswith(prefix) for x in sent)
            assert prefix + "".join(x[2:] for x in sent) == command   # one letter per command
            seen.update(d["flags"])
        elif d["setting"] == "date/time":
            when = datetime.fromisoformat(d["value"])
            assert command in clock_setters(pi30.clock, when)
            seen.add("clock")
        else:       # reset to defaults, output frequency: deliberately not in the map
            assert command in ("PF", "F50", "F60")
    assert {"output_source_priority", "max_charging_current", "buzzer", "clock"} <= seen
    assert clock_setters(pi30.clock, datetime(2025, 1, 1, 12, 0, 0)) == [
        "DAT250101120000", "DAT20250101120000"]


GOOD = [
    ("output_source_priority", 0, "POP00"), ("output_source_priority", "SBU", "POP02"),
    ("output_source_priority", "1", "POP01"),
    ("charger_source_priority", 3, "PCP03"), ("charger_source_priority", "solar + utility", "PCP02"),
    ("battery_type", 2, "PBT02"), ("battery_type", "Lic", "PBT09"),
    ("input_voltage_range", "UPS", "PGR01"), ("input_voltage_range", 0.0, "PGR00"),
    ("battery_recharge_voltage", 44, "PBCV44.0"), ("battery_recharge_voltage", "51", "PBCV51.0"),
    ("battery_redischarge_voltage", 0, "PBDV00.0"),
    ("battery_redischarge_voltage", "when battery full", "PBDV00.0"),
    ("battery_redischarge_voltage", 58.0, "PBDV58.0"),
    ("battery_under_voltage", 40.0, "PSDV40.0"), ("battery_under_voltage", 46.5, "PSDV46.5"),
    ("battery_bulk_voltage", 58.4, "PCVV58.4"), ("battery_float_voltage", "53.7", "PBFT53.7"),
    ("max_charging_current", 10, "MCHGC010"), ("max_charging_current", 100, "MNCHGC0100"),
    ("max_ac_charging_current", 2, "MUCHGC002"), ("max_ac_charging_current", 90, "MUCHGC090"),
    ("buzzer", False, "PDa"), ("overload_bypass", "enable", "PEb"), ("power_saving", 1, "PEj"),
    ("lcd_return_to_default_page", "off", "PDk"), ("overload_restart", True, "PEu"),
    ("over_temperature_restart", "disabled", "PDv"), ("lcd_backlight", "on", "PEx"),
    ("alarm_on_primary_source_loss", 0, "PDy"), ("fault_code_record", "yes", "PEz"),
]


@pytest.mark.parametrize("name, value, command", GOOD)
def test_good_values_encode(pi30, name, value, command):
    assert encode_setting(pi30.setting(name), value, context_48v(pi30)) == command


def test_every_setting_has_a_good_value(pi30):
    assert {g[0] for g in GOOD} == {s.name for s in pi30.settings}


BAD = [
    ("output_source_priority", 3, "not one of"), ("output_source_priority", "grid", "not a number"),
    ("output_source_priority", True, "not a number"), ("battery_type", 10, "not one of"),
    ("battery_type", 1.5, "whole number"), ("charger_source_priority", -1, "not one of"),
    ("battery_recharge_voltage", 48.5, "44-51 V in steps of 1"),
    ("battery_recharge_voltage", 43.0, "not allowed"),
    ("battery_redischarge_voltage", 46.4, "not allowed"),
    ("battery_under_voltage", 39.9, "40-48 V"), ("battery_bulk_voltage", 45.3, "not allowed"),
    ("battery_float_voltage", 54.05, "not allowed"), ("battery_float_voltage", 63.0, "not allowed"),
    ("battery_float_voltage", float("nan"), "not a number"),
    ("battery_float_voltage", float("inf"), "not a number"),
    ("max_charging_current", 55, "offers only"), ("max_charging_current", 60.5, "whole number"),
    ("max_charging_current", 1000, "not allowed"),
    ("max_ac_charging_current", 100, "not allowed"), ("max_ac_charging_current", 0, "not allowed"),
    ("buzzer", "maybe", "enable or disable"), ("buzzer", 2, "enable or disable"),
]


@pytest.mark.parametrize("name, value, words", BAD)
def test_bad_values_are_refused(pi30, name, value, words):
    with pytest.raises(ValueRejected) as info:
        encode_setting(pi30.setting(name), value, context_48v(pi30))
    message = str(info.value)
    assert message.startswith(f"{name}: ") and "\n" not in message and words in message


def test_variant_settings_need_the_battery_voltage(pi30):
    s = pi30.setting("battery_float_voltage")
    with pytest.raises(ValueRejected, match="depend on battery_rating_voltage"):
        encode_setting(s, 54.0)
    assert encode_setting(s, 54.0, {"battery_rating_voltage": 48.0}) == "PBFT54.0"
    assert encode_setting(s, 27.0, {"battery_rating_voltage": 24.0}) == "PBFT27.0"
    with pytest.raises(ValueRejected):          # a 48 V value on a 24 V unit
        encode_setting(s, 54.0, {"battery_rating_voltage": 24.0})
    pbcv = pi30.setting("battery_recharge_voltage")
    assert encode_setting(pbcv, 11.3, {"battery_rating_voltage": 12.0}) == "PBCV11.3"
    with pytest.raises(ValueRejected):          # 12 V units have a list, not a range
        encode_setting(pbcv, 11.4, {"battery_rating_voltage": 12.0})
    with pytest.raises(ValueRejected, match="no allowed values are documented"):
        encode_setting(pi30.setting("battery_under_voltage"), 10.5,
                       {"battery_rating_voltage": 12.0})
    unreadable = decode_fields(pi30.command("QPIRI"), ("0",) * 7 + ("x",))
    with pytest.raises(ValueRejected, match="not known yet"):
        encode_setting(s, 54.0, unreadable)


def test_charging_currents_need_the_device_list(pi30):
    s = pi30.setting("max_charging_current")
    with pytest.raises(ValueRejected, match="not known yet"):
        encode_setting(s, 60)
    assert encode_setting(s, 60, {"max_charging_current_choices": (20, 60)}) == "MCHGC060"
    assert "this device offers 20, 60" in allowed_text(
        s, {"max_charging_current_choices": (20, 60)})


def test_allowed_text_and_value_text(pi30):
    assert allowed_text(pi30.setting("output_source_priority")) == \
        "0 (Utility first), 1 (Solar first), 2 (SBU)"
    assert allowed_text(pi30.setting("battery_redischarge_voltage"),
                        {"battery_rating_voltage": 48}) == \
        "48-58 V in steps of 1, or 0 V (when battery full)"
    assert allowed_text(pi30.setting("buzzer")) == "enable or disable"
    assert value_text(pi30.setting("output_source_priority"), 2) == "SBU"
    assert value_text(pi30.setting("battery_float_voltage"), 54.0) == "54.0 V"
    assert value_text(pi30.setting("buzzer"), False) == "disabled"
    assert value_text(pi30.setting("buzzer"), None) == "unknown"
    assert setting_value(pi30.setting("battery_type"), "flooded") == 1


# --- read-back ---------------------------------------------------------------------------------

def test_readback_from_qpiri_and_qflag(pi30):
    ctx = context_48v(pi30)
    expected = {"output_source_priority": 0, "charger_source_priority": 0, "battery_type": 0,
                "input_voltage_range": 1, "battery_recharge_voltage": 46.0,
                "battery_redischarge_voltage": 54.0, "battery_under_voltage": 42.0,
                "battery_bulk_voltage": 56.4, "battery_float_voltage": 54.0,
                "max_charging_current": 10, "max_ac_charging_current": 10}
    for name, want in expected.items():
        s = pi30.setting(name)
        assert readback_value(s, ctx) == want, name
        assert same_value(s, want, readback_value(s, ctx))
    flags = decode_fields(pi30.command("QFLAG"), ("EakxyDbjuvz",))
    assert readback_value(pi30.setting("buzzer"), flags) is True
    assert readback_value(pi30.setting("overload_restart"), flags) is False
    assert same_value(pi30.setting("buzzer"), "enable", True)
    assert not same_value(pi30.setting("buzzer"), True, None)
    assert readback_value(pi30.setting("buzzer"), ctx) is None           # not read yet


def test_write_then_read_back_round_trip(pi30):
    """What a setter writes is what its read-back field shows, for every allowed value."""
    ctx = context_48v(pi30)
    for s in pi30.settings:
        if s.kind == "flag":
            for on in (True, False):
                cmd = encode_setting(s, on)
                letter = pi30.field(s.reads_back.field).letter
                assert cmd == ("PE" if on else "PD") + letter
                shown = decode_fields(pi30.command("QFLAG"),
                                      (("E" + letter + "D") if on else ("ED" + letter),))
                assert same_value(s, on, readback_value(s, shown))
            continue
        values = list(s.choices) if s.choices else (
            [10, 60, 100, 120] if s.allowed_from == "max_charging_current_choices"
            else [2, 10, 90] if s.allowed_from else
            [x for x in (0.0, 44.0, 48.0, 54.0, 58.4) if _allowed(s, x, ctx)])
        assert values, s.name
        for v in values:
            cmd = encode_setting(s, v, ctx)
            token = cmd[len(s.pattern_for(v).split("{")[0]):]
            back = decode_token(pi30.field(s.reads_back.field), token)
            assert back.ok and same_value(s, v, back.value), (s.name, v, cmd)


def _allowed(s, v, ctx) -> bool:
    try:
        encode_setting(s, v, ctx)
        return True
    except ValueRejected:
        return False


# --- loader findings ---------------------------------------------------------------------------

HEAD = """# a small command map for the loader tests
schema: 1
device: {id: t-pi30, vendor: Test, name: Test PI30, trust: structure-verified}
protocol: pi30
link: {baudrates: [2400], min_period_ms: 500, usb: "0665:5161"}
commands:
  - command: QPIRI
    fields:
      - {name: battery_rating_voltage, index: 7, type: float, unit: V}
      - {name: battery_float_voltage, index: 11, type: float, unit: V}
      - {name: output_source_priority, index: 16, type: enum, enum: {0: Utility, 1: Solar, 2: SBU}}
  - command: QFLAG
    fields:
      - {name: buzzer, index: 0, type: flag, letter: a}
settings:
  - {name: output_source_priority, setter: "POP{:02d}", choices: {0: Utility, 1: Solar, 2: SBU}, reads_back: {command: QPIRI, index: 16}}
  - {name: buzzer, setter_enable: PEa, setter_disable: PDa, reads_back: {command: QFLAG, letter: a}}
  - name: battery_float_voltage
    setter: "PBFT{:04.1f}"
    unit: V
    depends_on: battery_rating_voltage
    variants: {48: {range: [48.0, 58.4], step: 0.1}}
    reads_back: {command: QPIRI, index: 11}
"""


def line_of(text: str, marker: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if marker in line:
            return number
    raise AssertionError(f"{marker!r} not in the map text")


def findings_of(text: str) -> list[str]:
    with pytest.raises(MapError) as info:
        parse_command_map(text, PATH)
    for item in info.value.findings:
        assert item.startswith(f"{PATH}:") and "\n" not in item, item
    return info.value.findings


def expect(text: str, marker: str, point: str | None, *words: str) -> None:
    prefix = f"{PATH}:{line_of(text, marker)}: " + (f"point {point}: " if point else "")
    items = findings_of(text)
    assert any(f.startswith(prefix) and all(w in f for w in words) for f in items), \
        f"no finding {prefix!r} with {words} in {items}"


def test_small_map_loads():
    m = parse_command_map(HEAD, PATH)
    assert m.setting("battery_float_voltage").variants[48].range == (48.0, 58.4)
    assert m.field("buzzer").line == line_of(HEAD, "name: buzzer, index")
    assert m.link.usb == (0x0665, 0x5161) and m.clock is None


def test_unknown_key():
    text = HEAD.replace("type: flag, letter: a}", "type: flag, letter: a, colour: red}")
    expect(text, "colour: red", "buzzer", "unknown key 'colour'")


def test_unknown_unit():
    text = HEAD.replace("index: 11, type: float, unit: V", "index: 11, type: float, unit: parsec")
    expect(text, "unit: parsec", "battery_float_voltage", "unknown unit 'parsec'")


def test_duplicate_field_name():
    text = HEAD.replace("      - {name: buzzer, index: 0, type: flag, letter: a}",
                        "      - {name: buzzer, index: 0, type: flag, letter: a}\n"
                        "      - {name: buzzer, index: 0, type: flag, letter: b}  # again")
    expect(text, "# again", "buzzer", "duplicate name (first at line")


def test_duplicate_yaml_key():
    text = HEAD.replace("letter: a}", "letter: a, letter: b}", 1)
    expect(text, "letter: b", "buzzer", "duplicate key 'letter'")


def test_bad_setter_format():
    for bad, words in (('"POP{:02x}"', "{:0Nd}"), ('"POP{}{}"', "exactly one"),
                       ('"POP{:02d}X"', "at the end"), ('"pop{:02d}"', "letters and digits"),
                       ('"POP{:1d}"', "cannot write")):
        text = HEAD.replace('"POP{:02d}"', bad)
        if words == "cannot write":
            text = text.replace("2: SBU}, reads_back", "2: SBU, 10: Ten}, reads_back")
        expect(text, "name: output_source_priority, setter", "output_source_priority", words)


def test_setting_reads_back_from_a_missing_field():
    text = HEAD.replace("reads_back: {command: QPIRI, index: 11}",
                        "reads_back: {command: QPIRI, index: 40}  # nowhere")
    expect(text, "- name: battery_float_voltage", "battery_float_voltage",
           "QPIRI has no field at index 40")
    text = HEAD.replace("letter: a}}", "letter: q}}")
    expect(text, "setter_enable: PEa", "buzzer", "no field at letter 'q'")
    text = HEAD.replace("reads_back: {command: QPIRI, index: 16}",
                        "reads_back: {command: QXYZ, index: 16}")
    expect(text, "name: output_source_priority, setter", "output_source_priority",
           "unknown command 'QXYZ'")


def test_setting_reads_back_from_the_wrong_kind_of_field():
    text = HEAD.replace("reads_back: {command: QFLAG, letter: a}",
                        "reads_back: {command: QPIRI, index: 16}")
    expect(text, "setter_enable: PEa", "buzzer", "reads back from a flag")
    text = HEAD.replace("{0: Utility, 1: Solar, 2: SBU}, reads_back",
                        "{0: Utility, 1: Solar, 2: SBU, 3: Other}, reads_back")
    expect(text, "setter: \"POP", "output_source_priority", "choices [3] do not appear")
    text = HEAD.replace("index: 11, type: float, unit: V", "index: 11, type: float, unit: A")
    expect(text, "- name: battery_float_voltage", "battery_float_voltage",
           "reads back from float 'battery_float_voltage' in A")


def test_field_type_rules():
    text = HEAD.replace("type: flag, letter: a}", "type: flag, letter: A}")
    expect(text, "letter: A", "buzzer", "one lower-case letter")
    text = HEAD.replace("type: float, unit: V}", "type: float, unit: V, enum: {0: x}}", 1)
    expect(text, "enum: {0: x}", "battery_rating_voltage", "'enum' does not apply to type float")
    text = HEAD.replace("index: 7, type: float", "index: 7, type: complex")
    expect(text, "type: complex", "battery_rating_voltage", "unknown type 'complex'")
    text = HEAD.replace("index: 11, type: float", "index: 7, type: float")
    expect(text, "name: battery_float_voltage, index: 7", "battery_float_voltage",
           "QPIRI index 7 is already field 'battery_rating_voltage'")
    bits = ("      - {name: st, index: 20, type: bits, first_bit: 7, "
            "bits: {9: {name: x, label: X}}}  # bits\n")
    text = HEAD.replace("  - command: QFLAG\n", bits + "  - command: QFLAG\n")
    expect(text, "# bits", "st", "not a bit number 0-7")
    flags = ("      - {name: w, index: 30, type: flags, "
             "flags: {1: {label: fault, class: fault}, 9: {label: hot, class: conditional}}}"
             "  # flags\n")
    text = HEAD.replace("  - command: QFLAG\n", flags + "  - command: QFLAG\n")
    expect(text, "# flags", "w", "conditional flags need fault_with")


def test_number_setting_rules():
    text = HEAD.replace("variants: {48: {range: [48.0, 58.4], step: 0.1}}",
                        "variants: {48: {range: [58.4, 48.0]}}")
    expect(text, "- name: battery_float_voltage", "battery_float_voltage",
           "variants.48: range must be [min, max]")
    text = HEAD.replace("depends_on: battery_rating_voltage", "depends_on: nothing_here")
    expect(text, "- name: battery_float_voltage", "battery_float_voltage",
           "depends_on must name a number field")
    text = HEAD.replace('setter: "PBFT{:04.1f}"', 'setter: "PBFT{:03.1f}"')
    expect(text, "- name: battery_float_voltage", "battery_float_voltage",
           "cannot write 48.0 in its width")


def test_all_findings_are_gathered():
    text = (HEAD.replace("unit: V}", "unit: parsec}", 1)
            .replace("letter: a}}", "letter: q}}")
            .replace('"POP{:02d}"', '"POP{:02x}"')
            .replace("protocol: pi30", "protocol: pi30\nextra: 1"))
    items = findings_of(text)
    assert len(items) >= 4, items
    assert any("unknown key 'extra'" in i for i in items)


def test_not_a_command_map():
    assert findings_of("- just a list\n") == [
        f"{PATH}:1: a map is a mapping with schema, device, link, commands and settings"]
    assert any("expected pi30" in i for i in findings_of(HEAD.replace("protocol: pi30",
                                                                      "protocol: modbus")))
    with pytest.raises(MapError, match="cannot read map"):
        load_command_map("/nonexistent/pi30.yaml")


def test_structure_check_catches_a_bad_round_trip_and_a_bad_unit():
    text = (HEAD.replace("index: 11, type: float, unit: V}", "index: 11, type: float, unit: V, "
                                                             "scale: 10}")
            .replace("index: 7, type: float, unit: V", "index: 7, type: float, unit: A"))
    report = check_command_map(parse_command_map(text, PATH))
    assert report.earned == "generated"
    texts = [str(p) for p in report.problems]
    assert any("reads back through battery_float_voltage as 480.0" in t for t in texts), texts
    assert any("suggests a voltage but the unit is A" in t for t in texts), texts


# --- the command line --------------------------------------------------------------------------



async def test_maps_list_and_check_via_cli(tmp_path):
    code, out, err = await cli("maps", "list")
    assert code == 0, err
    line = next(x for x in out.splitlines() if x.startswith("voltronic-pi30"))
    assert "fields" in line and "20 settings" in line and "Voltronic" in line
    assert any(x.startswith("growatt-protocol-ii") for x in out.splitlines())
    code, out, err = await cli("maps", "check", "voltronic-pi30")
    assert code == 0, err
    assert "voltronic-pi30" in out and "structurally earned: structure-verified" in out
    bad = tmp_path / "bad_pi30.yaml"
    bad.write_text(HEAD.replace("index: 11, type: float, unit: V", "index: 11, type: float, "
                                                                   "unit: parsec"))
    code, out, err = await cli("maps", "check", str(bad))
    assert code == 1
    assert f"{bad}:{line_of(bad.read_text(), 'unit: parsec')}: point battery_float_voltage: " \
           "unknown unit 'parsec'" in out

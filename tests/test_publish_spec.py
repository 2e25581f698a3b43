"""The maps' `publish:` sections: what MQTT publishes as which Home Assistant entity and which
settings Home Assistant may change — loaded from the shipped maps, validated with FILE:LINE
findings, and inferred from units for a map without one."""

from __future__ import annotations

from pathlib import Path

import pytest

from procs import run_cli
from solartui.errors import MapError
from solartui.registers.command_map import load_command_map, parse_command_map
from solartui.registers.loader import load_map, parse_map
from solartui.registers.publish_spec import infer, publish_for

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
  - {name: grid_frequency, doc: Fac, table: input, address: 5, type: u16, scale: 0.01, unit: Hz, group: Grid}
  - {name: soc, doc: SOC, table: input, address: 7, type: u16, unit: "%", group: Battery}
  - {name: load_percent, doc: Load, table: input, address: 8, type: u16, unit: "%", group: AC}
  - {name: energy_today, doc: Etoday, table: input, address: 10, type: u16, scale: 0.1, unit: kWh, group: Energy}
  - {name: apparent, doc: S, table: input, address: 11, type: u16, unit: VA, group: AC}
  - {name: temp_inverter, doc: T, table: input, address: 12, type: s16, scale: 0.1, unit: "°C", group: Temperature}
  - {name: reset, doc: Reset, table: holding, address: 0, type: u16, access: w, guard: true, group: Settings}
  - {name: export_limit, doc: Export limit, table: holding, address: 1, type: u16, scale: 0.1, unit: "%", access: rw, range: [0, 100], group: Settings}
  - {name: mode_select, doc: Mode, table: holding, address: 2, type: u16, access: rw, enum: {0: eco, 1: export}, group: Settings}
  - {name: vac_high, doc: Vac high, table: holding, address: 3, type: u16, scale: 0.1, unit: V, access: rw, range: [0, 300], group: Grid}
  - {name: slot_start, doc: Slot, table: holding, address: 4, type: hhmm, access: rw, group: Settings}
  - {name: write_only, doc: W, table: holding, address: 5, type: u16, access: w, range: [0, 10], group: Settings}
"""


def small(section: str = ""):
    return parse_map(SMALL + section, "small.yaml")


def findings(section: str) -> list[str]:
    with pytest.raises(MapError) as exc:
        small(section)
    return exc.value.findings


# --- the shipped maps ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["growatt_protocol_ii.yaml", "givenergy_hybrid.yaml"])
def test_shipped_register_maps_have_their_own_publish_section(path):
    m = load_map(MAPS / path)
    spec = publish_for(m)
    assert m.publish is spec and not spec.inferred
    assert 20 <= len(spec.points) <= 45            # the points a household watches, not 300
    assert 1 <= len(spec.remote_safe) <= 8         # a FEW settings
    for s in spec.remote_safe:
        p = m.point(s.name)
        assert p.access == "rw" and not p.guard and p.group not in ("Grid", "Clock")
    assert not any(x in s.name for s in spec.remote_safe
                   for x in ("reboot", "reset", "calibration", "factory", "address", "baud"))
    by = {p.point: p for p in spec.points}
    energies = [p for p in spec.points if p.unit == "kWh"]
    assert energies and all(p.device_class == "energy" and p.state_class == "total_increasing"
                            for p in energies)
    soc = by["soc" if "soc" in by else "battery_soc"]
    assert soc.device_class == "battery" and soc.state_class == "measurement"
    assert by["inverter_status"].device_class == "enum" and by["inverter_status"].options


def test_growatt_settings_become_numbers_and_selects():
    spec = publish_for(load_map(MAPS / "growatt_protocol_ii.yaml"))
    export = spec.setting("export_limit_power_rate")
    assert (export.kind, export.minimum, export.maximum, export.step, export.unit) == \
        ("number", -100, 100, 0.1, "%")
    ac = spec.setting("ac_charge_enable")
    assert ac.kind == "select" and ac.options == ("disabled", "enabled")
    # the state JSON carries the settings' current values too (their entities show them)
    assert spec.state_names[:len(spec.points)] == spec.names
    assert spec.state_names[len(spec.points):] == tuple(s.name for s in spec.remote_safe)


def test_pi30_publishes_fields_and_offers_the_priorities():
    m = load_command_map(MAPS / "voltronic_pi30.yaml")
    spec = publish_for(m)
    assert not spec.inferred
    by = {p.point: p for p in spec.points}
    assert by["battery_capacity"].device_class == "battery"
    assert by["ac_output_active_power"].device_class == "power"
    assert by["mode"].device_class == "enum" and by["mode"].options
    out = spec.setting("output_source_priority")
    assert out.kind == "select" and out.state == "output_source_priority"
    assert out.options == ("Utility first", "Solar first", "SBU")
    assert spec.setting("battery_type") is None             # not offered
    amps = spec.setting("max_ac_charging_current")
    assert (amps.kind, amps.minimum, amps.maximum, amps.unit) == ("number", 1, 99, "A")


async def test_maps_check_reports_the_publish_section():
    code, out, err = await run_cli("maps", "check")
    assert code == 0, err
    assert "publish: from the map: 38 sensors" in out
    assert "remote-safe settings: active_power_rate, export_limit_power_rate" in out
    assert "publish: inferred from the units (no publish: section)" in out      # modbus-generic


# --- inference -----------------------------------------------------------------------------------

def test_a_map_without_the_section_publishes_every_readable_point_and_no_setting():
    m = small()
    spec = publish_for(m)
    assert spec.inferred and spec.remote_safe == ()
    by = {p.point: p for p in spec.points}
    assert "reset" not in by and "write_only" not in by
    assert (by["pv_power"].device_class, by["pv_power"].state_class) == ("power", "measurement")
    assert by["pv1_voltage"].device_class == "voltage"
    assert by["grid_frequency"].device_class == "frequency"
    assert (by["energy_today"].device_class, by["energy_today"].state_class) == \
        ("energy", "total_increasing")
    assert by["soc"].device_class == "battery"
    assert by["load_percent"].device_class is None and by["load_percent"].state_class == \
        "measurement"
    assert by["apparent"].device_class == "apparent_power"
    assert by["temp_inverter"].device_class == "temperature"
    assert by["state"].device_class == "enum" and by["state"].options == ("idle", "run", "fault")
    assert by["state"].state_class is None
    # a code has no unit: no state class (no statistics of fault numbers), diagnostic
    assert by["fault_code"].state_class is None and by["fault_code"].entity_category == \
        "diagnostic"
    assert by["pv_power"].entity_category is None
    assert by["export_limit"].entity_category == "diagnostic"        # a Settings value


def test_listed_points_take_inferred_classes_and_their_own_overrides():
    m = small("""\
publish:
  points:
    - pv_power
    - {point: soc, label: battery, icon: "mdi:battery"}
    - {point: load_percent, device_class: power_factor, state_class: measurement}
    - {point: fault_code, entity_category: diagnostic}
  remote_safe: [export_limit, {point: mode_select, label: work mode}]
""")
    spec = m.publish
    assert spec.names == ("pv_power", "soc", "load_percent", "fault_code")
    soc = spec.points[1]
    assert (soc.label, soc.icon, soc.device_class) == ("battery", "mdi:battery", "battery")
    assert spec.points[2].device_class == "power_factor"
    exp, mode = spec.remote_safe
    assert (exp.kind, exp.minimum, exp.maximum, exp.step) == ("number", 0, 100, 0.1)
    assert (mode.kind, mode.label, mode.options) == ("select", "work mode", ("eco", "export"))


# --- validation ----------------------------------------------------------------------------------

def test_every_problem_is_a_finding_with_its_line():
    got = findings("""\
publish:
  points:
    - pv_powr
    - {point: soc, device_class: power}
    - {point: pv_power, state_class: sometimes}
    - {point: state, state_class: measurement}
    - {point: reset}
    - {point: energy_today, colour: red}
    - pv1_voltage
    - pv1_voltage
    - {point: grid_frequency, entity_category: config}
    - {point: temp_inverter, icon: thermometer}
  remote_safe: [reset, vac_high, slot_start, write_only, pv_power, export_limt, export_limit, export_limit]
  extra: 1
""")
    text = "\n".join(got)
    n = SMALL.count("\n")
    # a bare name has no line of its own in YAML: the finding names the points: line
    assert f"small.yaml:{n + 2}: publish.points: no point 'pv_powr' in this map (did you mean pv_power" \
        in text
    assert f"small.yaml:{n + 4}: publish.points: 'soc' has '%'; device_class power needs 'W' or 'kW'" \
        in text
    assert f"small.yaml:{n + 5}: publish.points: 'pv_power': unknown state_class 'sometimes'" in text
    assert f"small.yaml:{n + 6}: publish.points: 'state' is not a number" in text
    assert f"small.yaml:{n + 7}: publish.points: 'reset' is write-only" in text
    assert f"small.yaml:{n + 8}: publish.points: unknown key 'colour'" in text
    assert "'pv1_voltage' is listed twice" in text
    assert f"small.yaml:{n + 11}: publish.points: 'grid_frequency': entity_category must be " \
           "diagnostic" in text
    assert f"small.yaml:{n + 12}: publish.points: icon of 'temp_inverter' must be an mdi: name" \
        in text
    line = f"small.yaml:{n + 13}: publish.remote_safe:"
    assert f"{line} 'reset' is guarded: never remote-safe" in text
    assert f"{line} 'vac_high' is a grid-protection setting (group Grid): never remote-safe" in text
    assert f"{line} 'slot_start' is of type hhmm" in text
    assert f"{line} 'write_only' is write-only" in text
    assert f"{line} no writable setting 'pv_power'" in text
    assert f"{line} no writable setting 'export_limt' in this map (did you mean export_limit" in text
    assert f"{line} 'export_limit' is listed twice" in text
    assert f"small.yaml:{n + 14}: publish: unknown key 'extra'" in text


@pytest.mark.parametrize("section, message", [
    ("publish: [pv_power]\n", "'publish' must be a mapping"),
    ("publish: {remote_safe: []}\n", "publish.points must be a non-empty list"),
    ("publish: {points: [pv_power], remote_safe: export_limit}\n",
     "publish.remote_safe must be a list"),
    ("publish: {points: [7]}\n", "an entry is a point name or a mapping, not 7"),
    ("publish: {points: [{label: x}]}\n", "an entry needs point"),
    ("publish: {points: [{point: pv_power, label: " + "x" * 41 + "}]}\n", "longer than 40"),
    ("publish: {points: [{point: pv_power, device_class: enum}]}\n", "device_class enum needs"),
    ("publish: {points: [{point: pv_power, device_class: sunshine}]}\n",
     "unknown device_class 'sunshine'"),
])
def test_malformed_sections_are_refused(section, message):
    assert any(message in f for f in findings(section)), findings(section)


def test_command_map_publish_refusals():
    text = (MAPS / "voltronic_pi30.yaml").read_text()
    start = text.index("publish:\n")
    end = text.index("\ncommands:")
    bad = text[:start] + """publish:
  points: [mode, max_charging_current_choices, serial_number, device_time]
  remote_safe: [battery_type, battery_float_voltage, buzzer, output_source_priority]
""" + text[end:]
    with pytest.raises(MapError) as exc:
        parse_command_map(bad, "pi30.yaml")
    text = "\n".join(exc.value.findings)
    assert "'max_charging_current_choices' is of type list" in text
    assert "'serial_number' is answered by QID (role identity), which is not polled" in text
    assert "'device_time'" in text
    assert "'battery_float_voltage' asks for a confirmation" in text or \
        "'battery_float_voltage' has no fixed range" in text
    assert "'buzzer' is a flag setting" in text
    assert "output_source_priority'" not in text


def test_infer_is_total_for_every_shipped_value():
    """Every readable value of every shipped map gets an entity (nothing raises)."""
    for path in MAPS.glob("*.yaml"):
        m = load_command_map(path) if "pi30" in path.name else load_map(path)
        values = m.fields if hasattr(m, "fields") else [p for p in m.points if p.readable]
        for v in values:
            infer(v)

"""Home Assistant MQTT discovery payloads for the shipped maps: the keys Home Assistant documents
for sensor/number/select/binary_sensor discovery (and no others), stable unique ids, the device
block with via_device, availability on bridge + device (+ datalogger), templates into the state
JSON, entity removal."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from solartui.mqtt import discovery
from solartui.mqtt.model import DeviceInfo
from solartui.mqtt.topics import Topics, device_id
from solartui.registers.command_map import load_command_map
from solartui.registers.loader import load_map

MAPS = Path(__file__).resolve().parent.parent / "maps"

# https://www.home-assistant.io/integrations/{sensor,number,select,binary_sensor}.mqtt/ and
# https://www.home-assistant.io/integrations/mqtt/#discovery-messages (device, origin)
COMMON = {"availability", "availability_mode", "availability_template", "availability_topic",
          "default_entity_id", "device", "enabled_by_default", "encoding", "entity_category",
          "entity_picture", "icon", "json_attributes_template", "json_attributes_topic", "name",
          "origin", "payload_available", "payload_not_available", "platform", "qos",
          "unique_id", "value_template", "state_topic"}
DOCUMENTED = {
    "sensor": COMMON | {"device_class", "expire_after", "force_update",
                        "last_reset_value_template", "options", "state_class",
                        "suggested_display_precision", "unit_of_measurement"},
    "number": COMMON | {"command_template", "command_topic", "device_class", "max", "min",
                        "mode", "optimistic", "payload_reset", "retain", "step",
                        "unit_of_measurement"},
    "select": COMMON | {"command_template", "command_topic", "optimistic", "options", "retain"},
    "binary_sensor": COMMON | {"device_class", "expire_after", "force_update", "off_delay",
                               "payload_off", "payload_on"},
}
DEVICE_KEYS = {"configuration_url", "connections", "hw_version", "identifiers", "manufacturer",
               "model", "model_id", "name", "serial_number", "suggested_area", "sw_version",
               "via_device"}
ORIGIN_KEYS = {"name", "sw_version", "support_url"}
SENSOR_CLASSES = {"apparent_power", "battery", "current", "duration", "energy", "energy_storage",
                  "enum", "frequency", "power", "power_factor", "reactive_power", "temperature",
                  "voltage"}

TOPICS = Topics()
INVERTER = DeviceInfo(device_id=device_id("SIMINV0001"), serial="SIMINV0001",
                      manufacturer="Growatt", model="MIN 5000TL-X", firmware="DH1.0",
                      via=device_id("SIMLOG0001"), map_id="growatt-protocol-ii")
LOGGER = DeviceInfo(device_id=device_id("SIMLOG0001"), serial="SIMLOG0001",
                    manufacturer="Growatt", model="ShineWiFi-X")


def _maps():
    return [("growatt", load_map(MAPS / "growatt_protocol_ii.yaml")),
            ("givenergy", load_map(MAPS / "givenergy_hybrid.yaml")),
            ("pi30", load_command_map(MAPS / "voltronic_pi30.yaml"))]


def configs(messages):
    out = {}
    for m in messages:
        prefix, component, dev, point, config = m.topic.split("/")
        assert (prefix, config) == ("homeassistant", "config")
        out[(component, point)] = (m, json.loads(m.payload))
    return out


@pytest.mark.parametrize("name, m", _maps())
def test_every_config_uses_only_documented_keys(name, m):
    msgs = discovery.messages_for(INVERTER, m, TOPICS, writes=True)
    assert msgs
    seen_ids = set()
    for (component, point), (msg, cfg) in configs(msgs).items():
        assert msg.retain and msg.payload
        assert set(cfg) <= DOCUMENTED[component], (point, set(cfg) - DOCUMENTED[component])
        assert set(cfg["device"]) <= DEVICE_KEYS and set(cfg["origin"]) <= ORIGIN_KEYS
        assert cfg["unique_id"] == f"solartui_siminv0001_{point}"
        assert cfg["unique_id"] not in seen_ids
        seen_ids.add(cfg["unique_id"])
        assert cfg["default_entity_id"] == f"{component}.siminv0001_{point}"
        assert "object_id" not in cfg      # deprecated by Home Assistant for default_entity_id
        assert cfg["state_topic"] == "solartui/siminv0001/state"
        if component == "sensor" and "device_class" in cfg:
            assert cfg["device_class"] in SENSOR_CLASSES
        if cfg.get("state_class") == "total_increasing":
            assert cfg["device_class"] == "energy"


def test_sensor_payload_for_a_power_point():
    m = load_map(MAPS / "growatt_protocol_ii.yaml")
    (msg, cfg) = configs(discovery.messages_for(INVERTER, m, TOPICS))[("sensor", "ppv")]
    assert msg.topic == "homeassistant/sensor/siminv0001/ppv/config"
    assert cfg["device"] == {
        "identifiers": ["solartui_siminv0001"], "name": "Growatt MIN 5000TL-X SIMINV0001",
        "manufacturer": "Growatt", "model": "MIN 5000TL-X", "serial_number": "SIMINV0001",
        "sw_version": "DH1.0", "via_device": "solartui_simlog0001"}
    assert (cfg["unit_of_measurement"], cfg["device_class"], cfg["state_class"]) == \
        ("W", "power", "measurement")
    assert "entity_category" not in cfg
    assert cfg["availability_mode"] == "all"
    assert [a["topic"] for a in cfg["availability"]] == [
        "solartui/bridge/status", "solartui/siminv0001/status", "solartui/simlog0001/status"]
    assert all((a["payload_available"], a["payload_not_available"]) == ("online", "offline")
               for a in cfg["availability"])
    assert cfg["origin"]["name"] == "solartui"


def test_energy_enum_and_diagnostic_entities():
    m = load_map(MAPS / "growatt_protocol_ii.yaml")
    c = configs(discovery.messages_for(INVERTER, m, TOPICS))
    eac = c[("sensor", "eac_total")][1]
    assert (eac["device_class"], eac["state_class"], eac["unit_of_measurement"]) == \
        ("energy", "total_increasing", "kWh")
    status = c[("sensor", "inverter_status")][1]
    assert status["device_class"] == "enum" and status["options"] == ["waiting", "normal", "fault"]
    assert "state_class" not in status and "unit_of_measurement" not in status
    assert c[("sensor", "fault_main_code")][1]["entity_category"] == "diagnostic"
    assert c[("sensor", "vpv1")][1]["entity_category"] == "diagnostic"


TEMPLATE = re.compile(r"\{% set d = value_json\['values'\] %\}\{\{ (.*) \}\}")


def render(tpl: str, state: dict):
    """The template's expression is valid Python too: evaluate it against a state message."""
    expr = TEMPLATE.fullmatch(tpl)
    assert expr, tpl
    return eval(expr.group(1), {}, {"d": state["values"]})     # noqa: S307


def test_value_templates_read_the_state_json():
    """`value_json.values` would be the dict's method in Jinja: the template subscripts."""
    state = {"time": "2026-12-04T15:11:21+00:00", "values": {"ppv": 1234.5, "vac1": 230.1}}
    m = load_map(MAPS / "growatt_protocol_ii.yaml")
    c = configs(discovery.messages_for(INVERTER, m, TOPICS))
    for point in ("ppv", "vac1"):
        tpl = c[("sensor", point)][1]["value_template"]
        assert "value_json.values" not in tpl
        assert render(tpl, state) == state["values"][point]
    # a point the reading does not carry (a failed read) is None: unknown, not an error
    assert render(c[("sensor", "fac")][1]["value_template"], state) is None


def test_an_enum_word_outside_its_options_renders_none():
    """A code the map does not know decodes as "unknown (2)": Home Assistant would log an error
    for a value outside the enum's options, so the template gives None (state unknown)."""
    m = load_map(MAPS / "growatt_protocol_ii.yaml")
    tpl = configs(discovery.messages_for(INVERTER, m, TOPICS))[("sensor", "inverter_status")][1][
        "value_template"]
    assert '["waiting", "normal", "fault"]' in tpl
    for word, shown in (("normal", "normal"), ("unknown (2)", None)):
        assert render(tpl, {"values": {"inverter_status": word}}) == shown
    assert render(tpl, {"values": {}}) is None


def test_points_limit_the_sensors_to_what_the_reading_carries():
    m = load_map(MAPS / "growatt_protocol_ii.yaml")
    msgs = discovery.messages_for(INVERTER, m, TOPICS, points=["ppv", "vac1", "not_published"])
    assert [x.topic.split("/")[3] for x in msgs] == ["ppv", "vac1"]


def test_settings_appear_only_with_writes():
    m = load_map(MAPS / "growatt_protocol_ii.yaml")
    off = configs(discovery.messages_for(INVERTER, m, TOPICS))
    assert {c for c, _ in off} == {"sensor"}
    on = configs(discovery.messages_for(INVERTER, m, TOPICS, writes=True))
    number = on[("number", "export_limit_power_rate")][1]
    assert number["command_topic"] == "solartui/siminv0001/set/export_limit_power_rate"
    assert (number["min"], number["max"], number["step"], number["unit_of_measurement"],
            number["mode"], number["entity_category"]) == (-100, 100, 0.1, "%", "box", "config")
    select = on[("select", "ac_charge_enable")][1]
    assert select["options"] == ["disabled", "enabled"]
    assert select["command_topic"] == "solartui/siminv0001/set/ac_charge_enable"
    assert not any(p in ("factory_reset", "vac_high_1", "com_address", "sys_year")
                   for _, p in on)


def test_pi30_select_reads_its_read_back_field():
    m = load_command_map(MAPS / "voltronic_pi30.yaml")
    dev = DeviceInfo(device_id="92932004102443", serial="92932004102443", manufacturer="Voltronic",
                     model="MKS2-5600", firmware="00072.70")
    c = configs(discovery.messages_for(dev, m, TOPICS, writes=True))
    sel = c[("select", "output_source_priority")][1]
    assert sel["options"] == ["Utility first", "Solar first", "SBU"]
    assert "d['output_source_priority'] if 'output_source_priority' in d" in sel["value_template"]
    assert "via_device" not in sel["device"]
    assert [a["topic"] for a in sel["availability"]] == ["solartui/bridge/status",
                                                          "solartui/92932004102443/status"]


def test_a_device_without_a_model_is_named_by_its_map():
    m = load_map(MAPS / "givenergy_hybrid.yaml")
    dev = DeviceInfo(device_id="ce1234g567", serial="CE1234G567")
    cfg = configs(discovery.messages_for(dev, m, TOPICS))[("sensor", "battery_soc")][1]
    assert cfg["device"]["model"] == m.name and "manufacturer" not in cfg["device"]
    assert cfg["device_class"] == "battery"


def test_the_datalogger_is_a_device_with_a_connectivity_entity():
    for msgs in (discovery.datalogger_messages(LOGGER, TOPICS),
                 discovery.messages_for(LOGGER, None, TOPICS)):
        [(key, (msg, cfg))] = configs(msgs).items()
        assert key == ("binary_sensor", "connectivity") and msg.retain
        assert set(cfg) <= DOCUMENTED["binary_sensor"]
        assert cfg["device"]["identifiers"] == ["solartui_simlog0001"]
        assert cfg["device_class"] == "connectivity" and cfg["entity_category"] == "diagnostic"
        assert (cfg["state_topic"], cfg["payload_on"], cfg["payload_off"]) == \
            ("solartui/simlog0001/status", "online", "offline")
        # only the bridge: an offline datalogger shows as disconnected, not unavailable
        assert [a["topic"] for a in cfg["availability"]] == ["solartui/bridge/status"]


def test_removal_and_stale_configs_are_empty_retained_payloads():
    m = load_map(MAPS / "growatt_protocol_ii.yaml")
    gone = discovery.removal_messages(INVERTER.device_id, m, TOPICS)
    announced = {x.topic for x in discovery.messages_for(INVERTER, m, TOPICS, writes=True)}
    assert {x.topic for x in gone} == announced
    assert all(x.payload == "" and x.retain for x in gone)
    before = discovery.messages_for(INVERTER, m, TOPICS, writes=True)
    now = discovery.messages_for(INVERTER, m, TOPICS, points=["ppv"])
    stale = discovery.stale_messages(before, now)
    assert {x.topic for x in stale} == announced - {x.topic for x in now}
    assert all(x.payload == "" and x.retain for x in stale)
    [logger_gone] = discovery.removal_messages(LOGGER.device_id, None, TOPICS)
    assert logger_gone.topic == "homeassistant/binary_sensor/simlog0001/connectivity/config"


def test_a_custom_prefix_and_base_are_used_everywhere():
    topics = Topics(base="site/pi", prefix="ha")
    m = load_map(MAPS / "growatt_protocol_ii.yaml")
    for msg in discovery.messages_for(INVERTER, m, topics, writes=True):
        assert msg.topic.startswith("ha/")
        cfg = json.loads(msg.payload)
        assert cfg["state_topic"] == "site/pi/siminv0001/state"
        assert all(a["topic"].startswith("site/pi/") for a in cfg["availability"])
        if "command_topic" in cfg:
            assert cfg["command_topic"].startswith("site/pi/siminv0001/set/")

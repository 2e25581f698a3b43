"""Home Assistant MQTT discovery: the retained config messages that make a device and its
entities appear, built from the map's `publish:` data (registers/publish_spec.py).

One config message per entity on `{prefix}/{component}/{device}/{point}/config`:
- a `sensor` per published point (unique_id = device id + point, so renaming a label or moving
  the Pi never makes a second entity), reading its value out of the device's state JSON;
- with writes on, a `number` or `select` per remote-safe setting, commanding
  `{base}/{device}/set/{point}` (answered on `{base}/{device}/result`, see commands.py);
- a datalogger (the device an inverter is reached through) as a device of its own with one
  `binary_sensor` (connectivity) fed by its status topic.

Every entity is available only while the bridge is online (its last will says offline), the
device is online and, for an inverter behind a datalogger, the datalogger is online
(availability_mode all). The state JSON is `{"time": ..., "values": {point: value}}`; templates use
`value_json['values'][...]` because `value_json.values` is the dict's method in Jinja.

`removal_messages` / `stale_messages` give the empty retained payloads that delete entities.
No I/O here: the publisher sends what these functions return.
"""

from __future__ import annotations

import json
from typing import Iterable

from solartui import __version__
from solartui.mqtt.model import DeviceInfo, Message
from solartui.mqtt.topics import Topics
from solartui.registers.publish_spec import Published, RemoteSetting, publish_for

ORIGIN = {"name": "solartui", "sw_version": __version__}     # no support_url: none is published
ONLINE, OFFLINE = "online", "offline"
COMPONENTS = ("sensor", "number", "select")
CONNECTIVITY = "connectivity"       # the datalogger's one entity (binary_sensor)


def identifier(device_id: str) -> str:
    """The device registry identifier (also the prefix of every unique_id)."""
    return f"solartui_{device_id}"


def unique_id(device_id: str, point: str) -> str:
    return f"{identifier(device_id)}_{point}"


def _device_block(device: DeviceInfo, fallback_model: str = "") -> dict:
    model = device.model or fallback_model
    name = " ".join(x for x in (device.manufacturer, model or "device", device.serial) if x)
    block = {"identifiers": [identifier(device.device_id)], "name": name}
    if device.manufacturer:
        block["manufacturer"] = device.manufacturer
    if model:
        block["model"] = model
    if device.serial:
        block["serial_number"] = device.serial
    if device.firmware:
        block["sw_version"] = device.firmware
    if device.via:
        block["via_device"] = identifier(device.via)
    return block


def availability(device: DeviceInfo, topics: Topics) -> list[dict]:
    """Bridge, device and (behind a datalogger) the datalogger: all must be online."""
    chain = [topics.bridge_status(), topics.device_status(device.device_id)]
    if device.via:
        chain.append(topics.device_status(device.via))
    return [{"topic": t, "payload_available": ONLINE, "payload_not_available": OFFLINE}
            for t in chain]


def value_template(point: str, options: tuple[str, ...] | None = None) -> str:
    """The point's value out of the state JSON, or None when the reading does not carry it (a
    failed read is absent; a setting the site does not poll): Home Assistant shows unknown, as
    it does for an enum word outside the options (a code the map does not know, "unknown (7)"),
    instead of logging a template or value error on every message."""
    key = json.dumps(point).replace('"', "'")
    cond = f"{key} in d"
    if options:
        cond += f" and d[{key}] in {json.dumps(list(options), ensure_ascii=False)}"
    return "{%% set d = value_json['values'] %%}{{ d[%s] if %s else None }}" % (key, cond)


def _common(device: DeviceInfo, topics: Topics, component: str, point: str, label: str,
            device_block: dict) -> dict:
    return {
        "name": label,
        "unique_id": unique_id(device.device_id, point),
        "default_entity_id": f"{component}.{device.device_id}_{point}",
        "device": device_block,
        "origin": ORIGIN,
        "availability": availability(device, topics),
        "availability_mode": "all",
        "state_topic": topics.state(device.device_id),
        "value_template": value_template(point),
    }


def sensor_config(device: DeviceInfo, topics: Topics, p: Published, device_block: dict) -> dict:
    cfg = _common(device, topics, "sensor", p.point, p.label, device_block)
    cfg["value_template"] = value_template(p.point, p.options)
    if p.unit:
        cfg["unit_of_measurement"] = p.unit
    if p.device_class:
        cfg["device_class"] = p.device_class
    if p.options:
        cfg["options"] = list(p.options)
    if p.state_class:
        cfg["state_class"] = p.state_class
    if p.entity_category:
        cfg["entity_category"] = p.entity_category
    if p.icon:
        cfg["icon"] = p.icon
    return cfg


def setting_config(device: DeviceInfo, topics: Topics, s: RemoteSetting,
                   device_block: dict) -> tuple[str, dict]:
    """(component, config) of a remote-safe setting: a number (box, not a slider: every change
    is a write) or a select."""
    component = "select" if s.kind == "select" else "number"
    cfg = _common(device, topics, component, s.name, s.label, device_block)
    cfg["value_template"] = value_template(s.state, s.options)
    cfg["command_topic"] = topics.command(device.device_id, s.name)
    cfg["entity_category"] = "config"
    if component == "select":
        cfg["options"] = list(s.options or ())
    else:
        cfg.update({"min": s.minimum, "max": s.maximum, "step": s.step, "mode": "box"})
        if s.unit:
            cfg["unit_of_measurement"] = s.unit
    if s.icon:
        cfg["icon"] = s.icon
    return component, cfg


def _message(topics: Topics, component: str, device_id: str, point: str, cfg: dict) -> Message:
    return Message(topics.discovery(component, device_id, point),
                   json.dumps(cfg, ensure_ascii=False, separators=(",", ":")), retain=True, qos=1)


def messages_for(device: DeviceInfo, device_map, topics: Topics, *, writes: bool = False,
                 points: list[str] | None = None) -> list[Message]:
    """Every retained discovery message for one device (sensors; number/select entities for the
    map's remote-safe settings when `writes`). `points` limits sensors to the points the reading
    carries (None: all the map publishes). A device without a map (a datalogger) gets its
    connectivity entity."""
    if device_map is None:
        return datalogger_messages(device, topics)
    spec = publish_for(device_map)
    block = _device_block(device, getattr(device_map, "name", ""))
    wanted = None if points is None else set(points)
    out = [_message(topics, "sensor", device.device_id, p.point,
                    sensor_config(device, topics, p, block))
           for p in spec.points if wanted is None or p.point in wanted]
    if writes:
        for s in spec.remote_safe:
            component, cfg = setting_config(device, topics, s, block)
            out.append(_message(topics, component, device.device_id, s.name, cfg))
    return out


def datalogger_messages(logger: DeviceInfo, topics: Topics) -> list[Message]:
    """A datalogger as a device: one connectivity binary_sensor on its status topic (online /
    offline), available while the bridge is; the inverters behind it name it as via_device."""
    block = _device_block(logger, "datalogger")
    cfg = {
        "name": "connection",
        "unique_id": unique_id(logger.device_id, CONNECTIVITY),
        "default_entity_id": f"binary_sensor.{logger.device_id}_{CONNECTIVITY}",
        "device": block,
        "origin": ORIGIN,
        "device_class": "connectivity",
        "entity_category": "diagnostic",
        "state_topic": topics.device_status(logger.device_id),
        "payload_on": ONLINE,
        "payload_off": OFFLINE,
        "availability": [{"topic": topics.bridge_status(), "payload_available": ONLINE,
                          "payload_not_available": OFFLINE}],
    }
    return [_message(topics, "binary_sensor", logger.device_id, CONNECTIVITY, cfg)]


# --- removing entities ---------------------------------------------------------------------------

def removal_messages(device_id: str, device_map, topics: Topics) -> list[Message]:
    """Empty retained configs for every entity the map could have made for a device (a device
    that went away): Home Assistant deletes each entity, and the broker forgets the config."""
    if device_map is None:
        return [Message(topics.discovery("binary_sensor", device_id, CONNECTIVITY), "",
                        retain=True, qos=1)]
    spec = publish_for(device_map)
    targets = [("sensor", p.point) for p in spec.points]
    targets += [("select" if s.kind == "select" else "number", s.name) for s in spec.remote_safe]
    return [Message(topics.discovery(c, device_id, n), "", retain=True, qos=1)
            for c, n in targets]


def stale_messages(before: Iterable[Message], now: Iterable[Message]) -> list[Message]:
    """Empty retained configs for the entities announced `before` but not `now` (a point no
    longer published, writes turned off): announce `now`, then send these."""
    keep = {m.topic for m in now}
    return [Message(m.topic, "", retain=True, qos=1) for m in before
            if m.topic not in keep and m.payload]

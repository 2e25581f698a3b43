"""A site file's `mqtt:` section: the broker `solartui log` publishes to (README, Home Assistant
and MQTT). Checked here with FILE:LINE findings like the rest of the site file; the URL by the same
parser the command line uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from solartui.mqtt.url import MqttUrlError, parse_url
from solartui.registers.yaml_lines import Findings, key_line

MQTT_KEYS = ("url", "base", "discovery_prefix", "discovery", "writes", "ca_file", "cert_file",
             "key_file", "password_env", "queue_size")


def parse_mqtt_section(m: Any, f: Findings, line: int,
                       file_path: Callable[[Any, int, str], Path | None]) -> dict | None:
    """The site's broker: `url` (mqtt:// or mqtts://; keep the password out of it: password_env
    names the variable, default SOLARTUI_MQTT_PASSWORD), base, discovery_prefix, writes,
    ca_file/cert_file/key_file (relative to the site file: `file_path` resolves them, with a
    finding when refused), queue_size."""
    if not isinstance(m, dict):
        f.add(line, "mqtt must be a mapping with at least url: mqtt://host")
        return None
    bad = len(f.items)
    out: dict = {}
    for key, value in m.items():
        ln = key_line(m, key)
        if key not in MQTT_KEYS:
            f.add(ln, f"mqtt: unknown key '{key}' (allowed: {', '.join(MQTT_KEYS)})")
        elif key in ("writes", "discovery"):
            if not isinstance(value, bool):
                f.add(ln, f"mqtt: {key} must be true or false, got {value!r}")
            out[key] = value
        elif key == "queue_size":
            if not (isinstance(value, int) and not isinstance(value, bool) and value > 0):
                f.add(ln, f"mqtt: queue_size must be a positive whole number, got {value!r}")
            out[key] = value
        elif not isinstance(value, str) or not value.strip():
            f.add(ln, f"mqtt: {key} must be text")
        elif key == "url":
            try:
                parse_url(value)
            except MqttUrlError as exc:
                f.add(ln, f"mqtt: {exc}")
            out[key] = value
        elif key in ("ca_file", "cert_file", "key_file"):
            path = file_path(value, ln, f"mqtt: {key}")
            out[key] = str(path) if path is not None else None
        else:
            out[key] = value
    if "url" not in m:
        f.add(line, "mqtt: missing 'url' (mqtt://host or mqtts://host)")
    return out if len(f.items) == bad else None

"""Home Assistant MQTT discovery (STUB — filled in by the mqtt-ha work): retained config messages,
one entity per published point, built from the map's `publish:` data."""

from __future__ import annotations

from solartui.mqtt.model import DeviceInfo, Message
from solartui.mqtt.topics import Topics


def messages_for(device: DeviceInfo, device_map, topics: Topics, *, writes: bool = False,
                 points: list[str] | None = None) -> list[Message]:
    """Every retained discovery message for one device (sensors; number/select entities for the
    map's remote-safe settings when `writes`). `points` limits sensors to the points the reading
    carries (None: all the map publishes)."""
    return []

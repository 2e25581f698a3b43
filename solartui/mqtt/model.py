"""What the MQTT sink publishes, independent of where it came from (a datalogger record in `serve`,
a poll in `log`) and of how it is sent."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Message:
    """One MQTT publish."""

    topic: str
    payload: str
    retain: bool = False
    qos: int = 0


@dataclass(frozen=True)
class DeviceInfo:
    """A device as Home Assistant sees it: the `device` block and the topic name."""

    device_id: str              # topic-safe id (topics.device_id(serial))
    serial: str
    manufacturer: str = ""
    model: str = ""
    firmware: str = ""
    via: str | None = None      # device_id of the datalogger the device is reached through
    map_id: str = ""            # the register map its values come from


@dataclass(frozen=True)
class StateReading:
    """One reading of one device: values in engineering units (numbers, or enum words)."""

    device_id: str
    time: float                 # epoch seconds of the reading (the record's own time if it has one)
    values: dict = field(default_factory=dict)
    buffered: bool = False      # a datalogger's buffered (late) record: never the live state

"""`serve --mqtt`: every decoded datalogger record to MQTT, and who is online.

Each inverter is a device (id from its serial; manufacturer Growatt; model, firmware from its
announce) reached `via` its datalogger, which is a device of its own (its availability is its
connection). A live record goes to `{base}/{inverter}/state`, a buffered one (history sent after
an outage) to `{base}/{inverter}/buffered`. A datalogger that disconnects takes itself and every
inverter behind it offline; its next record brings them back. The record listener runs after the
ack and only enqueues.
"""

from __future__ import annotations

from solartui.mqtt.model import DeviceInfo, StateReading
from solartui.mqtt.publisher import MqttPublisher
from solartui.mqtt.state import group_values, published_points
from solartui.mqtt.topics import device_id

MANUFACTURER = "Growatt"


def record_time(values, zone) -> float:
    """Epoch of a record: its own time stamp (the datalogger's local time, in the zone the
    server syncs it to), else when it arrived."""
    ts = getattr(values, "timestamp", None)
    if ts is None:
        return values.received
    try:
        return (ts.replace(tzinfo=zone) if zone is not None and ts.tzinfo is None else ts).timestamp()
    except (ValueError, OverflowError, OSError):
        return values.received


class ServeBridge:
    def __init__(self, server, publisher: MqttPublisher):
        self.server = server
        self.publisher = publisher
        self._behind: dict[str, set[str]] = {}          # datalogger id -> inverter ids
        self._serials: dict[str, str] = {}              # inverter id -> serial
        self._announced: dict[str, tuple] = {}          # device id -> what it was announced as
        self._devices: dict[str, object] = {}           # inverter id -> gate-capable device
        self._points = published_points(server.map)     # decode only these (None: all)
        publisher.resolve = self.resolve

    def attach(self) -> None:
        self.server.record_listeners.append(self.on_record)
        self.server.subscribe(self.on_change)

    def detach(self) -> None:
        if self.on_record in self.server.record_listeners:
            self.server.record_listeners.remove(self.on_record)
        self.server.unsubscribe(self.on_change)

    # --- devices -------------------------------------------------------------------------------

    def datalogger_info(self, logger) -> DeviceInfo:
        return DeviceInfo(device_id(logger.serial), logger.serial, MANUFACTURER,
                          "datalogger", "", None, "")

    def inverter_info(self, logger, inv) -> DeviceInfo:
        ident = inv.identity or {}
        model = ident.get("model") or ""
        firmware = ident.get("firmware") or ""
        return DeviceInfo(device_id(inv.serial), inv.serial, MANUFACTURER,
                          str(model), str(firmware), device_id(logger.serial), self.server.map.id)

    def _announce(self, info: DeviceInfo, device_map, points) -> None:
        key = (info, points)
        if self._announced.get(info.device_id) == key:
            return
        self._announced[info.device_id] = key
        self.publisher.announce(info, device_map, list(points) if points is not None else None)

    # --- server events -------------------------------------------------------------------------

    def on_record(self, logger, inv, values) -> None:
        dl = self.datalogger_info(logger)
        dev = self.inverter_info(logger, inv)
        self._announce(dl, None, None)
        self.publisher.available(dl.device_id, True)
        self._behind.setdefault(dl.device_id, set()).add(dev.device_id)
        self._serials[dev.device_id] = inv.serial
        vals = group_values(self.server.map, values.groups, self._points)
        if not values.buffered:
            self._announce(dev, self.server.map, tuple(sorted(vals)))
            self.publisher.available(dev.device_id, True)
        self.publisher.reading(dev, StateReading(dev.device_id,
                                                 record_time(values, self.server.zone), vals,
                                                 buffered=bool(values.buffered)))

    def on_change(self, kind: str, serial: str | None) -> None:
        if kind == "logger" and serial is not None and serial not in self.server.loggers:
            self._offline(device_id(serial))
        elif kind == "server" and not self.server.running:
            for dl in list(self._behind):
                self._offline(dl)

    def _offline(self, dl: str) -> None:
        self.publisher.available(dl, False)
        for dev in self._behind.get(dl, ()):
            self.publisher.available(dev, False)
            self._devices.pop(dev, None)

    def resolve(self, dev: str):
        """The inverter behind a connected datalogger as a gate-capable device (commands)."""
        serial = self._serials.get(dev)
        if serial is None:
            return None
        device = self._devices.get(dev)
        if device is None:
            try:
                device = self.server.inverter_device(serial)
            except Exception:
                return None
            self._devices[dev] = device
        return device

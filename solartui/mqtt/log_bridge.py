"""`log --mqtt` (or the site file's `mqtt:` section): every poll to MQTT, beside the CSV row.

Each site device is an MQTT device whose id is `{site}_{name}` made topic-safe (stable across
runs and unique across sites, whatever the device answers); its serial is the `serial` point
when the site logs it, and its model the map's name. A pass that read something publishes its
values (the failed points are absent) on `{base}/{device}/state` at the time of the pass. A
device that fails OFFLINE_AFTER passes in a row goes offline (one failed pass is a blip on a
busy bus, not an outage); its next good pass brings it back online.
"""

from __future__ import annotations

from solartui.mqtt.model import DeviceInfo, StateReading
from solartui.mqtt.publisher import MqttPublisher
from solartui.mqtt.state import values_of
from solartui.mqtt.topics import device_id

OFFLINE_AFTER = 3


class LogBridge:
    def __init__(self, site, publisher: MqttPublisher, offline_after: int = OFFLINE_AFTER):
        self.site = site
        self.publisher = publisher
        self.offline_after = offline_after
        self._failures: dict[str, int] = {}
        self._ids: dict[str, str] = {}
        self._runs: dict[str, object] = {}
        publisher.resolve = self.resolve

    def attach(self, logger) -> None:
        logger.listeners.append(self.on_pass)
        for run in logger.runs:
            self._runs[self.device_of(run)] = run

    def device_of(self, run) -> str:
        dev = self._ids.get(run.name)
        if dev is None:
            dev = self._ids[run.name] = device_id(f"{self.site.name}_{run.name}")
        return dev

    def info(self, run, values: dict) -> DeviceInfo:
        m = run.spec.map
        serial = values.get("serial")
        ident = getattr(run.device, "identity", None)
        ident_values = getattr(ident, "values", None) or {}
        serial = serial or ident_values.get("serial") or run.name
        firmware = values.get("firmware") or ident_values.get("firmware") or ""
        return DeviceInfo(self.device_of(run), str(serial), getattr(m, "vendor", "") or "",
                          getattr(m, "name", "") or "", str(firmware), None, m.id)

    def on_pass(self, run, when: float, status) -> None:
        dev = self.device_of(run)
        readings = run.readings
        values = values_of(readings) if readings else {}
        if not values:
            n = self._failures[dev] = self._failures.get(dev, 0) + 1
            if n >= self.offline_after:
                self.publisher.available(dev, False)
            return
        self._failures[dev] = 0
        info = self.info(run, values)
        self.publisher.announce(info, run.spec.map, [p.name for p in run.spec.points])
        self.publisher.available(dev, True)
        self.publisher.reading(info, StateReading(dev, when, values))

    def resolve(self, dev: str):
        run = self._runs.get(dev)
        return None if run is None else run.device

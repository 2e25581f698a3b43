"""Where everything is published. One place, so the README's topic table, the publisher, Home
Assistant discovery and the command handler can never disagree.

    {base}/bridge/status              online|offline, retained; the bridge's last will is offline
    {base}/{device}/status            online|offline, retained: per-device availability
    {base}/{device}/state             JSON of the latest live reading (retained: no)
    {base}/{device}/buffered          JSON of a datalogger's buffered record (never the state)
    {base}/{device}/set/{point}       a setting from Home Assistant (only with --mqtt-writes)
    {base}/{device}/result            JSON outcome of each command (accepted, refused and why)
    {prefix}/{component}/{device}/{point}/config   Home Assistant discovery, retained
    {prefix}/status                   Home Assistant's own online/offline (we re-announce on online)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_BASE = "solartui"
DEFAULT_DISCOVERY_PREFIX = "homeassistant"

_UNSAFE = re.compile(r"[^a-z0-9_-]+")


def device_id(serial: str) -> str:
    """A topic- and unique_id-safe name for a device serial: lower case, [a-z0-9_-] only."""
    cleaned = _UNSAFE.sub("_", serial.strip().lower()).strip("_")
    return cleaned or "unknown"


@dataclass(frozen=True)
class Topics:
    base: str = DEFAULT_BASE
    prefix: str = DEFAULT_DISCOVERY_PREFIX

    def bridge_status(self) -> str:
        return f"{self.base}/bridge/status"

    def device_status(self, dev: str) -> str:
        return f"{self.base}/{dev}/status"

    def state(self, dev: str) -> str:
        return f"{self.base}/{dev}/state"

    def buffered(self, dev: str) -> str:
        return f"{self.base}/{dev}/buffered"

    def command(self, dev: str, point: str) -> str:
        return f"{self.base}/{dev}/set/{point}"

    def command_filter(self) -> str:
        return f"{self.base}/+/set/+"

    def result(self, dev: str) -> str:
        return f"{self.base}/{dev}/result"

    def discovery(self, component: str, dev: str, point: str) -> str:
        return f"{self.prefix}/{component}/{dev}/{point}/config"

    def ha_status(self) -> str:
        return f"{self.prefix}/status"

    def parse_command(self, topic: str) -> tuple[str, str] | None:
        """(device, point) of a command topic, or None for anything else."""
        head = f"{self.base}/"
        if not topic.startswith(head):
            return None
        parts = topic[len(head):].split("/")
        if len(parts) != 3 or parts[1] != "set" or not parts[0] or not parts[2]:
            return None
        return parts[0], parts[2]

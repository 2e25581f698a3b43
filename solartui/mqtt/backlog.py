"""Home Assistant discovery configs waiting to go out: one entry per device, never dropped.

Why not the publisher's drop-oldest queue: a fleet announcing at start-up (5,000 inverters × ~40
retained configs) overflowed it, so configs were forgotten (entities that never appeared until
the next reconnect) and the state messages behind them waited seconds. A config is retained and
idempotent, and only a device's latest set matters, so the backlog holds device ids, not
messages: bounded by the number of devices, a re-announce replaces rather than adds, and a
reconnect marks every device again instead of pushing every config in one burst. The publisher
takes a bounded share of each batch from here (DISCOVERY_SHARE), so state keeps flowing while a
fleet's configs go out.
"""

from __future__ import annotations

from solartui.mqtt.model import Message


class DiscoveryBacklog:
    def __init__(self) -> None:
        self._pending: dict[str, None] = {}     # device ids, oldest first (dicts keep order)

    def __len__(self) -> int:
        return len(self._pending)

    def mark(self, device_id: str) -> None:
        """The device's configs are to be sent (again); one already waiting keeps its place."""
        self._pending.setdefault(device_id, None)

    def mark_all(self, device_ids) -> None:
        for d in device_ids:
            self.mark(d)

    def take(self, configs: dict[str, list[Message]], limit: int) -> tuple[list[Message], list[str]]:
        """Whole devices' configs, oldest first, until `limit` messages (at least one device
        when any waits): (messages, the device ids they came from)."""
        msgs: list[Message] = []
        ids: list[str] = []
        while self._pending and (not ids or len(msgs) < limit):
            device_id = next(iter(self._pending))
            del self._pending[device_id]
            ids.append(device_id)
            msgs += configs.get(device_id, [])
        return msgs, ids

    def put_back(self, device_ids: list[str]) -> None:
        """Devices whose configs did not go out (the connection dropped): first in line again."""
        rest = self._pending
        self._pending = dict.fromkeys(device_ids)
        for d in rest:
            self._pending.setdefault(d, None)

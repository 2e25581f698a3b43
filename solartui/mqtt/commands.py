"""Settings from Home Assistant (STUB — filled in by the mqtt-ha work). A command on
`{base}/{device}/set/{point}` goes through the one write gate with origin "mqtt"; the answer goes
to `{base}/{device}/result`. Off unless the bridge runs with --mqtt-writes."""

from __future__ import annotations

from typing import Awaitable, Callable

from solartui.mqtt.model import Message
from solartui.mqtt.topics import Topics

# device_id -> the gate-capable device (register device / relay device) or None if unknown
ResolveDevice = Callable[[str], object | None]


async def handle(topic: str, payload: bytes, topics: Topics, resolve: ResolveDevice) -> Message | None:
    """Run one command through the gate; return the result message (None: not a command topic)."""
    return None

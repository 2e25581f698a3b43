"""Settings from Home Assistant. A command on `{base}/{device}/set/{point}` goes through the one
write gate (devices/gate.py) with origin "mqtt"; the answer goes to `{base}/{device}/result` as
JSON. Off unless the bridge runs with --mqtt-writes.

This door adds nothing to the gate but its own refusals, each answered, none ever a traceback:
writes off, an unknown device, a point that is not in the map's `publish.remote_safe` list, and a
payload that is not a short line of UTF-8 text. Everything else — the value's range, step and
enum, the guard, the pacing, the read-back and the journal (origin mqtt) — is the gate's: a
refused value raises ValueRejected in the plan and never reaches the wire.

The publish itself is the confirmation (`gate.confirmed`), as an authorised HTTP PUT is: only
settings the map marks remote-safe can be named at all. Commands for one device run one at a time
in arrival order (a slider dragged or a button pressed twice sends several), so two writes of the
same register never interleave their plan, write and read-back.

Result JSON: {"device", "point", "value", "status", "reason"|"detail", "old", "new", "readback",
"time"}; status is the gate's outcome (verified, mismatched, rejected, no answer, unverified) or
"refused" (nothing sent) or "error" (the write ended in an error; it may or may not have landed).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import weakref
from typing import Callable

from solartui.devices import gate
from solartui.devices.gate import WriteRequest
from solartui.errors import SolartuiError, ValueRejected
from solartui.mqtt.model import Message
from solartui.mqtt.topics import Topics
from solartui.registers.publish_spec import publish_for
from solartui.registers.suggest import did_you_mean

log = logging.getLogger("solartui.mqtt")

# device_id -> the gate-capable device (register device / relay device) or None if unknown
ResolveDevice = Callable[[str], object | None]

MAX_PAYLOAD = 64                # bytes: a number or an enum word; anything longer is not a value
REFUSED, ERROR = "refused", "error"
_SAFE_ID = re.compile(r"^[a-z0-9_-]{1,64}$")
_SAFE_POINT = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

# one lock per device object (not per name: a device that reconnects is a new object), made on
# first use inside the running loop
_locks: "weakref.WeakKeyDictionary[object, asyncio.Lock]" = weakref.WeakKeyDictionary()


def _lock_for(device) -> asyncio.Lock:
    lock = _locks.get(device)
    if lock is None:
        lock = _locks[device] = asyncio.Lock()
    return lock


def _result(topics: Topics, dev: str, body: dict) -> Message:
    where = dev if _SAFE_ID.match(dev) else "bridge"
    return Message(topics.result(where),
                   json.dumps({"device": dev if _SAFE_ID.match(dev) else None, **body,
                               "time": round(time.time(), 3)},
                              ensure_ascii=False, separators=(",", ":")), qos=1)


def _refuse(topics: Topics, dev: str, point: str | None, reason: str, value=None) -> Message:
    log.info("mqtt command %s/%s refused: %s", dev[:64], (point or "")[:64], reason)
    return _result(topics, dev, {"point": point, "value": value, "status": REFUSED,
                                 "reason": reason})


def payload_text(payload: bytes | bytearray | str) -> str:
    """The value a command carries: one short line of UTF-8 text (a number or an enum word).
    Raises ValueRejected with the reason for anything else."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8", "surrogateescape")
    if not isinstance(payload, (bytes, bytearray)):
        raise ValueRejected(f"the payload is a {type(payload).__name__}, not text")
    if len(payload) > MAX_PAYLOAD:
        raise ValueRejected(f"the payload is {len(payload)} bytes; a value is at most "
                            f"{MAX_PAYLOAD} (a number or a choice)")
    try:
        text = bytes(payload).decode("utf-8")
    except UnicodeDecodeError:
        raise ValueRejected("the payload is not UTF-8 text") from None
    text = text.strip()
    if not text:
        raise ValueRejected("the payload is empty: send the new value")
    if any(not c.isprintable() for c in text):
        raise ValueRejected("the payload holds control characters: send the value as text")
    return text


async def handle(topic: str, payload: bytes, topics: Topics, resolve: ResolveDevice, *,
                 writes: bool = True) -> Message | None:
    """Run one command through the gate; return the result message (None: not a command topic).
    `writes`: the bridge's --mqtt-writes (False: every command is refused, nothing is sent)."""
    parsed = topics.parse_command(topic)
    if parsed is None:
        return None
    dev, point = parsed
    if not writes:
        return _refuse(topics, dev, point, "writes from MQTT are off (start the bridge with "
                                           "--mqtt-writes); nothing sent")
    if not _SAFE_ID.match(dev):
        return _refuse(topics, dev, point, "not a device id (lower-case letters, digits, _ "
                                           "and -); nothing sent")
    try:
        device = resolve(dev)
    except Exception as exc:        # a resolver that fails is still an answer, not a crash
        log.error("mqtt: resolving device %s failed: %s", dev, exc)
        device = None
    if device is None:
        return _refuse(topics, dev, point, f"no device '{dev}' on this bridge; nothing sent")
    if not _SAFE_POINT.match(point):
        return _refuse(topics, dev, None, "not a setting name; nothing sent")
    spec = publish_for(device.map)
    setting = spec.setting(point)
    if setting is None:
        names = [(s.name, "") for s in spec.remote_safe]
        if _known(device.map, point):
            why = (f"'{point}' is not remote-safe in map {device.map.id} (its publish.remote_safe "
                   f"list: {', '.join(n for n, _ in names) or 'none'}); nothing sent")
        else:
            why = f"no setting '{point}' in map {device.map.id}{did_you_mean(point, names)}; " \
                  "nothing sent"
        return _refuse(topics, dev, point, why)
    try:
        value = payload_text(payload)
    except ValueRejected as exc:
        return _refuse(topics, dev, point, f"{exc}; nothing sent")
    if getattr(device, "journal", None) is None:
        # a write is never unjournalled: a device made only to read (the site logger's) gets
        # the default journal, the one `solartui write` uses
        from solartui.journal import Journal
        device.journal = Journal()
    async with _lock_for(device):
        return await _write(topics, dev, device, point, value)


def _known(device_map, name: str) -> bool:
    if hasattr(device_map, "settings"):
        return any(s.name == name for s in device_map.settings)
    return device_map.has_point(name)


async def _write(topics: Topics, dev: str, device, point: str, value: str) -> Message:
    try:
        outcomes = await gate.run(device, WriteRequest.point(point, value), gate.confirmed,
                                  origin="mqtt")
    except ValueRejected as exc:                 # includes WriteForbidden: never planned
        return _refuse(topics, dev, point, f"{exc}; nothing sent", value)
    except SolartuiError as exc:                 # the old value could not be read, the journal...
        return _result(topics, dev, {"point": point, "value": value, "status": ERROR,
                                     "reason": str(exc)})
    except Exception as exc:                     # a bug below: still an answer
        log.exception("mqtt command %s/%s", dev, point)
        return _result(topics, dev, {"point": point, "value": value, "status": ERROR,
                                     "reason": f"the write ended in an error ({exc}); it may "
                                               "or may not have landed"})
    if not outcomes:                             # gate.confirmed never says no; be explicit
        return _refuse(topics, dev, point, "not confirmed; nothing sent", value)
    o = outcomes[-1]
    return _result(topics, dev, {"point": point, "value": value, "status": o.status,
                                 "detail": o.detail, "old": o.plan.old_text,
                                 "new": o.plan.new_text, "readback": o.readback_text})

"""What listens on a logger port (8899): a Solarman V5 logger, a GivEnergy dongle, a logger in
Modbus TCP mode, or something else (protocols/solarman-v5.md §9-10).

Why a probe and not a guess: both stick families use 8899 with different envelopes, and neither
says who it is on connect (a GivEnergy dongle's heartbeat may come minutes later). The probe is
safe, a read: one V5 request for holding register 0 at unit 1 carrying serial 0. A Solarman
logger answers it with its "not my serial" frame (06 00), which names its real serial (the trick
ha-solarman uses); with that serial the inverter behind it is identified through the same
SolarmanLink a person would use. Whatever comes back is classified by the table of §10:

  * a V5 frame (A5 ... 15, valid checksum)                        -> Solarman logger
  * GivEnergy's 59 59 00 01 marker, or silence                    -> try the GivEnergy link
  * the first five bytes of our probe and a byte count (§9)       -> Modbus TCP on this port
  * silence to the GivEnergy link too                             -> try Modbus TCP (LSE-3)
  * our probe echoed back, AT text, anything else                 -> unknown service

A GivEnergy dongle drops our V5 bytes as garbage, and silence is also what it gives, so the
GivEnergy identification runs only after the V5 probe heard nothing V5.
"""

from __future__ import annotations

import asyncio
import contextlib
import random

from solartui.discovery.results import Found
from solartui.links import solarman_frame as F
from solartui.links.solarman_stream import V5Stream
from solartui.links.target import Target, url_host

GIV_MARKER = b"\x59\x59\x00\x01"
PROBE_SERIAL = 0                # "not my serial": the logger answers with its own


def probe_frame(seq: int) -> bytes:
    return F.request_frame(PROBE_SERIAL, seq, F.rtu_read(1, 3, 0, 1))


def classify(data: bytes, probe: bytes) -> tuple[str, F.V5Frame | None]:
    """(kind, the V5 frame heard) for what came back: "solarman", "givenergy", "modbus-tcp",
    "echo", "at-text", "silent", "unknown", or "" while more bytes could still decide it."""
    if not data:
        return "silent", None
    for frame in V5Stream().feed(data):
        if frame.control == F.RESPONSE or frame.control in F.LOGGER_CODES:
            return "solarman", frame
    if GIV_MARKER in data:
        return "givenergy", None
    if data.startswith(probe):
        return "echo", None
    if len(data) >= 9 and data[:5] == probe[:5] and data[5] == len(data) - 6:
        return "modbus-tcp", None
    if probe.startswith(data):
        return "", None             # an echo still arriving
    if data.lstrip().startswith((b"AT+", b"+ok")):
        return "", None             # AT text may come before the V5 reply (§5)
    return "", None


async def probe_v5(host: str, port: int, timeout: float) -> tuple[str, F.V5Frame | None, bytes]:
    """Send the V5 probe once and listen until a kind is certain or `timeout` passes."""
    probe = probe_frame(random.randint(1, 254))
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, asyncio.TimeoutError):
        return "closed", None, b""
    data = b""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        writer.write(probe)
        while True:
            left = deadline - loop.time()
            if left <= 0:
                break
            try:
                chunk = await asyncio.wait_for(reader.read(4096), left)
            except asyncio.TimeoutError:
                break
            if not chunk:
                break
            data += chunk
            kind, frame = classify(data, probe)
            if kind:
                return kind, frame, data
            if len(data) > 4096:
                break
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.wait_closed(), 1.0)
    kind, frame = classify(data, probe)
    if not kind:
        kind = "at-text" if data.lstrip().startswith((b"AT+", b"+ok")) else "unknown"
    return kind, frame, data


def unknown_detail(port: int, why: str) -> str:
    return f"unknown service on port {port} ({why})"


async def identify_logger_port(host: str, port: int, maps=None, *,
                               timeout: float = 1.0) -> Found:
    """A Found for what listens on a logger port (see the module docstring)."""
    from solartui.discovery.network import (
        LOGGER_DETAIL, identify_givenergy, identify_modbus_tcp,
    )
    where = f"{host}:{port}"
    kind, frame, data = await probe_v5(host, port, timeout)
    if kind == "solarman" and frame is not None:
        return await identify_solarman(host, port, frame.serial, maps, timeout=timeout)
    if kind in ("givenergy", "silent"):
        found = await identify_givenergy(host, port, timeout=timeout)
        if found.kind == "givenergy" or kind == "givenergy":
            return found
        # silent to both envelopes: an Ethernet stick (LSE-3) speaks Modbus TCP on 8899 (§8),
        # and pymodbus-like servers drop a V5 frame whose "protocol id" is not 0
        found = await identify_modbus_tcp(host, port, maps, timeout=timeout)
        if found.kind == "modbus-tcp":
            return found
    if kind in ("givenergy", "silent", "closed"):
        return Found(kind="tcp-port", target="", link=where, detail=LOGGER_DETAIL)
    if kind == "modbus-tcp":
        return await identify_modbus_tcp(host, port, maps, timeout=timeout)
    why = {"echo": "it echoes what it is sent",
           "at-text": "it answers AT text, not Solarman V5"}.get(
        kind, f"{len(data)} bytes that are neither Solarman V5 nor GivEnergy: "
              f"{data[:12].hex(' ')}")
    return Found(kind="tcp-port", target="", link=where, detail=unknown_detail(port, why))


async def identify_solarman(host: str, port: int, serial: int, maps=None, *,
                            timeout: float = 1.0) -> Found:
    """The inverter behind a Solarman logger whose serial we now know."""
    from solartui.discovery.network import identify_behind
    where = f"{host}:{port}"
    logger = f"Solarman V5 logger {serial}"
    if not 1 <= serial <= F.SERIAL_MAX:
        return Found(kind="solarman", target="", link=where,
                     detail=f"Solarman V5 logger that names no serial (serial {serial})")
    if maps is None:
        from solartui.registers import catalog
        maps = catalog.all_maps("modbus")
    maps = [m for m in maps if m.protocol == "modbus"]
    target = Target("solarman", host=host, port=port, serial=serial,
                    timeout_ms=max(1, round(timeout * 1000)), period_ms=100)
    found = await identify_behind(target, maps, units=(1,), kind="solarman",
                                  detail_prefix=f"{logger}: ")
    if found is not None:
        return found
    return Found(kind="solarman",
                 target=f"solarman://{url_host(host)}:{port}?serial={serial}&unit=1",
                 link=where, detail=f"{logger}; the inverter behind it did not answer at unit 1")

"""The server pane's reads through the ShineServer: each returns one line for the status bar.

Why separate: these are the pane's only protocol calls besides the write flows (shine_flow); the
screen runs them in workers and shows their line; a failure raises the server's SolartuiError.
"""

from __future__ import annotations

import time

# each range ends on a register every datalogger answers, so the read ends without a timeout
READ_ALL_LOGGER = ((0, 31), (56, 76))
MAX_READ = 125


def _now() -> str:
    return time.strftime("%H:%M:%S")


async def logger_all(server, serial: str) -> str:
    got: dict[int, bytes] = {}
    for first, last in READ_ALL_LOGGER:
        got.update(await server.read_logger_registers(serial, first, last))
    return f"{len(got)} datalogger registers read from {serial} at {_now()}"


async def logger_one(server, serial: str, number: int) -> str:
    value = await server.read_logger_register(serial, number)
    return f"{serial} register {number} = {value.decode('latin-1')!r}"


async def holding_all(server, inverter: str) -> str:
    """Every holding block the inverter's own map declares (its generation: shine/layouts.py),
    at most 125 registers a command (45 on the older generations)."""
    from solartui.shine.layouts import announce_map
    _logger, inv = server.find_inverter(inverter)
    m = announce_map(inv.announced_family, server.map)
    step = min(MAX_READ, m.link.max_read)
    n = 0
    for start, end in m.blocks_for("holding"):
        for first in range(start, end + 1, step):
            last = min(end, first + step - 1)
            n += len(await server.read_inverter_registers(inverter, first, last))
    return f"{n} holding registers read from {inverter} at {_now()}"


async def holding(server, inverter: str, first: int, last: int, what: str) -> str:
    words = await server.read_inverter_registers(inverter, first, last)
    return f"{inverter} {what} = " + " ".join(f"{w} (0x{w:04X})" for w in words)

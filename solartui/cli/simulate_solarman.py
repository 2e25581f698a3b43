"""`solartui simulate solarman`: a simulated Solarman V5 logger (TCP 8899) with a Modbus inverter
behind it, until Ctrl+C. The inverter is any register map (growatt-protocol-ii by default)."""

from __future__ import annotations

import asyncio

import click

from solartui.errors import SolartuiError

SOLARMAN_NAMES = ("solarman",)
DEFAULT_MAP = "growatt-protocol-ii"


def parse_serial(text: str | None) -> int:
    """--serial for a logger: a decimal number 1-4294967295 (what the stick's label says)."""
    from solartui.sim.solarman_logger import DEFAULT_SERIAL
    if text is None:
        return DEFAULT_SERIAL
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 0xFFFFFFFF:
        raise SolartuiError(f"--serial {text!r}: a Solarman logger serial is a decimal number "
                            "1-4294967295")
    return int(text)


async def simulate_solarman(hostport: tuple[str, int], map_name: str | None, unit: int | None,
                            serial_text: str | None, fault_specs, plant_faults=None,
                            sun: float | None = None) -> None:
    from solartui.registers import catalog
    from solartui.sim.register_bank import RegisterBank
    from solartui.sim.solarman_logger import SolarmanLogger, parse_logger_faults

    serial = parse_serial(serial_text)
    try:
        faults = parse_logger_faults(fault_specs)
    except ValueError as exc:
        raise SolartuiError(str(exc)) from None
    m = catalog.resolve_register_map(map_name or DEFAULT_MAP)
    if m.protocol != "modbus":
        raise SolartuiError(f"map '{m.id}' is not a Modbus map: a Solarman logger carries Modbus "
                            "RTU (e.g. --map growatt-protocol-ii or modbus-generic)")
    unit = unit or m.link.unit
    bank = RegisterBank(m, unit=unit, identity={"serial": "SIM0000001"}, faults=plant_faults)
    bank.sun = sun
    bank.tick()                 # pinned sun from the first request, not the first tick 1 s on
    host, port = hostport
    logger = SolarmanLogger(bank, host, port, serial=serial, faults=faults)
    try:
        port = await logger.start()
    except OSError as exc:
        raise SolartuiError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"simulating a Solarman logger (serial {serial}) on {shown}:{port} with {m.id} "
               f"unit {unit} behind it")
    click.echo(f"target: solarman://{shown}:{port}?serial={serial}&unit={unit}")
    try:
        await asyncio.Event().wait()
    finally:
        await logger.stop()

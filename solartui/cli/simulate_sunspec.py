"""`solartui simulate sunspec`: a SunSpec inverter (models 1, 103, 120, 121, 122, 123 at 40000,
exception 2 everywhere else) on loopback TCP or a pseudo-terminal, with the link faults the
other Modbus simulators take (silent, delay=S, exception=CODE, corrupt-crc, drop-after=N)."""

from __future__ import annotations

import asyncio

import click

SUNSPEC_NAMES = ("sunspec",)


async def simulate_sunspec(tcp: tuple[str, int] | None, unit: int, baud: int, serial_no: str,
                           faults, sun: float | None) -> None:
    from solartui.errors import SolartuiError
    from solartui.sim.modbus_server import ModbusSimulator
    from solartui.sim.serial_wire import serve_on_pty
    from solartui.sim.sunspec_bank import SunSpecBank

    bank = SunSpecBank(unit=unit, serial=serial_no, sun=sun)
    models = ",".join(str(h.id) for h in bank.ssmap.models)
    if tcp is None:
        wire, sim = await serve_on_pty([bank], baud=baud, faults=faults)
        click.echo(f"simulating sunspec (models {models} at 40000) unit {unit} on "
                   f"{wire.client_path} at {baud} baud")
        click.echo(f"target: rtu://{wire.client_path}?baud={baud}&unit={unit}")
    else:
        host, port = tcp
        sim, wire = ModbusSimulator([bank], faults=faults), None
        try:
            port = await sim.start_tcp(host, port)
        except OSError as exc:
            raise SolartuiError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
        click.echo(f"simulating sunspec (models {models} at 40000) unit {unit} on "
                   f"tcp://{host}:{port}")
        click.echo(f"target: tcp://{host}:{port}?unit={unit}")
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()
        if wire is not None:
            await wire.stop()

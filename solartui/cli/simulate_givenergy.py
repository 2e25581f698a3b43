"""`solartui simulate givenergy`: a simulated GivEnergy dongle (TCP 8899 envelope) until Ctrl+C.

A single-phase hybrid (or All-in-One) at device 0x11 with one battery, heartbeats, fan-out of
replies to every client, the write-safe list and request-CRC checking.
"""

from __future__ import annotations

import asyncio

import click

from solartui.errors import SolartuiError

GIVENERGY_NAMES = ("givenergy", "givenergy-hybrid")


async def simulate_givenergy(hostport: tuple[str, int], model: str, serial_no: str | None,
                             heartbeat: float | None, unsolicited: float | None,
                             plant_faults=None) -> None:
    from solartui.sim.givenergy_dongle import GivEnergyDongle

    host, port = hostport
    dongle = GivEnergyDongle(host, port, model=model, inverter_serial=serial_no or "SA2114G000",
                             heartbeat_interval=heartbeat, unsolicited_interval=unsolicited)
    if plant_faults is not None:
        dongle.plant.faults = plant_faults
    try:
        port = await dongle.start()
    except OSError as exc:
        raise SolartuiError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    click.echo(f"simulating a GivEnergy {model} (inverter {dongle.plant.inverter_serial}) "
               f"behind a dongle on {host}:{port}")
    click.echo(f"target: givenergy://{host}:{port}")
    try:
        await asyncio.Event().wait()
    finally:
        await dongle.stop()

"""`solartui simulate givenergy`: a simulated GivEnergy dongle (TCP 8899 envelope) until Ctrl+C.

A single-phase hybrid (or another family, `--family`: ac, aio, three-phase, ems, gateway, each
with its HR0 code and register banks) at device 0x11, heartbeats, fan-out of replies to every
client, the family's write-safe list and request-CRC checking.
"""

from __future__ import annotations

import asyncio

import click

from solartui.errors import SolartuiError

GIVENERGY_NAMES = ("givenergy", "givenergy-hybrid")
# the serial each captured family carries in HR13-17 (the redacted captures' own)
FAMILY_SERIALS = {"three-phase": "TC2337G000", "ems": "EMS2522000", "gateway": "GW2412G000"}


async def simulate_givenergy(hostport: tuple[str, int], model: str, serial_no: str | None,
                             heartbeat: float | None, unsolicited: float | None,
                             plant_faults=None, sun: float | None = None) -> None:
    from solartui.sim.givenergy_dongle import GivEnergyDongle

    host, port = hostport
    dongle = GivEnergyDongle(host, port, model=model,
                             inverter_serial=serial_no or FAMILY_SERIALS.get(model, "SA2114G000"),
                             heartbeat_interval=heartbeat, unsolicited_interval=unsolicited)
    if plant_faults is not None:
        dongle.plant.faults = plant_faults
    dongle.plant.sun = sun
    dongle.plant.tick()         # pinned sun from the first request, not the first tick
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

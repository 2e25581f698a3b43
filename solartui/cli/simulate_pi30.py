"""`solartui simulate pi30`: a simulated Voltronic PI30 inverter on a pseudo-terminal until Ctrl+C.

The pty speaks RS232 at 2400 baud (open it as pi30://PATH) or, with --hidraw, 8-byte HID reports
the way /dev/hidrawN does (open it as hidraw://PATH).
"""

from __future__ import annotations

import asyncio

import click

from solartui.errors import SolartuiError

PI30_NAMES = ("pi30", "voltronic-pi30")
FAULT_HELP = "nak, silent, junk, truncate=N, delay=S, bad-crc"


def parse_pi30_faults(specs: tuple[str, ...]):
    from solartui.sim.pi30_inverter import Pi30Faults
    faults = Pi30Faults()
    for spec in specs:
        key, _, value = spec.partition("=")
        key = key.strip().replace("-", "_")
        try:
            if key == "nak" and not value:
                faults.nak_all = True
            elif key == "silent" and not value:
                faults.silent = True
            elif key == "junk" and not value:
                faults.junk_after_cr = b"\x00\x00junk"
            elif key == "bad_crc" and not value:
                faults.corrupt_crc = True
            elif key == "truncate":
                faults.truncate = int(value)
            elif key == "delay":
                faults.latency = float(value)
            else:
                raise ValueError
        except ValueError:
            raise SolartuiError(f"unknown fault '{spec}' for pi30 ({FAULT_HELP})") from None
    return faults


async def simulate_pi30(hidraw: bool, serial_no: str | None, faults) -> None:
    from solartui.sim.pi30_inverter import Pi30Inverter
    from solartui.sim.pi30_pty import serve_pi30_on_pty

    inverter = Pi30Inverter(serial=serial_no or "92932105105335", faults=faults)
    server = await serve_pi30_on_pty(inverter, mode="hidraw" if hidraw else "serial", pace=True)
    scheme = "hidraw" if hidraw else "pi30"
    how = "HID reports" if hidraw else "RS232 2400 8N1"
    click.echo(f"simulating a PI30 inverter (serial {inverter.serial}) on {server.client_path} "
               f"({how})")
    click.echo(f"target: {scheme}://{server.client_path}")
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()

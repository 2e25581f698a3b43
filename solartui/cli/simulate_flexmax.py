"""`solartui simulate flexmax`: a simulated OutBack FLEXmax behind a MATE, broadcasting its status
page on a pseudo-terminal (open it as broadcast://PATH?map=outback-flexmax) until Ctrl+C."""

from __future__ import annotations

import asyncio

import click

FLEXMAX_NAMES = ("flexmax", "outback-flexmax")


async def simulate_flexmax(interval: float | None, faults) -> None:
    from solartui.sim.flexmax_pty import FlexmaxPtyServer

    server = FlexmaxPtyServer(interval=1.0 if interval is None else interval, faults=faults)
    path = await server.start()
    click.echo(f"simulating an OutBack FLEXmax (MATE address A) on {path} "
               f"(a status page every {server.interval:g} s, 19200 8N1)")
    click.echo(f"target: broadcast://{path}?map=outback-flexmax")
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()

"""`solartui write TARGET POINT=VALUE...`: validate all, confirm once, write, read back, journal."""

from __future__ import annotations

import click

from solartui.cli.session import gate_confirm, open_device, run
from solartui.devices import gate
from solartui.devices.gate import WriteRequest
from solartui.errors import SolartuiError
from solartui.journal import Journal


@click.command("write")
@click.argument("target")
@click.argument("assignments", nargs=-1, required=True)
@click.option("--map", "map_name", help="Map id or path to a map file (default: identify).")
@click.option("--yes", is_flag=True, help="Do not ask: for scripts (the journal still records it).")
@click.option("--trace", is_flag=True, help="Print every frame to stderr.")
def command(target, assignments, map_name, yes, trace):
    """Write POINT=VALUE (engineering units, or an enum label) to TARGET."""
    pairs = []
    for a in assignments:
        name, sep, value = a.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise SolartuiError(f"'{a}' is not POINT=VALUE")
        pairs.append((name.strip(), value.strip()))
    run(_write(target, pairs, map_name, yes, trace))


async def _write(target, pairs, map_name, yes, trace):
    async with open_device(target, map_name, trace=trace, journal=Journal()) as dev:
        for name, _ in pairs:
            dev.point(name)                  # unknown names fail before any I/O
        outcomes = await gate.run(
            dev, [WriteRequest.point(name, value) for name, value in pairs],
            gate_confirm(yes, lambda plans: "write " + ", ".join(p.name for p in plans)),
            "cli", on_outcome=lambda o: click.echo(o.line()))
    bad = [o for o in outcomes if not o.ok]
    if bad:
        raise SolartuiError(f"{len(bad)} of {len(outcomes)} write(s) not verified: {bad[0].line()}")

"""`solartui time TARGET [--sync]`: device clock, host clock, drift; sync with confirmation."""

from __future__ import annotations

import click

from solartui.cli.session import gate_confirm, open_device, run
from solartui.devices import gate
from solartui.devices.gate import WriteRequest
from solartui.errors import SolartuiError
from solartui.journal import Journal


@click.command("time")
@click.argument("target")
@click.option("--map", "map_name", help="Map id or path to a map file (default: identify).")
@click.option("--sync", is_flag=True, help="Set the device clock to this machine's local time.")
@click.option("--yes", is_flag=True, help="Do not ask before syncing.")
@click.option("--trace", is_flag=True, help="Print every frame to stderr.")
def command(target, map_name, sync, yes, trace):
    """Show (and with --sync, set) the device clock."""
    run(_time(target, map_name, sync, yes, trace))


def _show(r, set_drift: float | None = None) -> None:
    """A reading; after a verified set, its drift is the set's own (known to 0.1 s: the value
    was written as the frame arrived), otherwise the reading's (the device shows whole seconds,
    so to ±0.5 s)."""
    device = r.device.isoformat(sep=" ") if r.device else f"unreadable ({r.error})"
    click.echo(f"device clock: {device}")
    click.echo(f"host clock:   {r.host.isoformat(sep=' ', timespec='seconds')} (local)")
    if set_drift is not None and r.device is not None:
        shown = round(set_drift, 1) + 0.0           # no "-0.0"
        click.echo(f"drift:        {shown:+.1f} s (device minus host, as set; the read-back "
                   "agrees to the whole second the device shows)")
    elif r.drift is not None:
        click.echo(f"drift:        {r.drift:+.0f} s (device minus host, ±0.5 s: the device "
                   "shows whole seconds)")


async def _time(target, map_name, sync, yes, trace):
    async with open_device(target, map_name, trace=trace, journal=Journal()) as dev:
        before = await dev.read_clock()
        _show(before)
        if not sync:
            if before.device is None:
                raise SolartuiError(f"cannot read the device clock: {before.error}")
            return
        [outcome] = await gate.run(dev, WriteRequest.clock(),
                                   gate_confirm(yes, lambda _: "set the device clock"), "cli")
        click.echo(outcome.line())
        after = await dev.read_clock()
        _show(after, outcome.drift_after if outcome.ok else None)
    if not outcome.ok:
        raise SolartuiError(f"clock not verified: {outcome.line()}")

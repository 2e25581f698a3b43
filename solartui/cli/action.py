"""`solartui action TARGET [NAME ARGS...]`: a named control (GivTCP style) as one confirmed unit.

Without NAME it lists the actions the device's map offers. With NAME every step is validated
against the map before anything is sent, the whole list of register writes is shown and
confirmed once, then written in order and read back; after a failed step the rest are not sent.
Every step's outcome is journalled, tagged with the action.
"""

from __future__ import annotations

import click

from solartui.cli.session import gate_confirm, open_device, run
from solartui.devices import gate
from solartui.devices.actions import actions_for
from solartui.devices.gate import WriteRequest
from solartui.errors import SolartuiError
from solartui.journal import Journal


@click.command("action")
@click.argument("target")
@click.argument("name", required=False)
@click.argument("args", nargs=-1)
@click.option("--map", "map_name", help="Map id or path to a map file (default: identify).")
@click.option("--yes", is_flag=True, help="Do not ask: for scripts (the journal still records it).")
@click.option("--trace", is_flag=True, help="Print every frame to stderr.")
def command(target, name, args, map_name, yes, trace):
    """Run the named action NAME with ARGS on TARGET (without NAME: list the actions).

    GivEnergy (givenergy://HOST): pause-charge-schedule, resume-charge-schedule,
    pause-discharge-schedule, resume-discharge-schedule, set-charge-target SOC,
    set-charge-slot-1 START END [TARGET], set-battery-reserve PCT,
    set-mode eco|eco-paused|timed-demand|timed-export, set-clock."""
    run(_action(target, name, list(args), map_name, yes, trace))


async def _action(target, name, args, map_name, yes, trace):
    async with open_device(target, map_name, trace=trace, journal=Journal()) as dev:
        actions = actions_for(dev.map)
        if name is None:
            if not actions:
                raise SolartuiError(f"map {dev.map.id} offers no actions")
            for a in actions.values():
                click.echo(f"{a.usage():45} {a.doc.splitlines()[0] if a.doc else ''}")
            return
        if name not in actions:
            known = ", ".join(actions) or "none"
            raise SolartuiError(f"no action '{name}' for map {dev.map.id} (actions: {known})")

        def heading(plans):
            if not actions[name].clock:
                click.echo(f"{name}: {len(plans)} register write(s), in this order:")

        outcomes = await gate.run(
            dev, WriteRequest.action(name, args),
            gate_confirm(yes, lambda plans: "set the device clock" if actions[name].clock
                         else f"run {name} ({len(plans)} write(s))", before=heading), "cli",
            on_step=lambda k, n, p: click.echo(f"step {k}/{n}: {p.name} → {p.new_text}…",
                                               err=True))
        for outcome in outcomes:
            click.echo(outcome.line())
    bad = [o for o in outcomes if not o.ok]
    if bad:
        raise SolartuiError(f"{name}: {len(bad)} of {len(outcomes)} step(s) not verified: "
                            f"{bad[0].line()}")

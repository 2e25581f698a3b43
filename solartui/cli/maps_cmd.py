"""`solartui maps list|check`: what maps are shipped, and whether a map holds together."""

from __future__ import annotations

import click

from solartui.errors import MapError, SolartuiError
from solartui.registers import catalog
from solartui.registers.checks import check_map
from solartui.registers.command_codec import check_command_map
from solartui.registers.command_map import CommandMap


def _size(m) -> str:
    if isinstance(m, CommandMap):
        return f"{len(m.fields)} fields, {len(m.settings)} settings"
    return f"{len(m.points)} points"


@click.group("maps")
def command():
    """Register maps: list them, check them."""


@command.command("list")
def list_maps():
    """List the shipped maps."""
    for m in catalog.all_maps(protocol=None):
        click.echo(f"{m.id:28} {_size(m):26} {m.trust:20} {m.vendor} — {m.name}")


def _overview_line(m) -> str:
    """What the live screen opens on: the map's own overview or the inferred one."""
    from solartui.registers.overview import overview_for
    ov = overview_for(m)
    where = "inferred from the points (no overview: section)" if ov.inferred else "from the map"
    return (f"overview: {where}: {len(ov.sections)} sections, {len(ov.names)} points, "
            f"{len(ov.trend)} trends")


@command.command("check")
@click.argument("maps", nargs=-1)
def check(maps):
    """Validate MAP (an id or a file; default: every shipped map) and report its structural rung."""
    paths = list(maps) or [str(p) for p in catalog.map_files()]
    failed = 0
    for name in paths:
        try:
            m = catalog.resolve(name)
        except MapError as exc:
            failed += 1
            click.echo(f"{name}: does not load ({len(exc.findings)} problem(s))")
            for f in exc.findings:
                click.echo(f"  {f}")
            click.echo("  earned: nothing (the map does not load)")
            continue
        report = check_command_map(m) if isinstance(m, CommandMap) else check_map(m)
        click.echo(f"{m.path}: {m.id}, {_size(m)}")
        for f in report.findings:
            click.echo(f"  {f}")
        click.echo(f"  declared: {m.trust}; structurally earned: {report.earned}")
        click.echo(f"  {_overview_line(m)}")
        if report.problems:
            failed += 1
    if failed:
        raise SolartuiError(f"{failed} of {len(paths)} map(s) have problems")


def _register() -> None:
    from solartui.cli import maps_evidence, maps_import, maps_verify
    command.add_command(maps_import.command)
    command.add_command(maps_verify.command)
    command.add_command(maps_evidence.command)


_register()

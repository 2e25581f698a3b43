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
    from solartui.registers.page_map import load_page_map, page_map_files
    for f in page_map_files():
        try:
            m = load_page_map(f)
        except MapError:
            continue
        size = f"{len(m.fields)} page fields (listen)"
        click.echo(f"{m.id:28} {size:26} {m.trust:20} {m.vendor} — {m.name}")


def _is_page_map(name: str) -> bool:
    """A broadcast page map (maps/broadcast/, or a file saying protocol: broadcast)?"""
    from pathlib import Path
    from solartui.registers.page_map import UNDOCUMENTED, page_map_files
    if name in UNDOCUMENTED or any(f.stem.replace("_", "-") == name for f in page_map_files()):
        return True
    p = Path(name)
    try:
        return p.is_file() and "\nprotocol: broadcast" in "\n" + p.read_text(errors="replace")
    except (OSError, ValueError):
        return False


def _check_page_map(name: str) -> bool:
    """`maps check` of a page map: True if it has problems."""
    from solartui.registers.page_map import resolve_page_map
    try:
        m = resolve_page_map(name)
    except MapError as exc:
        click.echo(f"{name}: does not load ({len(exc.findings)} problem(s))")
        for f in exc.findings:
            click.echo(f"  {f}")
        return True
    click.echo(f"{m.path}: {m.id}, {len(m.fields)} page fields (listen-only, {m.link.baud} baud)")
    click.echo(f"  declared: {m.trust}; page layouts, indexes and types check out (page maps "
               "earn no rung of their own yet)")
    return False


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
    from solartui.registers.page_map import page_map_files
    paths = list(maps) or [str(p) for p in catalog.map_files() + page_map_files()]
    failed = 0
    for name in paths:
        if _is_page_map(name):
            failed += _check_page_map(name)
            continue
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
    from solartui.cli import maps_evidence, maps_verify
    command.add_command(maps_verify.command)
    command.add_command(maps_evidence.command)


_register()

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
@click.option("--sunspec", "sunspec_models", is_flag=True,
              help="List every SunSpec model known (id, name, length), one a line.")
def list_maps(sunspec_models):
    """List the shipped maps, and the SunSpec models a SunSpec device is read with."""
    if sunspec_models:
        for mid, name, label, length in _sunspec_models():
            click.echo(f"{mid:>5}  {name:28} L {length:<4} {label}")
        return
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
    known = _sunspec_models()
    click.echo(f"{'sunspec':28} {str(len(known)) + ' models':26} {'generated':20} SunSpec — any "
               "device with the SunS marker; its map is built from the models it offers")
    ids = ", ".join(str(k[0]) for k in known)
    click.echo(click.wrap_text(f"SunSpec models known (pysunspec2 {_pysunspec2_version()}; "
                               f"`maps list --sunspec` names them): {ids}",
                               initial_indent="  ", subsequent_indent="  ", width=100))


SUNSPEC_CHECK = ("built when a device is reached, from the SunSpec model definitions "
                 "(pysunspec2) and the models the device offers; nothing to check here "
                 "(tests/test_sunspec.py holds it to the addresses of sunspec.md §3-§4)")


def _sunspec_models():
    from solartui.registers.sunspec import known_models
    return known_models()


def _pysunspec2_version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("pysunspec2")
    except PackageNotFoundError:
        return "not installed"


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


def _publish_line(m) -> str:
    """What MQTT publishes and Home Assistant may change (with --mqtt-writes)."""
    from solartui.registers.publish_spec import publish_for
    spec = publish_for(m)
    where = ("inferred from the units (no publish: section)" if spec.inferred
             else "from the map")
    diag = sum(1 for p in spec.points if p.entity_category == "diagnostic")
    safe = ", ".join(s.name for s in spec.remote_safe) or "none"
    return (f"publish: {where}: {len(spec.points)} sensors ({diag} diagnostic); "
            f"remote-safe settings: {safe}")


@command.command("check")
@click.argument("maps", nargs=-1)
def check(maps):
    """Validate MAP (an id or a file; default: every shipped map) and report its structural rung."""
    from solartui.registers.page_map import page_map_files
    paths = list(maps) or [str(p) for p in catalog.map_files() + page_map_files()]
    failed = 0
    for name in paths:
        if name == "sunspec":
            click.echo(f"sunspec: {SUNSPEC_CHECK}")
            continue
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
        click.echo(f"  {_publish_line(m)}")
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

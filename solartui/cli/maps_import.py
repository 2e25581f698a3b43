"""`solartui maps import ha-solarman FILE [-o OUT.yaml]`: turn a Home Assistant ha-solarman
definition a user already has into a solartui map (rung `generated`), saying item by item what
could not be converted. A file that is no definition ends in one line, exit 2."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from solartui.errors import MapError
from solartui.registers.ha_solarman import convert
from solartui.safe_open import write_new
from solartui.user_paths import PathRefused, read_text, user_path


@click.group("import")
def command():
    """Import a map from another program's format."""


@command.command("ha-solarman")
@click.argument("file")
@click.option("-o", "--output", help="Write the map here (default: print it).")
@click.option("--id", "map_id", help="Map id (default: ha-<file name>).")
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists.")
def ha_solarman(file, output, map_id, force):
    """Convert an ha-solarman inverter definition FILE into a solartui map."""
    try:
        text = read_text(user_path(file))
        imported = convert(text, file, map_id)
    except (PathRefused, OSError) as exc:
        click.echo(f"solartui: {file}: cannot read: {exc}", err=True)
        sys.exit(2)
    except MapError as exc:
        first = exc.findings[0] if exc.findings else f"{file}: not a definition"
        click.echo(f"solartui: {first}", err=True)
        sys.exit(2)
    out = sys.stderr if not output else sys.stdout
    if output:
        write_new(Path(output).expanduser(), imported.text, force, "map")
    else:
        click.echo(imported.text, nl=False)
    n = len(imported.data["points"])
    click.echo(f"imported {n} point(s) at rung generated"
               + (f" into {output}" if output else ""), file=out)
    for name, why in imported.skipped:
        click.echo(f"not converted: {name}: {why}", file=out)
    for name, why in imported.changed:
        click.echo(f"partly converted: {name}: {why}", file=out)

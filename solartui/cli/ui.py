"""`solartui ui [TARGET]` (and `solartui` alone): the terminal UI."""

from __future__ import annotations

import sys

import click

from solartui.errors import SolartuiError


def open_tui(target: str | None = None, map_name: str | None = None, demo: bool = False) -> None:
    if not sys.stdout.isatty():
        raise SolartuiError("the terminal UI needs a terminal; for scripts use read, write, time "
                            "(see solartui --help)")
    from solartui.tui.app import SolartuiApp    # Textual is loaded only here
    SolartuiApp(target, map_name, demo=demo).run()


@click.command("ui")
@click.argument("target", required=False)
@click.option("--map", "map_name", help="Map id or path to a map file (default: identify).")
def command(target, map_name):
    """Open the terminal UI, connected to TARGET if given."""
    if target:
        from solartui.links.target import parse_target
        parse_target(target)                    # a bad URL is one line here, not a TUI error
    open_tui(target, map_name)

"""`solartui log` (placeholder: being written)."""

from __future__ import annotations

import click

from solartui.errors import SolartuiError


@click.command("log")
def command():
    """Not written yet."""
    raise SolartuiError("log is not written yet")

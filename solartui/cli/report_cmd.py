"""`solartui report` (placeholder: being written)."""

from __future__ import annotations

import click

from solartui.errors import SolartuiError


@click.command("report")
def command():
    """Not written yet."""
    raise SolartuiError("report is not written yet")

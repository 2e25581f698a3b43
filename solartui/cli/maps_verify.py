"""`solartui maps verify` (placeholder: being written)."""

from __future__ import annotations

import click

from solartui.errors import SolartuiError


@click.command("verify")
def command():
    """Not written yet."""
    raise SolartuiError("maps verify is not written yet")

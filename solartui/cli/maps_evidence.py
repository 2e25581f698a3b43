"""`solartui maps evidence` (placeholder: being written)."""

from __future__ import annotations

import click

from solartui.errors import SolartuiError


@click.command("evidence")
def command():
    """Not written yet."""
    raise SolartuiError("maps evidence is not written yet")

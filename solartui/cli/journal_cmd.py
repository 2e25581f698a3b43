"""`solartui journal [--device SERIAL] [--json]`: every write and clock set, oldest first."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.table import Table

from solartui.errors import SolartuiError
from solartui.journal import Journal
from solartui.journal_view import matches, rows

STYLE = {"verified": "green", "acknowledged": "green", "mismatched": "yellow",
         "unverified": "yellow", "rejected": "red", "no answer": "red", "not sent": "dim"}


@click.command("journal")
@click.option("--device", "serial", metavar="SERIAL",
              help="Only entries of this device (inverter, datalogger or PI30 serial).")
@click.option("--json", "as_json", is_flag=True, help="The entries as JSON lines, unchanged.")
@click.option("--last", type=click.IntRange(1), default=None, help="Only the last N entries.")
def command(serial, as_json, last):
    """Show the journal of writes and clock sets ($SOLARTUI_JOURNAL or the state folder)."""
    journal = Journal()
    entries = [e for e in journal.entries() if isinstance(e, dict) and matches(e, serial)]
    if last:
        entries = entries[-last:]
    if as_json:
        for e in entries:
            click.echo(json.dumps(e, ensure_ascii=False))
        return
    if not entries:
        who = f" for {serial}" if serial else ""
        raise SolartuiError(f"no journal entries{who} in {journal.path}")
    t = Table(title=f"{journal.path} — {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}",
              title_justify="left")
    for col in ("time", "serial", "point", "old", "new", "raw", "outcome"):
        t.add_column(col, overflow="fold")
    for r in rows(entries):
        style = STYLE.get(r.outcome, "")
        t.add_row(r.time, r.serial, r.what, r.old, r.new, r.raw,
                  f"[{style}]{r.outcome}[/]" if style else r.outcome)
    Console(highlight=False, width=None if sys.stdout.isatty() else 160).print(t)

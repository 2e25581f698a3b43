"""`solartui journal [--device SERIAL] [--json]`: every write and clock set, oldest first.

A write whose intent was journalled but whose outcome never came (the program was killed between
the two) shows as "outcome unknown — interrupted". Lines a crash tore are skipped with a note on
stderr; `--json` prints one JSON array (`[]` when there is nothing), whatever the file holds."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.table import Table

from solartui.errors import SolartuiError
from solartui.journal import INTERRUPTED, PENDING, Journal
from solartui.journal_view import matches, rows

STYLE = {"verified": "green", "acknowledged": "green", "mismatched": "yellow",
         "unverified": "yellow", "rejected": "red", "no answer": "red", "not sent": "dim",
         INTERRUPTED: "bold yellow", PENDING: "yellow"}


@click.command("journal")
@click.option("--device", "serial", metavar="SERIAL",
              help="Only entries of this device (inverter, datalogger or PI30 serial).")
@click.option("--json", "as_json", is_flag=True,
              help="The entries as one JSON array, one entry a line ([] when none).")
@click.option("--last", type=click.IntRange(1), default=None, help="Only the last N entries.")
def command(serial, as_json, last):
    """Show the journal of writes and clock sets ($SOLARTUI_JOURNAL or the state folder)."""
    journal = Journal()
    read = journal.read()
    entries = [e for e in read.entries if matches(e, serial)]
    if last:
        entries = entries[-last:]
    if as_json:
        click.echo("[" + ",\n".join(json.dumps(e, ensure_ascii=False, default=str)
                                     for e in entries) + "]")
        if read.note:
            click.echo(f"solartui: note: {read.note}", err=True)
        return
    if not entries:
        who = f" for {serial}" if serial else ""
        note = f" ({read.note})" if read.note else ""
        raise SolartuiError(f"no journal entries{who} in {journal.path}{note}")
    t = Table(title=f"{journal.path} — {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}",
              title_justify="left")
    for col in ("time", "serial", "point", "old", "new", "raw", "outcome"):
        t.add_column(col, overflow="fold")
    for r in rows(entries):
        style = STYLE.get(r.outcome, "")
        t.add_row(r.time, r.serial, r.what, r.old, r.new, r.raw,
                  f"[{style}]{r.outcome}[/]" if style else r.outcome)
    Console(highlight=False, width=None if sys.stdout.isatty() else 160).print(t)
    unknown = sum(1 for e in entries if e.get("outcome") == INTERRUPTED)
    if unknown:
        click.echo(f"{unknown} write{'s were' if unknown != 1 else ' was'} interrupted before "
                   "the outcome was known: the device may or may not have taken "
                   f"{'them' if unknown != 1 else 'it'} — read back to check")
    if read.note:
        click.echo(f"solartui: note: {read.note}", err=True)

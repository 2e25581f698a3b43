"""Progress a CLI command shows while it works: a bar on a terminal, plain lines in a log.

Why one place: `scan` and `report` both wait seconds per step on a paced link; both stay quiet
for the first PLAIN_FIRST seconds (a quick command says nothing) and both must not look hung in
a cron log or an ssh pipe.
"""

from __future__ import annotations

import sys
import time as clock

import click

#: seconds of silence before the first plain progress line
PLAIN_FIRST = 1.0


class StepProgress:
    """How far a command's steps are (the report's reads): a bar on a terminal (gone when
    done), otherwise plain lines on stderr, one per step once the command has run PLAIN_FIRST
    seconds (a paced link takes seconds per read, and a cron log or ssh pipe should not look
    hung)."""

    def __init__(self, name: str, started: float, interactive: bool | None = None):
        self.name = name
        from rich.console import Console
        from rich.progress import BarColumn, Progress as Bar, TextColumn
        self.started = started
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self.bar = Bar(TextColumn(name), BarColumn(), TextColumn("{task.fields[what]}"),
                       console=Console(stderr=True, highlight=False), transient=True,
                       disable=not self.interactive)
        self.task = None

    def __enter__(self):
        self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        return self.bar.__exit__(*exc)

    def __call__(self, done: int, total: int, what: str) -> None:
        if self.task is None:
            self.task = self.bar.add_task(self.name, total=total, what=what)
        self.bar.update(self.task, completed=done - 1, total=total, what=what)
        if not self.interactive and clock.monotonic() - self.started >= PLAIN_FIRST:
            click.echo(f"{self.name}: {done}/{total} {what}", err=True)

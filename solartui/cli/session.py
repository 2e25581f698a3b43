"""Open a device from a target URL and an optional map, the way every command does."""

from __future__ import annotations

import asyncio
import sys
from contextlib import asynccontextmanager

import click

from solartui import log_redact
from solartui.cli.interrupt import run_guarded
from solartui.errors import SolartuiError
from solartui.journal import Journal
from solartui.session import Session
from solartui.traffic import TrafficLog


def run(coro):
    """Run a command's coroutine; ctrl+c or SIGTERM ends it with one line (130/143), after the
    outcome of a write already on its way (cli/interrupt.py). An exception asyncio catches in a
    callback is one line on stderr, not a traceback (`--debug` keeps asyncio's traceback)."""
    async def main():
        ctx = click.get_current_context(silent=True)
        if not (ctx and isinstance(ctx.obj, dict) and ctx.obj.get("debug")):
            log_redact.one_line_loop_errors(asyncio.get_running_loop())
        return await coro

    return run_guarded(main())


@asynccontextmanager
async def open_device(target_url: str, map_name: str | None, *, trace: bool = False,
                      journal: Journal | None = None):
    session = Session(journal, TrafficLog(limit=1) if trace else None)
    if trace:
        session.traffic.subscribe(lambda e: click.echo(str(e), err=True))
    try:
        yield await session.connect(target_url, map_name)
    finally:
        await session.close()


def confirm(plan_lines: list[list[tuple[str, str]]], yes: bool, what: str, *,
            err: bool = False) -> None:
    """Show what will be written (on stderr with `err`, when stdout carries the command's
    output); ask on a terminal; without one, refuse unless --yes."""
    for lines in plan_lines:
        for key, value in lines:
            click.echo(f"  {key:>10}: {value}", err=err)
        click.echo("", err=err)
    if yes:
        return
    if not sys.stdin.isatty():
        raise SolartuiError(f"refusing to {what} without confirmation: run it on a terminal "
                            "or pass --yes")
    if not click.confirm(f"{what[0].upper()}{what[1:]}?", default=False, err=err):
        raise SolartuiError("cancelled: nothing was written")


def gate_confirm(yes: bool, what, *, err: bool = False, before=None):
    """The CLI's confirm step for the write gate: show every plan, then ask (or take --yes).
    `what(plans)` names the question; `before(plans)` may print a heading first."""
    async def ask(plans) -> bool:
        if before is not None:
            before(plans)
        confirm([p.summary() for p in plans], yes, what(plans), err=err)
        return True
    return ask

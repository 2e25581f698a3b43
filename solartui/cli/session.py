"""Open a device from a target URL and an optional map, the way every command does."""

from __future__ import annotations

import asyncio
import sys
from contextlib import asynccontextmanager
from dataclasses import replace

import click

from solartui.devices.identify import choose_map
from solartui.devices.register_device import RegisterDevice
from solartui.errors import SolartuiError
from solartui.journal import Journal
from solartui.links.pool import LinkPool
from solartui.links.target import parse_target
from solartui.registers import catalog
from solartui.registers.model import LinkSpec


def run(coro):
    """Run a command's coroutine; Ctrl+C ends it quietly."""
    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        raise SystemExit(130) from None


def _merged_spec(maps) -> LinkSpec:
    """Link settings safe for every candidate map: the slowest pacing, the longest timeout."""
    first = maps[0].link
    return replace(first, min_period_ms=max(m.link.min_period_ms for m in maps),
                   timeout_ms=max(m.link.timeout_ms for m in maps))


@asynccontextmanager
async def open_device(target_url: str, map_name: str | None, *, trace: bool = False,
                      journal: Journal | None = None):
    target = parse_target(target_url)
    pool = LinkPool()
    try:
        if map_name:
            m = catalog.resolve(map_name)
            link = pool.get(target, m.link)
            if trace:
                link.scheduler.add_sink(lambda f: click.echo(str(f), err=True))
            dev = RegisterDevice(m, link, target.unit, journal)
            if m.identify:
                ident = await dev.identify()
                if not ident.values and ident.errors:
                    raise SolartuiError(f"no answer from {target}: "
                                        f"{next(iter(ident.errors.values()))}")
        else:
            maps = [m for m in catalog.all_maps() if m.identify]
            if not maps:
                raise SolartuiError("no shipped map can identify devices; name one with --map")
            link = pool.get(target, _merged_spec(maps))
            if trace:
                link.scheduler.add_sink(lambda f: click.echo(str(f), err=True))
            dev, _ = await choose_map(maps, lambda m: RegisterDevice(m, link, target.unit, journal))
        yield dev
    finally:
        await pool.close()


def confirm(plan_lines: list[list[tuple[str, str]]], yes: bool, what: str) -> None:
    """Show what will be written; ask on a terminal; without one, refuse unless --yes."""
    for lines in plan_lines:
        for key, value in lines:
            click.echo(f"  {key:>10}: {value}")
        click.echo("")
    if yes:
        return
    if not sys.stdin.isatty():
        raise SolartuiError(f"refusing to {what} without confirmation: run it on a terminal "
                            "or pass --yes")
    if not click.confirm(f"{what[0].upper()}{what[1:]}?", default=False):
        raise SolartuiError(f"cancelled: nothing was written")

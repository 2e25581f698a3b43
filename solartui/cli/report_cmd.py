"""`solartui report TARGET [-o FILE]`: the commissioning report, Markdown and HTML."""

from __future__ import annotations

from datetime import datetime, time

import click

from solartui.cli.session import gate_confirm, open_device, run
from solartui.errors import SolartuiError
from solartui.devices import gate
from solartui.devices.gate import WriteRequest
from solartui.journal import Journal


def parse_since(text: str) -> datetime | None:
    """'today' (local midnight), 'all' (None) or an ISO date/time (local when no offset)."""
    if text == "all":
        return None
    if text == "today":
        return datetime.combine(datetime.now().date(), time()).astimezone()
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise SolartuiError(f"--since {text!r}: give today, all, or a date/time like "
                            "2026-11-21 or 2026-11-21T08:30") from None
    return t if t.tzinfo else t.astimezone()


@click.command("report")
@click.argument("target")
@click.option("--map", "map_name", help="Map id or path to a map file (default: identify).")
@click.option("-o", "--output", help="Report file (.md or .html; the other format is written "
              "beside it; '-' prints Markdown). Default: reports/ in the state folder.")
@click.option("--since", default="today", show_default=True,
              help="The session's start: journal entries from then are 'this session' "
                   "(today, all, or an ISO date/time).")
@click.option("--sync-clock", is_flag=True,
              help="Set the device clock to host time first (asks, unless --yes), so the report "
                   "shows the drift before and after.")
@click.option("--yes", is_flag=True, help="Do not ask before syncing the clock.")
def command(target, map_name, output, since, sync_clock, yes):
    """Write the commissioning report for TARGET: identity, link, clock drift, the settings
    changed this session with their outcomes, trust rungs and every mapped value."""
    run(_report(target, map_name, output, parse_since(since), sync_clock, yes))


async def _report(target, map_name, output, since, sync_clock, yes):
    from solartui.report.content import gather
    from solartui.report.files import write_report
    from solartui.report.render import to_markdown
    journal = Journal()
    async with open_device(target, map_name, journal=journal) as dev:
        if sync_clock:
            await gate.run(dev, WriteRequest.clock(),
                           gate_confirm(yes, lambda _: "set the device clock", err=True), "cli",
                           on_outcome=lambda o: click.echo(o.line(), err=True))
        report = await gather(dev, journal=journal, since=since)
    if output == "-":
        click.echo(to_markdown(report), nl=False)
        return
    md, html = write_report(report, output)
    click.echo(f"report: {md}")
    click.echo(f"report: {html}")

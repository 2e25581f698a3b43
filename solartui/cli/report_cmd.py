"""`solartui report TARGET [-o FILE]`: the commissioning report, Markdown and HTML, as a
handover document (site, customer, installer, notes, sign-off lines).

A site's customer and installer are remembered in the settings: `--site NAME` alone fills them
in from the last report of that site, and a device reported before keeps its site. Notes are
taken only when given (they describe this visit); the TUI's form shows the remembered ones."""

from __future__ import annotations

import time as clock
from datetime import datetime, time

import click

from solartui.cli.progress import StepProgress
from solartui.cli.session import gate_confirm, open_device, run
from solartui.errors import SolartuiError
from solartui.devices import gate
from solartui.devices.gate import WriteRequest
from solartui.journal import Journal
from solartui.report.handover import Handover, prefill, read_notes, remember
from solartui.settings import load_settings, save_settings


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
@click.option("-o", "--output", help="Report file (.html, .htm or .md; the other format is "
              "written beside it; '-' prints Markdown). No PDF: print the HTML to PDF (A4 "
              "layout). Default: reports/ in the state folder.")
@click.option("--force", is_flag=True, help="Replace report files that exist (default: refuse).")
@click.option("--site", help="The site's name (its customer and installer are remembered).")
@click.option("--customer", help="Who receives the system (default: remembered for the site).")
@click.option("--installer", help="Who hands it over (default: remembered for the site, else "
              "the name that signs attestations).")
@click.option("--notes", help="Notes for the report: text, or @FILE to read them from a file.")
@click.option("--since", default="today", show_default=True,
              help="The session's start: journal entries from then are 'this session' "
                   "(today, all, or an ISO date/time).")
@click.option("--sync-clock", is_flag=True,
              help="Set the device clock to host time first (asks, unless --yes), so the report "
                   "shows the drift before and after.")
@click.option("--yes", is_flag=True, help="Do not ask before syncing the clock.")
@click.option("--checks", "with_checks", is_flag=True,
              help="Run the commissioning checks (as `solartui check`) and report the verdicts.")
@click.option("--window", type=click.FloatRange(0, 3600), default=None, metavar="SECONDS",
              help="With --checks: how long the CT and export-limit checks watch.")
@click.option("--export-limit", "export_limit", type=click.FloatRange(0), metavar="W",
              help="With --checks: the site's export limit in W.")
@click.option("--dump", "dump_file", metavar="FILE",
              help="Attach a register dump (solartui dump): its name and sha256 go in the report.")
def command(target, map_name, output, force, site, customer, installer, notes, since,
            sync_clock, yes, with_checks, window, export_limit, dump_file):
    """Write the commissioning report for TARGET: site, customer and installer, notes, identity,
    link, clock drift, the settings changed this session with their outcomes, trust rungs,
    sign-off lines and every mapped value."""
    from solartui.report.files import output_paths, refuse_existing
    if output and output != "-":                # refused before connecting, not after
        refuse_existing(output_paths(output), force)
    given = {"site": site, "customer": customer, "installer": installer,
             "notes": read_notes(notes)}
    if (window is not None or export_limit is not None) and not with_checks:
        raise SolartuiError("--window and --export-limit go with --checks")
    dump = dump_ref(dump_file) if dump_file else None
    checks = None
    if with_checks:
        from solartui.checks.context import CheckOptions
        checks = CheckOptions(export_limit_w=export_limit)
        if window is not None:
            checks.window_s = window
    run(_report(target, map_name, output, force, given, parse_since(since), sync_clock, yes,
                StepProgress("report", clock.monotonic()), checks, dump))


def dump_ref(path: str):
    """The dump file's name and checksum (it must exist: the report vouches for its bytes)."""
    from pathlib import Path

    from solartui.dump.files import sha256_of
    from solartui.report.content import DumpRef
    p = Path(path).expanduser()
    if not p.is_file():
        raise SolartuiError(f"--dump {path}: no such file (write it with solartui dump TARGET "
                            f"-o {path})")
    return DumpRef(p.name, sha256_of(p), p.stat().st_size)


def handover_for(settings, serial: str, given: dict) -> Handover:
    """The options given, the rest from what the settings remember for the site."""
    base = prefill(settings, serial, given.get("site"))
    return Handover(*(given.get(k) if given.get(k) is not None else
                      ("" if k == "notes" else getattr(base, k))
                      for k in ("site", "customer", "installer", "notes")))


async def _report(target, map_name, output, force, given, since, sync_clock, yes, progress,
                  checks=None, dump=None):
    from solartui.report.content import gather
    from solartui.report.files import write_report
    from solartui.report.render import to_markdown
    settings = load_settings()
    journal = Journal()
    async with open_device(target, map_name, journal=journal) as dev:
        if sync_clock:
            await gate.run(dev, WriteRequest.clock(),
                           gate_confirm(yes, lambda _: "set the device clock", err=True), "cli",
                           on_outcome=lambda o: click.echo(o.line(), err=True))
        serial = dev.identity.serial if dev.identity is not None else "unknown"
        handover = handover_for(settings, serial, given)
        with progress:
            report = await gather(dev, journal=journal, since=since, handover=handover,
                                  on_progress=progress)
        if checks is not None:
            from solartui.checks.engine import run_checks
            report.checks = await run_checks(dev, checks,
                                             on_progress=lambda m: click.echo(m, err=True))
        report.dump = dump
    if output == "-":
        click.echo(to_markdown(report), nl=False)
    else:
        md, html = write_report(report, output, force=force)
    if remember(settings, serial, handover, keep_notes=given["notes"] is None):
        save_settings(settings)
    if output == "-":
        return
    click.echo(f"report: {md}")
    click.echo(f"report: {html}")

"""`solartui check TARGET`: the commissioning checks the device's map declares, one line each.

Exit status: 0 every check passed; 1 a check failed; 4 none failed but one could not tell
(e.g. the CT check at night); 2 a usage mistake or the device cannot be reached (nothing was
checked). `--json` prints the verdicts with their readings and samples for scripts.
"""

from __future__ import annotations

import json
import sys

import click

from solartui.checks.context import DEFAULT_SAMPLES, DEFAULT_WINDOW_S, CheckOptions
from solartui.checks.engine import run_checks
from solartui.checks.verdict import EXIT_USAGE, exit_code
from solartui.cli.session import gate_confirm, open_device, run
from solartui.errors import SolartuiError
from solartui.journal import Journal
from solartui.registers.checks_spec import CHECKS


def _fail_usage(message: str):
    click.echo(f"solartui: {message}", err=True)
    sys.exit(EXIT_USAGE)


def site_values(site_path: str | None, device_name: str | None, target: str):
    """(intended values, export limit W) of the site file's device: named, or the one whose
    target is TARGET."""
    if site_path is None:
        if device_name:
            _fail_usage("--device needs --site SITE")
        return {}, None
    from solartui.site.site_file import load_site
    try:
        site = load_site(site_path)
    except SolartuiError as exc:
        _fail_usage(str(exc).splitlines()[0])
    devices = site.devices
    match = [d for d in devices if (d.name == device_name if device_name else
                                    d.target_text == target or str(d.target) == target)]
    if len(match) != 1:
        names = ", ".join(d.name for d in devices)
        which = f"no device {device_name!r}" if device_name else f"no device with target {target}"
        _fail_usage(f"{which} in {site_path} (devices: {names}); name one with --device")
    return dict(match[0].intended), match[0].export_limit_w


@click.command("check")
@click.argument("target")
@click.option("--map", "map_name", help="Map id or path to a map file (default: identify).")
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as JSON.")
@click.option("--only", metavar="CHECK,...", help=f"Only these checks ({', '.join(CHECKS)}).")
@click.option("--window", type=click.FloatRange(0, 3600), default=DEFAULT_WINDOW_S,
              show_default=True, metavar="SECONDS",
              help="How long the CT and export-limit checks watch the site.")
@click.option("--samples", type=click.IntRange(1, 1000), default=DEFAULT_SAMPLES,
              show_default=True, help="Reads in that window.")
@click.option("--export-limit", "export_limit", type=click.FloatRange(0), metavar="W",
              help="The site's export limit in W (for maps with no limit register, or lower).")
@click.option("--site", "site_path", metavar="SITE",
              help="Site file: the device's intended settings and export limit.")
@click.option("--device", "device_name", help="The site file's device (default: by TARGET).")
@click.option("--sync", is_flag=True, help="Set the clock if it is off (asks first).")
@click.option("--yes", is_flag=True, help="Do not ask before --sync writes the clock.")
@click.option("--trace", is_flag=True, help="Print every frame to stderr.")
def command(target, map_name, as_json, only, window, samples, export_limit, site_path,
            device_name, sync, yes, trace):
    """Run the commissioning checks on TARGET: identity and firmware, clock, CT direction,
    export limit, battery communication, settings — those the device's map declares."""
    wanted = None
    if only:
        wanted = [c.strip() for c in only.split(",") if c.strip()]
        bad = [c for c in wanted if c not in CHECKS]
        if bad:
            _fail_usage(f"unknown check '{bad[0]}' (known: {', '.join(CHECKS)})")
    intended, site_limit = site_values(site_path, device_name, target)
    options = CheckOptions(window_s=window, samples=samples,
                           export_limit_w=export_limit if export_limit is not None else site_limit,
                           intended=intended, sync=sync,
                           confirm=gate_confirm(yes, lambda _: "set the device clock",
                                                err=True) if sync else None)
    sys.exit(run(_check(target, map_name, wanted, options, as_json, trace)))


async def _check(target, map_name, wanted, options, as_json, trace) -> int:
    try:
        ctx = open_device(target, map_name, trace=trace, journal=Journal())
        dev = await ctx.__aenter__()
    except SolartuiError as exc:
        _fail_usage(str(exc))
    try:
        from solartui.checks.engine import applicable
        if not applicable(dev.map):
            _fail_usage(f"map {dev.map.id} declares no commissioning checks (no checks: section)")
        verdicts = await run_checks(
            dev, options, only=wanted,
            on_verdict=None if as_json else lambda v: click.echo(v.line()),
            on_progress=lambda line: click.echo(line, err=True))
    finally:
        await ctx.__aexit__(None, None, None)
    if as_json:
        ident = dev.identity.values if dev.identity else {}
        click.echo(json.dumps({"target": dev.target_text, "map": dev.map.id,
                               "identity": {k: str(v) for k, v in ident.items()},
                               "verdicts": [v.as_json() for v in verdicts],
                               "exit": exit_code(verdicts)}, indent=1, ensure_ascii=False,
                              default=str))
    return exit_code(verdicts)

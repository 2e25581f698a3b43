"""`solartui log SITE`: log a site's devices into CSV files, one row per device per period.

`--once` makes one pass and exits (for cron: the state folder remembers the last pass, so a
missed run shows as a gap row); without it the logger runs until Ctrl+C or SIGTERM (exit 0).
`--check` only validates the site file and shows what would be logged. Exit 1 for a bad site
file, a CSV whose header does not match, or a CSV that cannot be written; a silent device is not
a failure (it is in the CSV's note column and the error log).
"""

from __future__ import annotations

import asyncio
import signal
import time

import click

from solartui.cli.mqtt_options import config_from, mqtt_options, pop_options
from solartui.cli.session import run


@click.command("log")
@click.argument("site_file", metavar="SITE")
@click.option("--once", is_flag=True, help="One pass over every device, then exit (for cron).")
@click.option("--check", is_flag=True, help="Only validate SITE and show what would be logged.")
@click.option("--quiet", "-q", is_flag=True,
              help="No start summary on stderr (errors are still printed).")
@mqtt_options
def command(site_file, once, check, quiet, **mqtt):
    """Log the devices named in SITE (a site file, YAML) to CSV files.

    Each pass appends one row per device: the time, one column per point (unit in the header),
    and a note (no answer, gap). Devices on one serial bus share its pacing.
    """
    from solartui.site.site_file import load_site
    site = load_site(site_file)
    mqtt_config = config_from(pop_options(mqtt), site.mqtt)
    if check:
        _check(site)
        if mqtt_config is not None:
            click.echo(f"  publishing to {mqtt_config.shown()} under {mqtt_config.base}/")
        return
    run(_log(site, once, quiet, mqtt_config))


def _check(site) -> None:
    from solartui.site.csv_sink import CsvSink, header_for
    from solartui.safe_open import refuse_link
    for d in site.devices:
        CsvSink(d.csv, header_for(d.points), d.name).check()
    refuse_link(site.error_log, "the error log")
    click.echo(site.summary())
    for ch in site.channels:
        click.echo(f"  {ch.key}: {ch.period_s * 1000:.0f} ms between commands, "
                   f"{ch.target.timeout_ms} ms timeout")
        for d in ch.devices:
            unit = "" if d.unit is None else f" unit {d.unit}"
            click.echo(f"    {d.name}:{unit} {d.map.id}, {len(d.points)} point"
                       f"{'s' * (len(d.points) != 1)} every {d.period:g} s -> {d.csv}")
    click.echo(f"  errors to {site.error_log}")


async def _log(site, once: bool, quiet: bool, mqtt_config=None) -> None:
    from solartui.site.logger import SiteLogger
    logger = SiteLogger(site)
    logger.open()               # a CSV clash or a second logger: refused before the summary
    publisher = None
    if mqtt_config is not None:
        from solartui.mqtt.log_bridge import LogBridge
        from solartui.mqtt.publisher import MqttPublisher
        publisher = MqttPublisher(mqtt_config)
        LogBridge(site, publisher).attach(logger)
        publisher.start()       # in the background: a broker that is down never delays a pass
    if not quiet:
        mqtt_note = f"; mqtt to {mqtt_config.shown()}" if mqtt_config is not None else ""
        click.echo(f"solartui log: {site.summary()}"
                   f"{' (one pass)' if once else ' (Ctrl+C to stop)'}; errors to "
                   f"{site.error_log}{mqtt_note}", err=True)
    try:
        if once:
            await logger.once()
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        started = time.monotonic()
        try:
            await logger.run(stop)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        rows = sum(r.passes for r in logger.runs)
        click.echo(f"solartui log: stopped after {time.monotonic() - started:.0f} s, "
                   f"{rows} row{'s' * (rows != 1)} written", err=True)
    finally:
        if publisher is not None:       # --once (cron): wait a little for the broker
            await publisher.stop(flush=5.0 if once else 1.0, wait_connect=once)
        await logger.close()

"""`solartui scan`: find devices on serial ports, USB and (only when asked) the network.

On a terminal each scan shows a progress bar with an ETA and results print as they are found;
without one (cron, a pipe, ssh with no tty) plain progress lines go to stderr instead, the first
after a second and then every PLAIN_EVERY seconds per scan, so a long sweep is never silent.
`--json` prints one list at the end for scripts. Nothing found is exit status 1.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from solartui.cli.progress import PLAIN_FIRST
from solartui.cli.session import run
from solartui.errors import SolartuiError

PLAIN_EVERY = 10.0      # seconds between its later ones


def plain_line(p) -> str:
    """One progress line for a log: what, how far, what is tried now, how long is left."""
    pct = f"{100 * p.fraction:.0f}%"
    eta = p.eta
    left = "" if eta is None else (f", about {eta:.0f} s left" if eta < 90
                                   else f", about {eta / 60:.0f} min left")
    now = f", trying {p.note}" if p.note else ""
    return f"scan {p.scan}: {p.done}/{p.total} ({pct}){now}{left}"


@click.command("scan")
@click.option("--serial", "serial_", is_flag=True, help="Probe every serial port listed.")
@click.option("--port", "ports", multiple=True, metavar="PATH",
              help="Probe this serial device (a pty, an adapter the listing misses).")
@click.option("--usb", is_flag=True, help="List USB devices and recognise inverters.")
@click.option("--net", "nets", multiple=True, metavar="CIDR",
              help="Scan this IPv4 range on ports 502 and 8899 ('local': this machine's subnets).")
@click.option("--all", "find_all", is_flag=True, help="Find every unit on a bus, not just the first.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of what was found.")
def command(serial_, ports, usb, nets, find_all, as_json):
    """Find devices: port, baud rate, unit address; identify them and pick their map.

    Without options: every serial port and USB. The network is scanned only with --net.
    """
    if not (serial_ or ports or usb or nets):
        serial_, usb = True, True
    run(_scan(serial_, list(ports), usb, list(nets), find_all, as_json))


def _jobs(serial_, ports, usb, nets, find_all):
    """(label, coroutine factory taking on_found, on_progress) for every scan asked for."""
    from solartui.discovery.network import local_subnets, parse_cidr, scan_network
    from solartui.discovery.rtu_probe import probe_port
    from solartui.discovery.serial_ports import list_serial_ports
    from solartui.discovery.usb import scan_usb

    jobs = []
    paths = list(ports)
    if serial_:
        paths += [p.device for p in list_serial_ports() if p.device not in paths]
    for path in paths:
        jobs.append((path, lambda f, p, path=path: probe_port(path, find_all=find_all,
                                                              on_found=f, on_progress=p)))
    if usb:
        from solartui.discovery.pi30_identify import pi30_identifier
        jobs.append(("usb", lambda f, p: scan_usb(on_found=f, on_progress=p,
                                                  identify_pi30=pi30_identifier())))
    networks = []
    for text in nets:
        networks += local_subnets() if text == "local" else [parse_cidr(text)]
    if "local" in nets and not networks:
        raise SolartuiError("this machine has no IPv4 subnet to scan besides loopback")
    for net in networks:
        jobs.append((str(net), lambda f, p, net=net: scan_network(net, on_found=f, on_progress=p)))
    return jobs


async def _scan(serial_, ports, usb, nets, find_all, as_json):
    jobs = _jobs(serial_, ports, usb, nets, find_all)
    if not jobs:
        raise SolartuiError("no serial port found to probe (name one with --port, or try --usb "
                            "or --net CIDR)")
    found = []
    errors = []
    interactive = sys.stderr.isatty() and not as_json
    console = Console(stderr=True, highlight=False)
    bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[note]}"),
                   TimeRemainingColumn(), console=console, transient=True, disable=not interactive)

    def on_found(f):
        found.append(f)
        if not as_json:
            bar.console.print(f"found: {f.title()}" + (f"\n       target: {f.target}" if f.target else "")
                              + (f"\n       picked: {f.why}" if f.why else ""), soft_wrap=True)

    async def one(label, factory):
        task = bar.add_task(label, total=None, note="")
        next_line = [time.monotonic() + PLAIN_FIRST]

        def on_progress(p):
            bar.update(task, total=p.total, completed=p.done, note=p.note)
            if not interactive and time.monotonic() >= next_line[0] and p.done < p.total:
                next_line[0] = time.monotonic() + PLAIN_EVERY
                click.echo(plain_line(p), err=True)

        try:
            await factory(on_found, on_progress)
        except SolartuiError as exc:
            errors.append(f"{label}: {exc}")
        finally:
            bar.update(task, visible=False)

    with bar:
        await asyncio.gather(*(one(label, factory) for label, factory in jobs))
    if as_json:
        click.echo(json.dumps([f.as_json() for f in found], indent=1, ensure_ascii=False))
    if not found:
        what = "; ".join(errors) if errors else ", ".join(label for label, _ in jobs)
        raise SolartuiError(f"no device found ({what})")
    for e in errors:                    # something was found: the failed scans are warnings
        click.echo(f"solartui: warning: {e}", err=True)

"""`solartui read TARGET [POINT...]`: one paced pass over the points, as a table or JSON.

The trust column shows the rung each point has earned for this device's model and firmware (the
map's declared rung raised only by verification and hardware attestations), or that its display
was attested to differ.
"""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.table import Table

from solartui.cli.session import open_device, run
from solartui.errors import SolartuiError
from solartui.registers.suggest import no_such, point_items
from solartui.trust.rungs import MISMATCH, model_and_firmware, point_evidence


def device_evidence(dev) -> dict:
    """name -> Evidence for this device; nothing (the declared rungs, and a warning on stderr)
    when the evidence stores cannot be read."""
    model, firmware = model_and_firmware(dev.identity)
    try:
        return point_evidence(dev.map, model, firmware)
    except SolartuiError as exc:
        click.echo(f"solartui: {exc}: showing the map's declared rungs", err=True)
        return {}


def trust_labels(dev) -> dict[str, str]:
    """name -> what the trust column shows for this device."""
    return {n: e.label for n, e in device_evidence(dev).items()}


def readings_json(readings, dev) -> str:
    """The readings as JSON; "trust" is the rung earned, "display_differs" marks an attested
    mismatch on this model and firmware."""
    evidence = device_evidence(dev)
    out = []
    for r in readings:
        obj = r.as_json()
        ev = evidence.get(r.point.name)
        if ev is not None:
            obj["trust"] = ev.rung
            if ev.differs:
                obj["display_differs"] = True
        out.append(obj)
    return json.dumps(out, indent=1, ensure_ascii=False)


def _trust(labels: dict[str, str] | None, name: str, declared: str) -> str:
    label = (labels or {}).get(name, declared)
    return f"[red]{label}[/red]" if label == MISMATCH else label


def readings_table(readings, title: str, compact: bool = False,
                   trust: dict[str, str] | None = None) -> Table:
    """Readings as a rich table; compact drops the document name for an 80-column terminal.
    `trust`: name -> the label its trust column shows (default: the declared rung)."""
    t = Table(title=title, title_justify="left")
    cols = [("point", {}), ("doc", {"style": "dim"}), ("table", {}),
            ("addr", {"justify": "right"}), ("raw", {"style": "dim"}),
            ("value", {"justify": "right", "style": "bold"}), ("trust", {"style": "dim"})]
    if compact:
        cols = [c for c in cols if c[0] not in ("doc", "table")]
    for col, kw in cols:
        t.add_column(col, no_wrap=compact, min_width=9 if col == "raw" else None, **kw)
    for r in readings:
        p = r.point
        raw = " ".join(f"{w:04X}" for w in r.decoded.words) if r.ok else ""
        value = r.decoded.text if r.ok else f"[red]{r.error}[/red]"
        addr = f"{'IR' if p.table == 'input' else 'HR'}{p.address}" if compact else str(p.address)
        row = [p.name, p.doc, p.table, addr, raw, value, _trust(trust, p.name, p.trust)]
        if compact:
            row = [row[0], row[3], row[4], row[5], row[6]]
        t.add_row(*row)
    return t


@click.command("read")
@click.argument("target")
@click.argument("points", nargs=-1)
@click.option("--map", "map_name", help="Map id or path to a map file (default: identify).")
@click.option("--group", help="Only points of this group (PV, AC, Battery, ...).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one object per point.")
@click.option("--trace", is_flag=True, help="Print every frame to stderr.")
def command(target, points, map_name, group, as_json, trace):
    """Read points from TARGET (tcp://HOST:PORT?unit=1, rtu:///dev/ttyUSB0?baud=9600&unit=1,
    givenergy://HOST, solarman://HOST?serial=LOGGER_SERIAL&unit=1, or a PI30 inverter:
    pi30:///dev/ttyUSB0, hid://0665:5161, hidraw:///dev/hidraw0 — then POINTs are the map's
    fields — or a listen-only device: broadcast:///dev/ttyUSB0?map=outback-flexmax, which shows
    the next status page)."""
    run(_read(target, points, map_name, group, as_json, trace))


def fields_table(readings, title: str, compact: bool = False,
                 trust: dict[str, str] | None = None) -> Table:
    """PI30 field readings as a rich table: the query and token index take the register's place."""
    t = Table(title=title, title_justify="left")
    cols = [("field", {}), ("doc", {"style": "dim"}), ("command", {}),
            ("value", {"justify": "right", "style": "bold"}), ("group", {"style": "dim"}),
            ("trust", {"style": "dim"})]
    if compact:
        cols = [c for c in cols if c[0] not in ("doc", "group")]
    for col, kw in cols:
        t.add_column(col, no_wrap=compact, min_width=10 if col == "command" else None, **kw)
    for r in readings:
        f = r.point
        if r.ok:
            value = r.decoded.text
        elif r.absent:
            value = f"[dim]{r.error}[/dim]"
        else:
            value = f"[red]{r.error or r.decoded.error}[/red]"
        row = [f.name, f.doc, f"{f.command}[{f.index}]", value, f.group,
               _trust(trust, f.name, f.trust)]
        if compact:
            row = [row[0], row[2], row[3], row[5]]
        t.add_row(*row)
    return t


async def _read(target, names, map_name, group, as_json, trace):
    async with open_device(target, map_name, trace=trace) as dev:
        if getattr(dev, "kind", "") == "broadcast":
            from solartui.cli.read_broadcast import read_broadcast
            return await read_broadcast(dev, names, group, as_json)
        if getattr(dev, "kind", "") == "pi30":
            return await _read_pi30(dev, names, group, as_json)
        m = dev.map
        if names:
            unknown = [n for n in names if not m.has_point(n)]
            if unknown:
                raise SolartuiError(no_such("point", unknown, m.id, point_items(m)))
            points = [m.point(n) for n in names]
        else:
            points = [p for p in m.points if p.readable]
        if group:
            points = [p for p in points if p.group.lower() == group.lower()]
            if not points:
                raise SolartuiError(f"no readable points in group '{group}' of map {m.id}")
        readings = await dev.poll(points)
    failed = [r for r in readings if not r.ok]
    if as_json:
        click.echo(readings_json(readings, dev))
    else:
        ident = dev.identity.summary() if dev.identity else ""
        console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
        title = f"{m.vendor} {ident} — {m.id} at {dev.target_text}"
        if map_name is None and getattr(dev.identity, "reason", ""):
            title += f"\nidentified {dev.identity.reason}"      # which map, and why
        console.print(readings_table(readings, title, trust=trust_labels(dev)))
    if failed:
        if len(failed) == len(readings):
            raise SolartuiError(f"no point could be read: {failed[0].error}")
        raise SolartuiError(f"{len(failed)} of {len(readings)} points could not be read "
                            f"(first: {failed[0].point.name}: {failed[0].error})")


async def _read_pi30(dev, names, group, as_json):
    """`read` for a PI30 device: NAMES are fields; one query per command that carries them."""
    m = dev.map
    fields = [dev.field(n) for n in names] if names else dev.fields()
    if group:
        fields = [f for f in fields if f.group.lower() == group.lower()]
        if not fields:
            raise SolartuiError(f"no fields in group '{group}' of map {m.id}")
    readings = await dev.poll(fields)
    if as_json:
        click.echo(readings_json(readings, dev))
    else:
        ident = dev.identity.summary() if dev.identity else ""
        console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
        console.print(fields_table(readings, f"{m.vendor} {ident} — {m.id} at {dev.target_text}",
                                   trust=trust_labels(dev)))
    failed = [r for r in readings if not r.ok and not r.absent]
    if failed:
        if len(failed) == len(readings):
            raise SolartuiError(f"no field could be read: {failed[0].error}")
        raise SolartuiError(f"{len(failed)} of {len(readings)} fields could not be read "
                            f"(first: {failed[0].point.name}: {failed[0].error})")

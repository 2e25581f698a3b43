"""`solartui read broadcast://…`: wait for the next good status page and show its values."""

from __future__ import annotations

import json
import sys
import time

import click
from rich.console import Console
from rich.table import Table

from solartui.errors import SolartuiError


def page_json(received, fields) -> str:
    page = received.page
    out = [{"name": f.name, "value": page.values[f.name], "unit": f.unit,
            "text": page.text(f), "address": page.address, "at": round(received.at, 3),
            "trust": f.trust} for f in fields]
    return json.dumps(out, indent=1, ensure_ascii=False)


def page_table(received, fields, title: str) -> Table:
    t = Table(title=title, title_justify="left")
    for col, kw in (("field", {}), ("doc", {"style": "dim"}), ("token", {"justify": "right"}),
                    ("raw", {"style": "dim"}), ("value", {"justify": "right", "style": "bold"}),
                    ("group", {"style": "dim"})):
        t.add_column(col, **kw)
    page = received.page
    for f in fields:
        t.add_row(f.name, f.doc, str(f.index), page.tokens[f.index], page.text(f), f.group)
    return t


async def read_broadcast(dev, names, group, as_json) -> None:
    fields = [dev.field(n) for n in names] if names else list(dev.fields())
    if group:
        fields = [f for f in fields if f.group.lower() == group.lower()]
        if not fields:
            raise SolartuiError(f"no fields in group '{group}' of map {dev.map.id}")
    received = await dev.latest()
    if dev.link.lines_note:
        click.echo(f"solartui: note: {dev.link.lines_note}", err=True)
    if as_json:
        click.echo(page_json(received, fields))
        return
    m = dev.map
    age = time.time() - received.at
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    console.print(page_table(received, fields,
                             f"{m.vendor} address {received.page.address} — {m.id} at "
                             f"{dev.target_text} (page {age:.1f} s old, listen-only)"))

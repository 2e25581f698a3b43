"""`solartui dump TARGET -o FILE`: every readable register (the map's blocks plus --range
TABLE:FIRST-LAST), table, address, raw word and the map's decoded value, as CSV or JSON by the
file's extension; one progress line per read on stderr; an existing file is kept unless --force."""

from __future__ import annotations

import time

import click

from solartui.cli.session import open_device, run
from solartui.dump import files, ranges
from solartui.dump.collect import collect
from solartui.errors import SolartuiError


@click.command("dump")
@click.argument("target")
@click.option("-o", "--output", required=True, help="The dump file: .csv or .json.")
@click.option("--map", "map_name", help="Map id or path to a map file (default: identify).")
@click.option("--range", "raw_ranges", multiple=True, metavar="TABLE:FIRST-LAST",
              help="Also read these registers (holding:0-124, input:1000-1124); repeatable.")
@click.option("--only-ranges", is_flag=True, help="Read only the --range registers, not the "
              "map's blocks.")
@click.option("--force", is_flag=True, help="Replace the file if it exists (default: refuse).")
@click.option("--trace", is_flag=True, help="Print every frame to stderr.")
def command(target, output, map_name, raw_ranges, only_ranges, force, trace):
    """Write every readable register of TARGET to FILE (CSV or JSON), for a bug report or the
    commissioning report (`report --dump FILE` quotes its name and sha256)."""
    fmt = files.dump_format(output)
    extra = [ranges.parse_range(r) for r in raw_ranges]
    if only_ranges and not extra:
        raise SolartuiError("--only-ranges needs at least one --range")
    files.refuse_existing(output, force)            # before connecting, not after
    run(_dump(target, map_name, output, fmt, extra, not only_ranges, force, trace))


async def _dump(target, map_name, output, fmt, extra, blocks, force, trace):
    async with open_device(target, map_name, trace=trace) as dev:
        if getattr(dev, "kind", "") == "pi30":
            raise SolartuiError("a PI30 inverter has no registers to dump: `solartui read "
                                f"{target} --json` records every field")
        reads = ranges.plan(dev.map, extra, blocks=blocks)
        click.echo(f"dump: {len(reads)} reads of {sum(c for _, _, c in reads)} registers "
                   f"from {dev.target_text}", err=True)
        rows = await collect(dev, reads, lambda line: click.echo(line, err=True))
        ident = dev.identity.values if dev.identity else {}
    header = {"target": dev.target_text, "map": dev.map.id,
              "identity": {k: str(v) for k, v in ident.items()} if fmt == "json" else
              ", ".join(f"{k} {v}" for k, v in ident.items()),
              "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    digest = files.write_dump(output, files.render(rows, fmt, header), force)
    failed = sum(1 for r in rows if r.raw is None)
    click.echo(f"dump: {output} ({len(rows)} registers, {failed} unreadable), sha256 {digest}")

"""`solartui maps verify [MAP...]`: decode a fixture's known-true values from the simulator.

Each map is run against the simulator seeded from its fixture (maps/fixtures/<id>.yaml, or
--fixture FILE), a verdict per point is printed, and the run is recorded in the evidence store:
points that pass earn the simulator-verified rung for this exact map text (editing the file voids
it). Exit 0 when no point fails, 1 when one fails or a map or fixture is unusable.
"""

from __future__ import annotations

import json

import click

from solartui.cli.session import run
from solartui.errors import SolartuiError
from solartui.registers import catalog
from solartui.trust.fixture import fixture_for, fixture_path_for
from solartui.trust.verifications import record_run
from solartui.trust.verify import FAIL, NO_FIXTURE, PASS, MapRun, verify

MARK = {PASS: "pass", FAIL: "FAIL", NO_FIXTURE: "no fixture"}
COLUMN = 28                 # widest expected/decoded column


def _maps_to_verify(names: tuple[str, ...]) -> list[str]:
    """The maps named, or every shipped map that has a fixture."""
    if names:
        return list(names)
    out = [str(m.path) for m in catalog.all_maps(protocol=None) if fixture_path_for(m).is_file()]
    if not out:
        raise SolartuiError("no shipped map has a fixture (maps/fixtures/<map id>.yaml)")
    return out


def summary(r: MapRun) -> str:
    earned = r.earned()
    what = (f"earned: simulator-verified for {len(earned)} point(s)" if earned
            else "earned nothing")
    return (f"{r.count(PASS)} pass, {r.count(FAIL)} fail, {r.count(NO_FIXTURE)} no fixture — "
            f"{what}")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def print_table(r: MapRun) -> None:
    """One row per verdict; long values are cut to the column, except in a failing row."""
    click.echo(f"{r.map.id} ({r.map.path}) against {r.fixture_path} — {r.seconds:.2f} s")
    rows = [(v.name if v.kind in ("point", "field", "clock") else f"{v.name} ({v.kind})",
             v.expected, v.decoded, v) for v in r.verdicts]
    w = [min(COLUMN, max([len(h)] + [len(row[i]) for row in rows]))
         for i, h in enumerate(("point", "expected", "decoded"))]
    w[0] = max([len("point")] + [len(row[0]) for row in rows])
    click.echo(f"  {'point':{w[0]}}  {'expected':{w[1]}}  {'decoded':{w[2]}}  verdict")
    for name, exp, dec, v in rows:
        if v.verdict != FAIL:
            exp, dec = _cut(exp, w[1]), _cut(dec, w[2])
        click.echo(f"  {name:{w[0]}}  {exp:{w[1]}}  {dec:{w[2]}}  {MARK[v.verdict]}".rstrip())
        if v.verdict == FAIL and (v.raw or v.detail):
            extra = "; ".join(x for x in (f"raw {v.raw}" if v.raw else "", v.detail) if x)
            click.echo(f"  {'':{w[0]}}  ↳ {extra}")
    click.echo(f"  {summary(r)}")


@click.command("verify")
@click.argument("maps", nargs=-1)
@click.option("--fixture", "fixture_file", type=click.Path(dir_okay=False),
              help="Fixture file to use instead of maps/fixtures/<map id>.yaml (one MAP only).")
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as JSON.")
@click.pass_context
def command(ctx, maps, fixture_file, as_json):
    """Verify MAP (an id or a file; default: every shipped map with a fixture) against the
    simulator seeded with its fixture's known-true values; passing points earn the
    simulator-verified rung."""
    if fixture_file and len(maps) != 1:
        raise click.UsageError("--fixture needs exactly one MAP")
    names = _maps_to_verify(maps)
    single = len(names) == 1
    runs: list[MapRun] = []
    bad = 0
    for name in names:
        if name == "sunspec":
            # the simulator is built from the same definitions as the map: a verify would
            # compare the definitions with themselves and earn a rung it has not
            raise SolartuiError("sunspec is not verified against the simulator: both are built "
                                "from the SunSpec definitions, so it would prove nothing; its "
                                "layout is tested against sunspec.md's addresses instead")
        try:
            device_map = catalog.resolve(name)
            fixture = fixture_for(device_map, fixture_file)
        except SolartuiError as exc:
            if single:
                raise
            click.echo(f"solartui: {exc}", err=True)
            bad += 1
            continue
        r = run(verify(device_map, fixture))
        record_run(device_map, r.recorded())
        runs.append(r)
        if not as_json:
            print_table(r)
    failed = [r for r in runs if r.failed]
    if as_json:
        click.echo(json.dumps({"runs": [r.as_json() for r in runs]}, indent=1,
                              ensure_ascii=False))
    if failed:
        if not as_json:
            click.echo("solartui: verification failed: " + ", ".join(
                f"{r.count(FAIL)} point(s) of {r.map.id}" for r in failed), err=True)
        ctx.exit(1)
    if bad:
        ctx.exit(1)

"""`solartui maps evidence MAP [--json]`: what the map's rungs rest on, on this machine.

The declared rung, the latest `maps verify` run (and whether it was for the map text as it is
now: an edited map earns nothing from an old run), every attestation people made against a
device's display, and per model and firmware the points those attestations made
hardware-verified (or showed to differ). Evidence lives in the state folder; none is not an
error.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from solartui.registers import catalog
from solartui.trust.attestations import AttestationStore
from solartui.trust.rungs import declared_rungs, known, latest_real
from solartui.trust.verifications import run_summary


def per_device(device_map, attestations) -> list[dict]:
    """Per (model, firmware) attested on real hardware: points verified, points that differ."""
    names = declared_rungs(device_map)
    pairs = sorted({(a.model, a.firmware) for a in attestations if not a.simulated
                    and known(a.model, a.firmware)})
    out = []
    for model, firmware in pairs:
        latest = latest_real(device_map.id, model, firmware, attestations)
        out.append({"model": model, "firmware": firmware,
                    "hardware_verified": sorted(n for n, a in latest.items()
                                                if a.matches and n in names),
                    "display_differs": sorted(n for n, a in latest.items() if not a.matches)})
    return out


@click.command("evidence")
@click.argument("map_name", metavar="MAP")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def command(map_name, as_json):
    """Show what MAP's trust rungs rest on: its simulator verification and the hardware
    attestations people made (solartui's value against the device's display)."""
    m = catalog.resolve(map_name)
    verification = run_summary(m)
    attestations = AttestationStore().all(m.id)
    devices = per_device(m, attestations)
    if as_json:
        click.echo(json.dumps({"map": m.id, "declared": m.trust, "verification": verification,
                               "attestations": [asdict(a) for a in attestations],
                               "devices": devices}, indent=1, ensure_ascii=False))
        return
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
    out = console.print
    out(f"{escape(m.id)} ({escape(m.vendor)} — {escape(m.name)}): declared {m.trust}")
    if verification is None and not attestations:
        out(f"no evidence for {escape(m.id)} on this machine: no simulator verification "
            "(solartui maps verify) and no hardware attestation (key m in the live screen)")
        return
    if verification is None:
        out("simulator verification: none (solartui maps verify)")
    else:
        v = verification
        which = ("for the current map text" if v["current"] else
                 "for an older text of the map: it earns nothing now")
        out(f"simulator verification {v['time'][:19].replace('T', ' ')}: {v['pass']} pass / "
            f"{v['fail']} fail / {v['no_fixture']} no fixture — {which}")
    if not attestations:
        out("hardware attestations: none")
        return
    t = Table(title=f"hardware attestations ({len(attestations)})", title_justify="left")
    for col in ("time", "person", "point", "model", "firmware", "serial", "shown", "display",
                "verdict"):
        t.add_column(col)
    for a in attestations:
        verdict = ("[green]matches[/green]" if a.matches else "[red]does not match[/red]")
        t.add_row(*(escape(x) for x in (a.time[:19].replace("T", " "), a.person, a.point,
                                        a.model, a.firmware, a.serial, a.shown, a.display)),
                  verdict + (" [yellow](simulated)[/yellow]" if a.simulated else ""))
    out(t)
    if not devices:
        out("hardware-verified: nothing (no attestation on a real device of known model and "
            "firmware)")
    for d in devices:
        out(f"[b]{escape(d['model'])}, firmware {escape(d['firmware'])}[/b]")
        out("  hardware-verified: " + (", ".join(d["hardware_verified"]) or "none"))
        if d["display_differs"]:
            out("  [red]display differs:[/red] " + ", ".join(d["display_differs"]))

"""Run the commissioning checks a device's map declares, in a fixed order, one verdict each.

The CT-direction and export-limit checks judge the same samples (one window of paced reads), so
a run watches the site once. A check that raises the link's error becomes "cannot tell" with
the reason: one check's silence does not stop the others.
"""

from __future__ import annotations

import asyncio
from typing import Callable

from solartui.checks import battery, clock, ct_direction, export_limit, identity, sampling, settings
from solartui.checks.context import CheckContext, CheckOptions
from solartui.checks.verdict import CANNOT_TELL, Verdict
from solartui.errors import SolartuiError
from solartui.registers.checks_spec import CHECKS, checks_for

RUNNERS = {"identity": identity.run, "clock": clock.run, "ct_direction": ct_direction.run,
           "export_limit": export_limit.run, "battery": battery.run, "settings": settings.run}
SAMPLED = ("ct_direction", "export_limit")


def applicable(device_map) -> list[str]:
    spec = checks_for(device_map)
    return [c for c in CHECKS if spec.applies(c)]


async def run_checks(dev, options: CheckOptions | None = None, *, only: list[str] | None = None,
                     on_verdict: Callable[[Verdict], None] | None = None,
                     on_progress: Callable[[str], None] | None = None) -> list[Verdict]:
    options = options or CheckOptions()
    spec = checks_for(dev.map)
    ctx = CheckContext(dev, spec, options)
    todo = [c for c in applicable(dev.map) if only is None or c in only]
    if any(c in SAMPLED for c in todo):
        names = export_limit.names(spec) if "export_limit" in todo else ct_direction.names(spec)
        if on_progress:
            on_progress(f"sampling {len(names)} points {options.samples} times over "
                        f"{options.window_s:g} s")
        try:
            ctx.samples = await sampling.over_window(dev, names, options.window_s,
                                                     options.samples)
        except SolartuiError as exc:
            ctx.samples = []
            if on_progress:
                on_progress(f"sampling failed: {exc}")
    out = []
    for check in todo:
        if on_progress:
            on_progress(f"checking {check}")
        try:
            verdict = await RUNNERS[check](ctx)
        except asyncio.CancelledError:
            raise
        except SolartuiError as exc:
            verdict = Verdict(check, CANNOT_TELL, f"the device did not answer: {exc}")
        out.append(verdict)
        if on_verdict:
            on_verdict(verdict)
    return out

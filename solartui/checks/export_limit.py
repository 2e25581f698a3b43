"""Export limit honoured: with a limit set, the export seen over the sampling window stays at or
below it, within the map's tolerance.

The export taken is the larger of the grid reading and PV + battery − load, so a reversed CT
(which makes export read as import, and stops the inverter limiting) does not pass for honoured.
"""

from __future__ import annotations

from solartui.checks import ct_direction, sampling
from solartui.checks.context import CheckContext, fmt_w
from solartui.checks.verdict import CANNOT_TELL, FAIL, PASS, Verdict


OFF_LABELS = ("disabled", "disable", "off")


def switched_off(value, text) -> bool:
    """An enable register reads "off": 0 (Growatt, GivEnergy) or a label meaning off (Sungrow
    writes 0x55 for disable and 0xAA for enable, so 0 is not what off looks like there)."""
    return value == 0 or (isinstance(text, str) and text.strip().lower() in OFF_LABELS)


def names(spec) -> list[str]:
    limit = [*spec.role("export_limit_enable"), *spec.role("export_limit_w"),
             *spec.role("export_limit_percent"), *spec.role("rated_power")]
    return [*ct_direction.names(spec), *limit]


def device_limit(spec, s) -> tuple[float | None, str]:
    """(limit in W, how it was found) as the device is set; None: not limiting / no register."""
    enable = spec.one("export_limit_enable")
    if enable and switched_off(s.values.get(enable), s.texts.get(enable)):
        return None, f"{enable} = {s.texts.get(enable, '0')}"
    w = spec.one("export_limit_w")
    if w and isinstance(s.values.get(w), (int, float)):
        return float(s.values[w]), f"{w} = {s.texts.get(w)}"
    pct, rated = spec.one("export_limit_percent"), spec.one("rated_power")
    if pct and rated and isinstance(s.values.get(pct), (int, float)) \
            and isinstance(s.values.get(rated), (int, float)):
        limit = max(float(s.values[pct]), 0.0) / 100 * float(s.values[rated])
        return limit, f"{pct} {s.texts.get(pct)} of {rated} {s.texts.get(rated)}"
    return None, "no export-limit register in the map"


def judge(spec, samples, site_limit_w: float | None = None) -> Verdict:
    if not samples:
        return Verdict("export_limit", CANNOT_TELL, "no samples were taken")
    limit, how = device_limit(spec, samples[0])
    readings: dict = {"device_limit_w": limit, "limit_source": how}
    if site_limit_w is not None:
        readings["site_limit_w"] = site_limit_w
        if limit is None or site_limit_w < limit:
            limit, how = site_limit_w, f"the site's limit {site_limit_w:.0f} W"
    if limit is None:
        return Verdict("export_limit", CANNOT_TELL,
                       f"no export limit is set ({how}); give the site's with --export-limit W",
                       readings)
    tol = max(spec.tolerance["export_w"], spec.tolerance["export_percent"] / 100 * limit)
    ev = []
    for s in samples:
        e = ct_direction.evidence(spec, s)
        seen = [v for v in (e["grid_w"], e["balance_w"]) if v is not None]
        e["export_w"] = max(max(seen), 0.0) if seen else None
        ev.append(e)
    exports = [e["export_w"] for e in ev if e["export_w"] is not None]
    readings.update({"limit_w": round(limit, 1), "tolerance_w": round(tol, 1),
                     "peak_export_w": round(max(exports), 1) if exports else None})
    if not exports:
        return Verdict("export_limit", CANNOT_TELL, "the grid could not be read", readings,
                       tuple(ev))
    over = [e for e in ev if e["export_w"] is not None and e["export_w"] > limit + tol]
    if over:
        worst = max(over, key=lambda e: e["export_w"])
        ct = ("" if worst["grid_w"] is None or worst["grid_w"] >= 0 else
              f" (the grid reads import {abs(worst['grid_w']):.0f} W: check the CT first)")
        return Verdict("export_limit", FAIL,
                       f"exported {fmt_w(worst['export_w'])} > limit {limit:.0f} W "
                       f"(+{tol:.0f} W) in {len(over)} of {len(ev)} samples{ct}; set by {how}",
                       readings, tuple(ev))
    peak = max(exports)
    near = " (limiting seen)" if peak >= limit - tol else " (never reached the limit)"
    return Verdict("export_limit", PASS,
                   f"export stayed ≤ {limit:.0f} W (+{tol:.0f} W) over {len(ev)} samples, peak "
                   f"{peak:.0f} W{near}; set by {how}", readings, tuple(ev))


async def run(ctx: CheckContext) -> Verdict:
    return judge(ctx.spec, ctx.samples, ctx.options.export_limit_w)

"""Settings that differ from the map's declared safe defaults or the site file's intended values,
listed. An intended value (the site file) overrides the map's default for that point: that is
how a site says "this one differs on purpose"."""

from __future__ import annotations

import math

from solartui.checks import sampling
from solartui.checks.context import CheckContext
from solartui.checks.verdict import CANNOT_TELL, FAIL, PASS, Verdict


def _same(value, text: str | None, want) -> bool:
    if isinstance(want, str):
        shown = (text or "").strip().lower()
        return want.strip().lower() in (shown, str(value).strip().lower())
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return math.isclose(float(value), float(want), rel_tol=1e-6, abs_tol=1e-6)
    return False


async def run(ctx: CheckContext) -> Verdict:
    wanted = {n: ("safe default", v) for n, v in ctx.spec.defaults.items()}
    wanted.update({n: ("intended", v) for n, v in ctx.options.intended.items()})
    if not wanted:
        return Verdict("settings", CANNOT_TELL, "no safe defaults in the map and no intended "
                                                "values in a site file to compare with")
    s = await sampling.read(ctx.dev, list(wanted))
    readings, differ, unread = {}, [], []
    for name, (kind, want) in wanted.items():
        value, text = s.values.get(name), s.texts.get(name)
        readings[name] = {"value": value, "text": text, kind.replace(" ", "_"): want}
        if value is None:
            unread.append(f"{name} ({s.errors.get(name, 'unread')})")
        elif not _same(value, text, want):
            differ.append(f"{name} {text} (the {kind} is {want})")
    if differ:
        return Verdict("settings", FAIL, f"{len(differ)} differ: " + "; ".join(differ), readings)
    if unread:
        return Verdict("settings", CANNOT_TELL, "unread: " + ", ".join(unread), readings)
    return Verdict("settings", PASS, f"{len(wanted)} as declared ("
                   + ", ".join(f"{n} {s.texts.get(n)}" for n in wanted) + ")", readings)

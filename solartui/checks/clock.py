"""The device clock within the map's tolerance (2 s) of the host's; with --sync, set it through
the write gate (the one door every write takes) and judge the time read back."""

from __future__ import annotations

from solartui.checks.context import CheckContext
from solartui.checks.verdict import CANNOT_TELL, FAIL, PASS, Verdict
from solartui.devices import gate
from solartui.devices.gate import WriteRequest


def _s(seconds: float) -> str:
    """Whole seconds with a sign, never "-0"."""
    return f"{round(seconds) + 0:+d} s"


def _readings(r) -> dict:
    return {"device": r.device.isoformat(sep=" ") if r.device else None,
            "host": r.host.isoformat(sep=" ", timespec="seconds"),
            "drift_s": None if r.drift is None else round(r.drift, 1)}


async def run(ctx: CheckContext) -> Verdict:
    tol = ctx.spec.tolerance["clock_s"]
    before = await ctx.dev.read_clock()
    if before.drift is None:
        return Verdict("clock", CANNOT_TELL, f"the clock cannot be read: {before.error}",
                       _readings(before))
    if abs(before.drift) <= tol:
        return Verdict("clock", PASS, f"{_s(before.drift)} from the host (within {tol:g} s)",
                       _readings(before))
    off = f"{_s(before.drift)} from the host (tolerance {tol:g} s)"
    if not ctx.options.sync:
        return Verdict("clock", FAIL, f"{off}: `--sync` sets it", _readings(before))
    if ctx.options.confirm is None:        # no door asked the person: nothing is written
        return Verdict("clock", FAIL, f"{off}: not synced (nobody to confirm it)",
                       _readings(before))
    outcomes = await gate.run(ctx.dev, WriteRequest.clock(), ctx.options.confirm,
                              ctx.options.origin)
    after = await ctx.dev.read_clock()
    readings = {**_readings(after), "before": _readings(before),
                "sync": [o.line() for o in outcomes]}
    if outcomes and all(o.ok for o in outcomes) and after.drift is not None \
            and abs(after.drift) <= tol:
        return Verdict("clock", PASS, f"was {off}; synced, now {_s(after.drift)}", readings)
    why = outcomes[-1].line() if outcomes else "not confirmed: nothing was written"
    return Verdict("clock", FAIL, f"{off}; sync did not fix it: {why}", readings)

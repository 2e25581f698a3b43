"""CT direction: the grid reading must agree in sign with PV + battery − load.

Why the balance and not the grid reading alone: a reversed CT clamp swaps import and export, and
nothing in the reading itself shows it. While PV (with the battery) produces more than the load,
the site must export; while the load is larger, it must import. Samples where the balance is
too small to tell (night, a battery soaking up the surplus) are not evidence either way.
"""

from __future__ import annotations

from solartui.checks import sampling
from solartui.checks.context import CheckContext, fmt_w
from solartui.checks.verdict import CANNOT_TELL, FAIL, PASS, Verdict

MIN_W = 100.0       # a balance or a grid reading smaller than this says nothing about direction


def names(spec) -> list[str]:
    return [*spec.role("pv_power"), *spec.role("load_power"), *sampling.grid_names(spec),
            *sampling.battery_names(spec)]


def evidence(spec, s) -> dict:
    pv = sampling.total(s, spec.role("pv_power"))
    load = sampling.total(s, spec.role("load_power"))
    batt = sampling.battery(spec, s)
    grid = sampling.grid(spec, s)
    balance = None if pv is None or load is None else pv + batt - load
    return {"pv_w": pv, "load_w": load, "battery_w": batt, "grid_w": grid,
            "balance_w": balance}


def _text(e: dict) -> str:
    g = e["grid_w"]
    reads = "unread" if g is None else f"{'export' if g >= 0 else 'import'} {abs(g):.0f} W"
    b = e["balance_w"]
    want = f"{'export' if b >= 0 else 'import'} ≈ {abs(b):.0f} W"
    return (f"PV {fmt_w(e['pv_w'])}, load {fmt_w(e['load_w'])}, battery {fmt_w(e['battery_w'])}"
            f" ⇒ expect {want}, grid reads {reads}")


def judge(spec, samples) -> Verdict:
    ev = [evidence(spec, s) for s in samples]
    agree, reversed_, unclear = [], [], []
    for e in ev:
        b, g = e["balance_w"], e["grid_w"]
        if b is None or g is None or abs(b) < MIN_W or abs(g) < MIN_W / 2:
            unclear.append(e)
        elif (b > 0) == (g > 0):
            agree.append(e)
        else:
            reversed_.append(e)
    readings = {"usable_samples": len(agree) + len(reversed_), "samples_taken": len(ev),
                "agree": len(agree), "reversed": len(reversed_)}
    if reversed_ and len(reversed_) >= len(agree):
        return Verdict("ct_direction", FAIL,
                       f"reversed CT: {_text(reversed_[0])} ({len(reversed_)} of "
                       f"{len(agree) + len(reversed_)} usable samples)", readings, tuple(ev))
    if reversed_:
        return Verdict("ct_direction", FAIL,
                       f"inconsistent: {len(reversed_)} of {len(agree) + len(reversed_)} samples "
                       f"disagree, e.g. {_text(reversed_[0])}", readings, tuple(ev))
    if agree:
        return Verdict("ct_direction", PASS, f"{_text(agree[-1])} ({len(agree)} of {len(ev)} "
                                             "samples agree)", readings, tuple(ev))
    last = ev[-1] if ev else {}
    why = ("the readings could not be taken" if not ev or last.get("balance_w") is None
           or last.get("grid_w") is None else
           f"PV {fmt_w(last['pv_w'])}, load {fmt_w(last['load_w'])}, battery "
           f"{fmt_w(last['battery_w'])}: no flow of {MIN_W:.0f} W or more to the grid")
    return Verdict("ct_direction", CANNOT_TELL,
                   f"{why} in {len(ev)} samples; run it while the site exports (PV above the "
                   "load)", readings, tuple(ev))


async def run(ctx: CheckContext) -> Verdict:
    return judge(ctx.spec, ctx.samples)

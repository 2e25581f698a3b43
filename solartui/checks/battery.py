"""Battery communication: the BMS answers (SOC read, plausible, agreeing with the BMS's own
figure, no BMS error word) — a battery the inverter cannot talk to often still shows a voltage."""

from __future__ import annotations

from solartui.checks import sampling
from solartui.checks.context import CheckContext
from solartui.checks.verdict import CANNOT_TELL, FAIL, PASS, Verdict

SOC_AGREE = 10.0        # % the inverter's and the BMS's SOC may differ by
MIN_VOLTS = 10.0        # below this the battery is not connected


def names(spec) -> list[str]:
    return [*spec.role("battery_soc"), *spec.role("bms_soc"), *spec.role("bms_error"),
            *spec.role("battery_voltage")]


async def run(ctx: CheckContext) -> Verdict:
    spec = ctx.spec
    s = await sampling.read(ctx.dev, names(spec))
    readings = {n: s.values.get(n) for n in names(spec)}
    soc_name = spec.one("battery_soc")
    soc = s.values.get(soc_name)
    problems = []
    if soc is None:
        return Verdict("battery", CANNOT_TELL,
                       f"{soc_name} cannot be read: {s.errors.get(soc_name, 'no value')}",
                       readings)
    if not 0 < soc <= 100:
        problems.append(f"{soc_name} {soc:g} % is not plausible (BMS not reporting?)")
    bms = spec.one("bms_soc")
    if bms and isinstance(s.values.get(bms), (int, float)):
        if abs(s.values[bms] - soc) > SOC_AGREE:
            problems.append(f"{bms} {s.values[bms]:g} % differs from {soc_name} {soc:g} %")
    err = spec.one("bms_error")
    if err and s.values.get(err) not in (None, 0):
        problems.append(f"{err} = {s.texts.get(err, s.values[err])}")
    volts = spec.one("battery_voltage")
    if volts and isinstance(s.values.get(volts), (int, float)) and s.values[volts] < MIN_VOLTS:
        problems.append(f"{volts} {s.values[volts]:g} V: no battery connected?")
    if problems:
        return Verdict("battery", FAIL, "; ".join(problems), readings)
    parts = [f"SOC {soc:g} %"]
    if bms and isinstance(s.values.get(bms), (int, float)):
        parts.append(f"BMS {s.values[bms]:g} %")
    if err:
        parts.append("no BMS error")
    if volts and isinstance(s.values.get(volts), (int, float)):
        parts.append(f"{s.values[volts]:g} V")
    return Verdict("battery", PASS, ", ".join(parts), readings)

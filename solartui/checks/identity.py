"""Identity and firmware recorded: the serial and every firmware word the map knows, read now.

Why: maps change between firmware versions, so a sign-off that does not say which firmware it
was done on cannot be repeated or trusted later.
"""

from __future__ import annotations

from solartui.checks import sampling
from solartui.checks.context import CheckContext
from solartui.checks.verdict import FAIL, PASS, Verdict


async def run(ctx: CheckContext) -> Verdict:
    dev, spec = ctx.dev, ctx.spec
    ident = await dev.identify()
    readings = {k: v for k, v in ident.values.items()}
    missing = []
    points = [n for n in spec.firmware if n not in dev.map.identify]
    if points:
        s = await sampling.read(dev, points)
        readings.update({n: s.values.get(n) for n in points})
    for name in spec.firmware:
        v = readings.get(name)
        if v is None or (isinstance(v, str) and not v.strip()):
            missing.append(f"{name} ({ident.errors.get(name, 'blank')})")
    serial = ident.serial
    if serial == "unknown":
        missing.insert(0, f"serial ({ident.errors.get('serial', 'blank')})")
    if missing:
        return Verdict("identity", FAIL, "not recorded: " + ", ".join(missing) +
                       "; copy them from the device's display", readings)
    fw = ", ".join(f"{n} {str(readings[n]).strip()}" for n in spec.firmware)
    return Verdict("identity", PASS, f"serial {serial}, {fw}", readings)

"""Choose a map for a device that was not named one: read each candidate's identification
registers and keep the map whose fingerprint fits best.

A fingerprint fits when the serial reads as printable text of a plausible length and the other
identification fields answer; a silent or garbage answer scores nothing.
"""

from __future__ import annotations

import string

from solartui.devices.readings import Identity
from solartui.devices.register_device import RegisterDevice
from solartui.errors import Unidentified
from solartui.registers.model import DeviceMap

_PRINTABLE = set(string.ascii_letters + string.digits + "-_. /")


def _plausible_text(v) -> bool:
    return isinstance(v, str) and len(v.strip()) >= 4 and set(v) <= _PRINTABLE


def score(identity: Identity) -> int:
    s = 0
    for name, value in identity.values.items():
        if name in ("serial", "firmware"):
            s += 3 if _plausible_text(value) else -3
        else:
            s += 1
    return s


async def choose_map(candidates: list[DeviceMap], make_device) -> tuple[RegisterDevice, Identity]:
    """`make_device(map)` builds a RegisterDevice on the shared link for each candidate."""
    best = None
    tried, identities = [], []
    for m in candidates:
        if not m.identify:
            continue
        dev = make_device(m)
        ident = await dev.identify()
        identities.append(ident)
        sc = score(ident)
        tried.append(f"{m.id}: {ident.summary() if ident.values else next(iter(ident.errors.values()), 'no answer')}")
        if sc > 0 and (best is None or sc > best[0]):
            best = (sc, dev, ident)
    if best is None:
        detail = "; ".join(tried) if tried else "no map has identification registers"
        raise Unidentified("unknown", f"could not identify the device ({detail}); name a map "
                                      "with --map", identities)
    return best[1], best[2]

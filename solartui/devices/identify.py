"""Choose a map for a device that was not named one, in an order that cannot harm a device, and
say which one was picked and why.

Why an order at all: every probe is a read the device did not ask for. Some readers are known to
hurt (Growatt SPF off-grid units power-cycle when read at 30000+, growatt-modbus.md §4.10; an SPH
gateway drops the connection on an unsupported 30100), so probes are single reads, the cheapest
and safest first, and the risky ranges only when nothing safer answered.

The order (SUNSPEC_ORDER and DEFAULT_ORDER below, and each map's `identify.probe` hint):

  1. low tier (every probe address < HIGH_ADDRESS = 30000), by `order`, then map id:
       order 10  SunSpec marker at holding 0 (2 registers: "SunS")
       order 100 each shipped map with an `identify:` section (default; see the hint)
  2. high tier (any probe address >= 30000), only if nothing in the low tier fitted:
       order 10  SunSpec marker at holding 40000, then 50000 (2 registers each)
       maps whose identify fields reach 30000+, by their order
  A fit from a candidate marked `exclusive` (SunSpec's marker is) ends the search at once; other
  fits let the rest of the same tier run and the best score wins (ties: the lower order). Two
  candidates in a row with no reply at all (not even an exception) end it too: a silent unit.
  Every probe keeps the slowest candidate's pacing (Growatt's 850 ms) until a map is picked, but
  once a SunS marker answers the caller may drop it (`on_sunspec_marker`): the chain walk that
  follows is most of a SunSpec device's requests, and no Growatt answers "SunS".

The hint a map declares (YAML, inside its `identify:` section; every key optional):

    identify:
      probe:
        order: 40              # integer 0-999; lower is tried earlier within its tier (default 100)
        first: device_type     # an identify field read ALONE first; if it does not answer, or
                               # fails `expect`, the map is out and its other fields are never read
        expect:                # field -> accepted values; any other value rules the map out
          device_type: [0x2001, [0x3000, 0x30FF], "SPF"]   # ints, [lo, hi] inclusive, or text
        exclusive: true        # a fit is certain: stop probing (no later candidate is read)
        why: "HR0 device type" # words added to the "picked because" line

  `probe` is a reserved name in `identify:` (it is not a field). A map whose identify fields sit
  at 30000+ is put in the high tier by itself: no hint can move it earlier.

What comes back: the device, with `identity.reason` a line such as
"sunspec: SunS at 40000, models 1,103,120,121,122,123 (manufacturer SunSim, model ..., serial
...)" or "growatt-protocol-ii: serial AB12345678 at holding 23, device_type 5100, ...". `read`
(table title), `scan` ("picked:"), `report` ("identified") print that line as it is.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field, replace
from typing import Awaitable, Callable

from solartui.devices.readings import Identity
from solartui.devices.register_device import RegisterDevice
from solartui.errors import Unidentified
from solartui.registers.model import DeviceMap, ProbeHint

HIGH_ADDRESS = 30000
DEFAULT_ORDER = 100
SUNSPEC_ORDER = 10
SILENT_STOP = 2         # this many silent candidates in a row end identification (a dead unit)
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


def expect_fails(hint: ProbeHint | None, values: dict) -> str | None:
    """Why the values rule the map out under its `expect`, or None when they fit."""
    if hint is None:
        return None
    for name, accepted in hint.expect.items():
        if name not in values:
            continue
        v = values[name]
        if not any(_matches(v, a) for a in accepted):
            shown = f"0x{v:04X}" if isinstance(v, int) and not isinstance(v, bool) else repr(v)
            return f"{name} {shown} is not one this map reads"
    return None


def _matches(v, accepted) -> bool:
    if isinstance(accepted, (list, tuple)) and len(accepted) == 2:
        return isinstance(v, (int, float)) and accepted[0] <= v <= accepted[1]
    if isinstance(accepted, str):
        return isinstance(v, str) and v.strip(" \x00") == accepted
    return v == accepted


@dataclass
class Verdict:
    fits: bool
    score: int = 0
    device: object = None
    identity: Identity | None = None
    why: str = ""            # the reason line (fits) or what went wrong (does not fit)


@dataclass
class Candidate:
    """One probe: a shipped map's fingerprint or a SunSpec marker address."""

    key: str
    order: int
    high: bool
    exclusive: bool
    attempt: Callable[[], Awaitable[Verdict]] = field(repr=False)


def map_is_high(m: DeviceMap) -> bool:
    return any(f.end >= HIGH_ADDRESS for f in m.identify.values())


def _silent(ident: Identity | None) -> bool:
    """Every read timed out (no reply, not even an exception reply)."""
    from solartui.errors import NoAnswer
    f = getattr(ident, "failures", None) or {}
    return bool(f) and all(isinstance(e, NoAnswer) for e in f.values()) and not ident.values


def _map_candidate(m: DeviceMap, make_device) -> Candidate:
    hint = m.probe

    async def attempt() -> Verdict:
        dev = make_device(m)
        if hint is not None and hint.first:
            first = await dev.identify(only=(hint.first,))
            if not first.values:
                why = next(iter(first.errors.values()), "no answer")
                return Verdict(False, identity=first, why=f"{m.id}: {hint.first}: {why}")
            bad = expect_fails(hint, first.values)
            if bad:
                return Verdict(False, identity=first, why=f"{m.id}: {bad}")
        ident = await dev.identify()
        if not ident.values:
            why = next(iter(ident.errors.values()), "no answer")
            return Verdict(False, identity=ident, why=f"{m.id}: {why}")
        bad = expect_fails(hint, ident.values)
        sc = score(ident)
        if bad or sc <= 0:
            return Verdict(False, identity=ident, why=f"{m.id}: {bad or ident.summary()}")
        reason = f"{m.id}: {_fingerprint_text(m, ident)}"
        if hint is not None and hint.why:
            reason += f" ({hint.why})"
        ident = replace(ident, reason=reason)
        dev.identity = ident
        return Verdict(True, sc, dev, ident, reason)

    return Candidate(m.id, hint.order if hint else DEFAULT_ORDER, map_is_high(m),
                     bool(hint and hint.exclusive), attempt)


_FIRST = ("serial", "device_type", "model", "firmware")


def _fingerprint_text(m: DeviceMap, ident: Identity) -> str:
    """The fields that decided it, the serial first with where it was read."""
    names = sorted(ident.values, key=lambda n: _FIRST.index(n) if n in _FIRST else len(_FIRST))
    parts = []
    for name in names:
        f = m.identify.get(name)
        where = f" at {f.table} {f.address}" if f is not None and not parts else ""
        parts.append(f"{name} {str(ident.values[name]).strip()}{where}")
    return ", ".join(parts[:4])


def candidates(maps: list[DeviceMap], make_device, link=None, unit=None, journal=None,
               sunspec: bool = True, on_sunspec_marker=None) -> list[Candidate]:
    """Every probe in the order it runs (low tier, then high tier)."""
    out = [_map_candidate(m, make_device) for m in maps if m.identify]
    if sunspec and link is not None:
        from solartui.devices.sunspec_device import sunspec_candidates
        out += sunspec_candidates(link, unit, journal, on_sunspec_marker)
    return sorted(out, key=lambda c: (c.high, c.order, c.key))


async def choose_map(maps: list[DeviceMap], make_device, *, link=None, unit=None, journal=None,
                     sunspec: bool = True, on_sunspec_marker=None) -> tuple[RegisterDevice, Identity]:
    """`make_device(map)` builds a RegisterDevice on the shared link for each candidate; with
    `link` (and the unit) SunSpec's marker probes run too (`on_sunspec_marker()` once a marker
    is read: sunspec_device.open_sunspec). Returns (device, identity), the identity's `reason`
    saying what was picked and why; raises Unidentified listing each try."""
    if link is None:                    # callers that predate SunSpec pass only make_device
        probe = next((make_device(m) for m in maps if m.identify), None)
        if probe is not None:
            link, unit = probe.link, probe.unit
            journal = journal if journal is not None else probe.journal
    best: Verdict | None = None
    tried: list[str] = []
    identities: list[Identity] = []
    silent = 0                          # candidates in a row that got no answer at all
    for tier in (False, True):
        if best is not None or silent >= SILENT_STOP:
            break                       # the high tier only runs if nothing low fitted
        for c in candidates(maps, make_device, link, unit, journal, sunspec, on_sunspec_marker):
            if c.high != tier:
                continue
            v = await c.attempt()
            if v.identity is not None:
                identities.append(v.identity)
            if not v.fits:
                tried.append(v.why)
                silent = silent + 1 if _silent(v.identity) else 0
                if silent >= SILENT_STOP:
                    break               # nothing answers at this unit: more probes only wait
                continue
            if best is None or v.score > best.score:
                best = v
            if c.exclusive:
                break
    if best is None:
        detail = "; ".join(tried) if tried else "no map has identification registers"
        raise Unidentified("unknown", f"could not identify the device ({detail}); name a map "
                                      "with --map", identities)
    return best.device, best.identity

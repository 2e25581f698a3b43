"""Why a device could not be identified, said so that it points to the fix.

Four different problems used to end in the same "name a map with --map": nothing listens (check
the address, the port, the power), nothing answers in time (check the wiring; a slow device needs
`?timeout=MS`), the device is there but not at that unit (a gateway's exception 10/11, or another
unit answers: use `?unit=N`), and a device that answers but fits no map (then `--map`, or its
registers in the browser). The link's exceptions kept in each Identity tell them apart; a silent
unit is told from a silent device by asking a few other units once, through the same link.
"""

from __future__ import annotations

from solartui.devices.readings import Identity
from solartui.errors import ConnectionFailed, DeviceException, LinkError, NoAnswer, Unidentified

GATEWAY_CODES = (10, 11)            # gateway path unavailable / target failed to respond


def _where(target, unit) -> str:
    return f"{target.link_key} unit {unit}"


def timeout_hint(target, timeout_ms: int) -> str:
    """How to give the device longer: the URL to type."""
    bigger = max(2000, timeout_ms * 4)
    base = str(target)
    return (f"a slow device or gateway needs longer: add timeout=MS to the target URL, "
            f"e.g. {base}{'&' if '?' in base else '?'}timeout={bigger}")


def _units_to_try(target, maps, unit: int) -> list[int]:
    """Other unit addresses worth one question: the maps' defaults, 1, and for TCP the
    addresses Modbus TCP devices answer on when they are not gateways (255, 0)."""
    out = [m.link.unit for m in maps] + [1]
    if target.scheme != "rtu":
        out += [255, 0]
    seen: list[int] = []
    for u in out:
        if u != unit and u not in seen:
            seen.append(u)
    return seen[:3]


async def _answers(link, unit: int, maps) -> bool:
    """Does anything answer at `unit`? One read of the first identification register."""
    m = next(m for m in maps if m.identify)
    f = next(iter(m.identify.values()))
    try:
        await link.read(3 if f.table == "holding" else 4, unit, f.address, 1)
    except DeviceException as exc:
        return exc.code not in GATEWAY_CODES
    except LinkError:
        return False
    return True


def _failures(identities: list[Identity]) -> list[Exception]:
    return [exc for ident in identities for exc in ident.failures.values()]


async def explain(target, link, unit: int, maps, identities: list[Identity]) -> Unidentified:
    """The one-line reason the device at `target`/`unit` was not identified by any of `maps`
    (each tried: its Identity in `identities`)."""
    failures = _failures(identities)
    url = str(target.with_unit(unit))
    refused = next((e for e in failures if isinstance(e, ConnectionFailed)), None)
    if refused is not None and getattr(refused, "says_why", False):
        return Unidentified("refused", str(refused))    # e.g. a logger naming its real serial
    if refused is not None:
        check = ("is the adapter plugged in, and the path right?" if target.scheme == "rtu"
                 else "check the address and the port, and that the device (or its gateway) "
                      "is on the network")
        return Unidentified("refused", f"{refused}: {check}")
    answered = any(ident.values for ident in identities) or any(
        isinstance(e, DeviceException) and e.code not in GATEWAY_CODES for e in failures)
    if answered:
        tried = "; ".join(f"{i.map_id}: {i.summary() if i.values else next(iter(i.errors.values()), '?')}"
                          for i in identities)
        reason = f"{_where(target, unit)} answered but fits no known map ({tried})"
        return Unidentified(
            "no-map", f"{reason}: name its map with --map (a map file of your own works), or look "
                      f"at its registers in the browser: solartui ui '{url}' --map modbus-generic, "
                      f"then f3",
            tui_message=f"{reason}: choose its map in the Map list and connect again, or choose "
                        f"modbus-generic and press f3 to look at its registers")
    gateway = next((e for e in failures if isinstance(e, DeviceException)), None)
    others = [u for u in _units_to_try(target, maps, unit) if await _answers(link, u, maps)]
    if others:
        because = (" (the logger answered that the inverter did not reply)"
                   if getattr(gateway, "says_why", False) else
                   f" (exception {gateway.code}, {DeviceException.NAMES[gateway.code]})"
                   if gateway else " (no answer there)")
        return Unidentified(
            "wrong-unit", f"{target.link_key} answers on unit {others[0]}, not on unit {unit}"
                          f"{because}: use unit={others[0]} in the target URL, "
                          f"e.g. {target.with_unit(others[0])}")
    if gateway is not None and getattr(gateway, "says_why", False):
        return Unidentified("wrong-unit", f"{gateway}{_silent_too(target, maps, unit)}")
    if gateway is not None:
        return Unidentified(
            "wrong-unit", f"{_where(target, unit)}: the gateway answered exception {gateway.code} "
                          f"({DeviceException.NAMES[gateway.code]}): no device "
                          f"answers at that unit behind it — check unit= in the target URL and "
                          f"the RS485 side of the gateway; {timeout_hint(target, _ms(link))}")
    silent = next((e for e in failures if isinstance(e, NoAnswer)), None)
    if silent is not None or not failures:
        also = _units_to_try(target, maps, unit)
        what = ("check the wiring, the baud rate and the unit" if target.scheme == "rtu"
                else "the logger did not answer: check serial= (a Solarman logger ignores "
                     "requests for another serial) and that it speaks Solarman V5"
                if target.scheme == "solarman"
                else "the port is open but nothing speaks Modbus there for that unit")
        return Unidentified(
            "no-answer", f"no answer from {_where(target, unit)} within {_ms(link)} ms"
                         f"{' (units ' + ', '.join(map(str, also)) + ' are silent too)' if also else ''}"
                         f": {what}; {timeout_hint(target, _ms(link))}")
    return Unidentified("no-answer", f"{_where(target, unit)}: {failures[0]}")


def _silent_too(target, maps, unit: int) -> str:
    also = _units_to_try(target, maps, unit)
    return f" (units {', '.join(map(str, also))} did not reply either)" if also else ""


def _ms(link) -> int:
    return round(getattr(link, "timeout", 1.0) * 1000)

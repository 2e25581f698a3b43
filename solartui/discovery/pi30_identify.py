"""Identify a PI30 inverter found on USB: ask QPI (must say PI30), QID, QVFW, QMN.

Used as scan_usb's `identify_pi30` hook: the VID:PID 0665:5161 is a Cypress HID bridge that UPSes
use too, so only the QPI answer makes it an inverter and picks the command map.
"""

from __future__ import annotations

from dataclasses import replace

from solartui.devices.pi30_device import Pi30Device
from solartui.discovery.results import Found
from solartui.errors import SolartuiError
from solartui.links.pi30_open import open_pi30_link
from solartui.links.target import parse_target
from solartui.registers import catalog


def pi30_identifier(usb_backend=None, timeout_ms: int = 1500):
    """The hook: `await hook(found)` -> the Found with vendor, serial, firmware and map, or a
    SolartuiError saying why it is not a PI30 inverter (scan_usb keeps that in the detail)."""

    async def identify(found: Found) -> Found:
        m = catalog.resolve_command_map(None)
        target = replace(parse_target(found.target), timeout_ms=timeout_ms)
        link = open_pi30_link(target, m.link, usb_backend=usb_backend)
        try:
            await link.connect()
            ident = await Pi30Device(m, link).identify()
        finally:
            await link.close()
        if "protocol" not in ident.values:
            raise SolartuiError(ident.errors.get("protocol", "no answer to QPI"))
        v = ident.values
        return replace(found, vendor=m.vendor, serial=v.get("serial"), model=v.get("model"),
                       firmware=v.get("firmware"), map_id=m.id,
                       detail=f"{v['protocol']} inverter")

    return identify

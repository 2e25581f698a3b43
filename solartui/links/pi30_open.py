"""Open a PI30 link from a target URL: pi30:// (RS232), hidraw:// (kernel HID) or hid:// (pyusb).

Pacing and timeouts come from the command map's link section unless the URL overrides them
(timeout=, period=). `usb_backend` is the pyusb backend for hid:// (None: libusb, or whatever
`default_usb_backend` was set to — the simulator's backend in tests).
"""

from __future__ import annotations

from solartui.errors import TargetError
from solartui.links.pi30_hidraw import Pi30HidrawTransport
from solartui.links.pi30_link import Pi30Link
from solartui.links.pi30_serial import Pi30SerialTransport
from solartui.links.pi30_usb import Pi30UsbTransport
from solartui.links.target import Target
from solartui.pi30.codec import DEFAULT_TIMING, Pi30Timing
from solartui.registers.command_model import CommandLinkSpec

#: the pyusb backend hid:// targets use when none is passed (None: pyusb's own choice, libusb)
default_usb_backend = None


def timing_for(target: Target, spec: CommandLinkSpec) -> Pi30Timing:
    period_ms, timeout_ms = target.pacing_ms(spec.min_period_ms, spec.timeout_ms)
    return Pi30Timing(timeout=timeout_ms / 1000, min_period=period_ms / 1000,
                      chunk_gap=DEFAULT_TIMING.chunk_gap,
                      read_timeout=min(DEFAULT_TIMING.read_timeout, timeout_ms / 1000))


def open_pi30_link(target: Target, spec: CommandLinkSpec, *, usb_backend=None) -> Pi30Link:
    """A Pi30Link for `target` (nothing is opened until the first command)."""
    timing = timing_for(target, spec)
    if target.scheme == "pi30":
        transport = Pi30SerialTransport(target.path, baud=target.baud or spec.baudrates[0],
                                        timing=timing)
    elif target.scheme == "hidraw":
        transport = Pi30HidrawTransport(target.path, timing=timing)
    elif target.scheme == "hid":
        assert target.usb_id is not None
        transport = Pi30UsbTransport(vid=target.usb_id[0], pid=target.usb_id[1],
                                     bus=target.usb_bus, address=target.usb_address,
                                     backend=usb_backend or default_usb_backend, timing=timing)
    else:
        raise TargetError(f"{target} is not a PI30 target (pi30://, hid:// or hidraw://)")
    return Pi30Link(transport, timing=timing, target=target)

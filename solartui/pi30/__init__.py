"""Voltronic/Axpert "PI30" protocol: ASCII commands with CRC-16/XMODEM, over RS232 or USB HID.

`codec` frames requests and parses replies (no I/O); `errors` holds the error types. Transports
live in `solartui.links.pi30_*`, the simulated inverter in `solartui.sim.pi30_*`.
"""

from solartui.pi30.codec import (
    DEFAULT_TIMING,
    Pi30Timing,
    Response,
    bump_crc,
    crc_bytes,
    crc_status,
    crc_xmodem,
    cut_at_cr,
    decode_request,
    encode_request,
    encode_response,
    hid_chunks,
    parse_response,
    read_until_cr,
)
from solartui.pi30.errors import (
    Pi30BadCrc,
    Pi30CommandError,
    Pi30DeviceBusy,
    Pi30DeviceGone,
    Pi30DeviceNotFound,
    Pi30EmptyFrame,
    Pi30Error,
    Pi30FrameError,
    Pi30Garbled,
    Pi30Nak,
    Pi30NoStart,
    Pi30NotSupported,
    Pi30OtherProtocol,
    Pi30PermissionDenied,
    Pi30TooLong,
    Pi30Truncated,
)

__all__ = [
    "DEFAULT_TIMING", "Pi30Timing", "Response", "bump_crc", "crc_bytes", "crc_status",
    "crc_xmodem", "cut_at_cr", "decode_request", "encode_request", "encode_response",
    "hid_chunks", "parse_response", "read_until_cr",
    "Pi30BadCrc", "Pi30CommandError", "Pi30DeviceBusy", "Pi30DeviceGone", "Pi30DeviceNotFound",
    "Pi30EmptyFrame", "Pi30Error", "Pi30FrameError", "Pi30Garbled", "Pi30Nak", "Pi30NoStart",
    "Pi30NotSupported", "Pi30OtherProtocol", "Pi30PermissionDenied", "Pi30TooLong", "Pi30Truncated",
]

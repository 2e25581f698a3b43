"""Error types of the GivEnergy envelope, its link and its capture files.

    SolartuiError
    └── GivEnergyError                       every GivEnergy problem, one line
        ├── GivFrameError(msg, frame)        bytes that are not a usable frame; .frame holds them
        │   ├── GivHeaderError               marker, uid, fid or length field impossible
        │   ├── GivLengthError               frame size does not match its header or its kind
        │   ├── GivCrcError                  CRC-16/MODBUS (low byte first) does not verify
        │   └── GivUnknownFrame              a well-formed envelope carrying an unknown message
        ├── GivEncodeError                   a message that cannot be put on the wire (nothing sent)
        ├── GivCaptureError                  a capture file line that cannot be parsed
        └── (with LinkError) GivErrorReply   the device answered with an error frame (fn | 0x80)
                             GivWriteMismatch  a write echo with another register or value

GivErrorReply is also a DeviceException, so the scheduler counts it as an answered request and
the device layer reports a write it refuses as "rejected by the device".
"""

from __future__ import annotations

from solartui.errors import DeviceException, LinkError, SolartuiError

_TABLES = {3: "HR", 4: "IR"}


class GivEnergyError(SolartuiError):
    """Anything about the GivEnergy protocol, its link or its captures."""


class GivFrameError(GivEnergyError):
    """Bytes that are not a usable GivEnergy frame; `frame` holds them for the traffic log."""

    def __init__(self, msg: str, frame: bytes = b""):
        super().__init__(msg)
        self.frame = bytes(frame)


class GivHeaderError(GivFrameError):
    """The 8-byte header is impossible: no 59 59 00 01 marker, uid not 0/1, fid not 1/2."""


class GivLengthError(GivFrameError):
    """The frame is shorter or longer than its length field or its message kind allows."""


class GivCrcError(GivFrameError):
    """The CRC-16/MODBUS over frame[26:-2], low byte first, does not verify."""


class GivUnknownFrame(GivFrameError):
    """A well-formed envelope whose content is no message we know (unknown function code)."""


class GivEncodeError(GivEnergyError):
    """A message with a field out of range for its wire slot; nothing was sent."""


class GivCaptureError(GivEnergyError):
    """A line of a capture file that is neither a comment nor '<time> rx|tx <hex>' / 'rx: <hex>'."""


class GivErrorReply(DeviceException, GivEnergyError):
    """The device answered with an error frame: no exception code, only fn | 0x80 and the echo."""

    def __init__(self, device: int, function: int, base: int, count: int, frame: bytes = b""):
        self.device = device
        self.base = base
        self.count = count
        self.frame = bytes(frame)
        self.function = function
        self.code = 0
        what = (f"write HR{base} = {count}" if function == 6 else
                f"read of {count} registers at {_TABLES.get(function, 'register ')}{base}")
        LinkError.__init__(self, f"device 0x{device:02x} refused FC{function:02d} {what} "
                                 "(error frame, no exception code)")


class GivWriteMismatch(LinkError, GivEnergyError):
    """A write echo that names another register or value than the one written."""

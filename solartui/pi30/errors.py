"""Error types of the PI30 (Voltronic/Axpert) protocol and its transports.

Every parser outcome that is not a usable reply has its own type and carries the bytes it was given
(`.frame`), so a traffic log or a bug report can show exactly what came off the wire. All of them
are LinkErrors: raised inside a link-scheduler transaction they are counted and handed to the
caller like any other link failure.

    LinkError
    └── Pi30Error(msg, frame=b"")                every PI30 error; .frame (bytes, maybe empty)
        ├── Pi30FrameError                       a reply that is not a usable answer
        │   ├── Pi30Garbled                      malformed: drain and retry may help
        │   │   ├── Pi30EmptyFrame               nothing before the CR (or no bytes at all)
        │   │   ├── Pi30Truncated                no CR, or too short to hold a CRC
        │   │   ├── Pi30NoStart                  does not start with '('
        │   │   ├── Pi30BadCrc                   CRC neither raw nor bumped, no CRC-less shape
        │   │   └── Pi30TooLong                  longer than any PI30 reply (MAX_REPLY bytes)
        │   ├── Pi30Nak                          (NAK: setter refused / query unsupported
        │   ├── Pi30NotSupported                 the request came back as the reply (echo)
        │   └── Pi30OtherProtocol                a PI17/PI18 reply (^0, ^1, ^D...)
        └── (with ConnectionFailed) Pi30PermissionDenied, Pi30DeviceBusy, Pi30DeviceNotFound,
            Pi30DeviceGone                       transport problems, one line each
    SolartuiError
    └── Pi30CommandError                         a command that cannot be framed (nothing sent)

NoAnswer (solartui.errors) is used as is for silence.
"""

from __future__ import annotations

from solartui.errors import ConnectionFailed, LinkError, SolartuiError

UDEV_RULE = "udev/99-solartui-pi30.rules"
UDEV_HINT = (f"copy {UDEV_RULE} to /etc/udev/rules.d/, run 'sudo udevadm control --reload-rules "
             "&& sudo udevadm trigger', make sure you are in the plugdev group, and replug the "
             "inverter")
DIALOUT_HINT = ("add yourself to the dialout group ('sudo usermod -aG dialout $USER'), then log out "
                "and in again")


def _show(frame: bytes, limit: int = 48) -> str:
    """A frame as readable text for a one-line message: ASCII as is, other bytes as \\xNN."""
    text = "".join(chr(b) if 0x20 <= b < 0x7F else f"\\x{b:02x}" for b in frame[:limit])
    return text + ("..." if len(frame) > limit else "")


class Pi30Error(LinkError):
    """Any PI30 protocol or transport failure; `frame` holds the bytes concerned (may be b"")."""

    def __init__(self, msg: str, frame: bytes = b""):
        super().__init__(msg)
        self.frame = bytes(frame)


class Pi30FrameError(Pi30Error):
    """A reply that is not a usable answer to the request."""


class Pi30Garbled(Pi30FrameError):
    """A malformed reply (noise, truncation, misalignment): draining and retrying may help."""


class Pi30EmptyFrame(Pi30Garbled):
    """No bytes, or a bare CR / bare '(' with nothing in it."""


class Pi30Truncated(Pi30Garbled):
    """No CR terminator arrived, or the frame is too short to carry a CRC."""


class Pi30NoStart(Pi30Garbled):
    """The frame does not start with '(' (noise, a misaligned or stale read)."""


class Pi30BadCrc(Pi30Garbled):
    """The CRC is neither the raw XMODEM value nor the bumped one, and the frame has no
    well-known CRC-less shape."""


class Pi30TooLong(Pi30Garbled):
    """A frame longer than any PI30 reply: noise, or a device feeding us digits."""


class Pi30Nak(Pi30FrameError):
    """The device answered (NAK: a setter's value was refused, or the query is unsupported."""

    def __init__(self, msg: str, frame: bytes = b"", command: str | None = None):
        super().__init__(msg, frame)
        self.command = command


class Pi30NotSupported(Pi30FrameError):
    """The device echoed the request instead of answering: the command is not supported."""

    def __init__(self, msg: str, frame: bytes = b"", command: str | None = None):
        super().__init__(msg, frame)
        self.command = command


class Pi30OtherProtocol(Pi30FrameError):
    """A PI17/PI18-style reply ('^0' refuse, '^1' accept, '^D...' data): not a PI30 unit."""

    def __init__(self, msg: str, frame: bytes = b"", accepted: bool | None = None):
        super().__init__(msg, frame)
        self.accepted = accepted


class Pi30CommandError(SolartuiError):
    """A command that cannot be sent as a PI30 request (empty, non-ASCII, a CR inside...)."""


# --- transports ----------------------------------------------------------------------------------

class Pi30PermissionDenied(ConnectionFailed, Pi30Error):
    """The device node exists but this user may not open it."""


class Pi30DeviceBusy(ConnectionFailed, Pi30Error):
    """Another program or kernel driver holds the device."""


class Pi30DeviceNotFound(ConnectionFailed, Pi30Error):
    """No such device node / no matching USB device."""


class Pi30DeviceGone(ConnectionFailed, Pi30Error):
    """The device disappeared (unplugged) while in use."""

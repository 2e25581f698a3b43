"""The program's own error types.

Everything a person can cause (a bad map, URL, value or an absent device) ends in a subclass of
SolartuiError, whose message is one clear line. The CLI prints it and exits non-zero; the TUI shows
it as a notification. Anything else escaping is a bug.
"""


class SolartuiError(Exception):
    """A problem explained in one line for the person at the keyboard."""


class MapError(SolartuiError):
    """A register map file is unusable; carries every finding, not just the first."""

    def __init__(self, path: str, findings: list[str]):
        self.path = path
        self.findings = findings
        first = findings[0] if findings else "invalid map"
        more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
        super().__init__(f"{first}{more}")


class CodecError(SolartuiError):
    """A value cannot be encoded to, or decoded from, register words."""


class ValueRejected(SolartuiError):
    """A value a person entered does not pass the map's checks; nothing was sent."""


class WriteForbidden(ValueRejected):
    """The map forbids writing there at all (guarded or read-only), whatever the value."""


class TargetError(SolartuiError):
    """A target URL is malformed or names something that does not exist."""


class LinkError(SolartuiError):
    """A transaction on a link failed (no answer, connection lost, exception reply)."""


class NoAnswer(LinkError):
    """The device did not answer within the timeout."""


class DeviceException(LinkError):
    """The device answered with a Modbus exception code."""

    NAMES = {1: "illegal function", 2: "illegal data address", 3: "illegal data value",
             4: "device failure", 5: "acknowledge", 6: "device busy", 8: "memory parity error",
             10: "gateway path unavailable", 11: "gateway target failed to respond"}

    def __init__(self, function: int, code: int):
        self.function = function
        self.code = code
        name = self.NAMES.get(code, "unknown exception")
        super().__init__(f"device refused FC{function:02d}: exception {code} ({name})")


class ConnectionFailed(LinkError):
    """The port or socket could not be opened, or was lost."""


class NotSent(LinkError):
    """The link refused a transaction before any byte of it went out: the device is unchanged."""


class LinkBusy(NotSent):
    """Too many transactions already wait on this link; try again later (HTTP 503)."""


class DataloggerMoved(NotSent, ConnectionFailed):
    """The datalogger's connection changed after the write was planned: it is not sent to the
    new connection, whose device was never read."""


class Unidentified(SolartuiError):
    """No map identified the device; `kind` says why: "refused", "no-answer", "wrong-unit",
    "no-map" (see devices/diagnose.py), or "unknown" before diagnosis. `identities` holds what
    each map's identification registers said. `tui_message`, when set, says the same with the
    next steps worded for the TUI (its Map list and f3), not as CLI options."""

    def __init__(self, kind: str, message: str, identities: list | None = None,
                 tui_message: str | None = None):
        self.kind = kind
        self.identities = identities or []
        self.tui_message = tui_message
        super().__init__(message)


class ShineError(SolartuiError):
    """Something about the Growatt datalogger ("Shine") protocol or server went wrong."""


class FrameError(ShineError):
    """Bytes that are not a valid Shine frame (bad CRC, length, protocol id, or truncated)."""


class RecordError(ShineError):
    """A valid frame whose payload does not fit the layout of its record type."""


class UnknownDevice(ShineError):
    """No datalogger or inverter with that serial is connected to the server."""


class CommandRejected(LinkError):
    """The datalogger answered a command with a NACK / non-zero status byte."""

    def __init__(self, what: str, status: int):
        self.status = status
        super().__init__(f"{what} rejected by datalogger (status {status:02x})")


class RegisterUnavailable(ShineError):
    """The datalogger answered a read with no values: the inverter does not have that register."""


def said_in_tui(exc: BaseException) -> str:
    """The message for a TUI notification: the TUI wording where an error has one."""
    return getattr(exc, "tui_message", None) or str(exc)


class PageError(LinkError):
    """A broadcast status page is not usable (garbled, wrong length, bad checksum): it is
    dropped and the next one awaited."""

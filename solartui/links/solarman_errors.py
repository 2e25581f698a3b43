"""Error types of the Solarman V5 envelope and its link (protocols/solarman-v5.md).

    SolartuiError
    └── SolarmanError                        every Solarman problem, one line
        ├── SolarmanFrameError(msg, frame)   bytes that are not a usable V5 frame (.frame holds them)
        │   ├── SolarmanChecksumError        the V5 additive checksum does not verify
        │   └── SolarmanRtuError             the Modbus RTU inside is malformed
        │       └── SolarmanCrcError         ... or fails its CRC-16/MODBUS
        └── (with LinkError)
            ├── LoggerNoReply                the logger answered "no data": the inverter behind it
            │                                did not reply (tail 05 00) — a DeviceException, code 11
            ├── LoggerSerialMismatch         the logger answered "not my serial" (tail 06 00)
            ├── LoggerError                  another short "no data" tail (02 00 and unknown ones)
            └── SolarmanBadReply             a reply with our sequence byte that cannot be used
                                             (bad inner CRC, wrong unit/function, wrong count)

A timeout is a plain NoAnswer (from solartui.errors): the logger itself said nothing. The three
are told apart because each points at a different fix: the network or serial= (silence), unit= or
the RS485 cable behind the logger (LoggerNoReply), serial= (LoggerSerialMismatch).
"""

from __future__ import annotations

from solartui.errors import ConnectionFailed, DeviceException, LinkError, SolartuiError


class SolarmanError(SolartuiError):
    """Anything about the Solarman V5 envelope or its link."""


class SolarmanFrameError(SolarmanError):
    """Bytes that are not a usable V5 frame; `frame` holds them for the traffic log."""

    def __init__(self, msg: str, frame: bytes = b""):
        super().__init__(msg)
        self.frame = bytes(frame)


class SolarmanChecksumError(SolarmanFrameError):
    """The V5 checksum (sum of bytes 1..len-3, modulo 256) does not verify."""


class SolarmanRtuError(SolarmanFrameError):
    """The Modbus RTU frame inside a V5 response is malformed (too short, wrong byte count)."""


class SolarmanCrcError(SolarmanRtuError):
    """The inner Modbus RTU frame fails its CRC-16/MODBUS."""


class LoggerNoReply(DeviceException, SolarmanError):
    """The logger answered with an empty payload (tail 05 00): the inverter did not reply.

    A DeviceException with the gateway code 11 ("target failed to respond"): the logger is a
    gateway that answered, so the scheduler counts an answer and the device layer's diagnosis
    treats it as a unit problem, but the message is our own and says what to check."""

    says_why = True             # diagnose.explain repeats this message rather than its own

    def __init__(self, where: str, serial: int, unit: int, what: str):
        self.function, self.code = 0, 11
        self.unit = unit
        LinkError.__init__(
            self, f"logger {serial} at {where} answered, but the inverter behind it did not "
                  f"reply to {what}: check unit= (now {unit}), that the map fits the inverter, "
                  "and the logger's RS485 cable to it")


class LoggerSerialMismatch(ConnectionFailed, SolarmanError):
    """The logger answered "not my serial" (tail 06 00) and told us its own."""

    says_why = True

    def __init__(self, where: str, asked: int, actual: int):
        self.asked, self.actual = asked, actual
        super().__init__(f"the logger at {where} has serial {actual}, not {asked}: "
                         f"use serial={actual} in the target URL")


class LoggerError(LinkError, SolarmanError):
    """The logger answered with a short "no data" payload we have no meaning for."""

    def __init__(self, where: str, tail: bytes, what: str):
        self.tail = bytes(tail)
        super().__init__(f"logger at {where} answered {what} with no data "
                         f"(logger code {tail.hex(' ') or 'empty'})")


class SolarmanBadReply(LinkError, SolarmanError):
    """A response carrying our sequence byte whose Modbus part cannot be used."""

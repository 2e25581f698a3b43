"""PI30 over the inverter's USB HID bridge (0665:5161) through Linux's /dev/hidrawN node.

Per exchange: read and discard pending input reports (a late reply), write the request in 8-byte
zero-padded chunks, each prefixed with the report-ID byte 0x00 (the documented hidraw form: the
kernel takes byte 0 of every write as the report number and strips a 0x00; see section 4.3 of the
notes), pause `chunk_gap` between chunks, then collect input reports until a CR arrives or the
deadline passes. The event loop reads the node (`add_reader`); writes run in a worker thread
because a hidraw write is a synchronous USB control transfer.

Limits: hidraw does not stop a second program from opening the same node; both then receive
every reply (section 4.4) — one program per inverter. Node numbers change on replug: resolve by
USB port path (sysfs), not by number.
"""

from __future__ import annotations

import asyncio
import errno
import os

from solartui.errors import ConnectionFailed
from solartui.links.pi30_serial import FdTransport, FrameSinkFn, _FdStream, command_of
from solartui.pi30.codec import DEFAULT_TIMING, Pi30Timing, hid_chunks
from solartui.pi30.errors import (
    UDEV_HINT,
    Pi30DeviceBusy,
    Pi30DeviceGone,
    Pi30DeviceNotFound,
    Pi30Error,
    Pi30PermissionDenied,
)


class Pi30HidrawTransport(FdTransport):
    """One /dev/hidrawN node to one PI30 inverter.

    report_id=True writes 9 bytes per chunk (0x00 + 8 data bytes, what hidapi does);
    report_id=False writes the bare 8 bytes (what mpp-solar and powermon do; safe only because
    the codec never lets a chunk start with 0x00)."""

    def __init__(self, path: str, *, timing: Pi30Timing = DEFAULT_TIMING,
                 report_id: bool = True):
        self.path = path
        self.timing = timing
        self.report_id = report_id
        self.description = f"{path} (USB HID)"
        self._fd: int | None = None
        self._stream: _FdStream | None = None
        self._sink: FrameSinkFn | None = None

    async def connect(self) -> None:
        if self.connected:
            return
        await self.close()
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK | os.O_NOCTTY)
        except OSError as exc:
            raise hidraw_open_error(self.path, exc) from None
        self._fd = fd
        self._stream = _FdStream(fd, self.description)

    async def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None

    def _reports(self, request: bytes) -> list[bytes]:
        chunks = hid_chunks(request)
        return [b"\x00" + c for c in chunks] if self.report_id else chunks

    async def _send(self, request: bytes) -> None:
        assert self._fd is not None
        fd = self._fd
        for i, report in enumerate(self._reports(request)):
            if i and self.timing.chunk_gap > 0:
                await asyncio.sleep(self.timing.chunk_gap)
            try:
                written = await asyncio.to_thread(os.write, fd, report)
            except OSError as exc:
                await self.close()
                if exc.errno in (errno.EACCES, errno.EPERM):
                    raise Pi30PermissionDenied(f"no write permission on {self.path}: "
                                               f"{UDEV_HINT}") from None
                raise Pi30DeviceGone(f"{self.description}: cannot write "
                                     f"{command_of(request)} (unplugged? {exc.strerror})") from None
            if written != len(report):
                await self.close()
                raise Pi30DeviceGone(f"{self.description}: short write ({written} of "
                                     f"{len(report)} bytes)")


def hidraw_open_error(path: str, exc: OSError) -> Pi30Error | ConnectionFailed:
    """One clear line for a hidraw node that would not open."""
    if exc.errno in (errno.EACCES, errno.EPERM):
        return Pi30PermissionDenied(f"permission denied on {path}: {UDEV_HINT}")
    if exc.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return Pi30DeviceNotFound(f"no device {path} (unplugged? hidraw numbers change on "
                                  "replug: run 'solartui scan' again)")
    if exc.errno == errno.EBUSY:
        return Pi30DeviceBusy(f"{path} is busy: another program holds it (check with "
                              f"'lsof {path}'; NUT's nutdrv_qx claims 0665:5161)")
    return ConnectionFailed(f"cannot open {path}: {exc.strerror or exc}")

"""A simulated OutBack FLEXmax (behind a MATE) broadcasting its status page on a pty.

Every `interval` seconds (1 s like the MATE; less for tests) it writes one page — while its RTS
is low. A pty has no modem lines, so the PC's RTS is a switch here (`rts_low`): set it False to
see the MATE fall silent, as it does when the PC raises RTS. Values drift a little each page
(PV voltage and currents, energy counters), so a logger sees a live device.

Faults (`FlexmaxFaults`, `--fault` on the CLI): garbage (noise bytes between pages), bad-checksum
(every page's checksum off by one), partial (every other page cut short), silent (nothing).
Nothing the client writes is read: the real device does not listen for us either.
"""

from __future__ import annotations

import asyncio
import os
import random
from dataclasses import dataclass

from solartui.links.broadcast_page import encode_page
from solartui.registers.page_map import PageMap, resolve_page_map
from solartui.sim.serial_wire import open_pty, pty_write

FAULT_HELP = "garbage, bad-checksum, partial, silent"


@dataclass
class FlexmaxFaults:
    garbage: bool = False
    bad_checksum: bool = False
    partial: bool = False
    silent: bool = False

    @classmethod
    def parse(cls, specs) -> "FlexmaxFaults":
        from solartui.errors import SolartuiError
        f = cls()
        for spec in specs:
            key = spec.strip().replace("-", "_")
            if key not in ("garbage", "bad_checksum", "partial", "silent"):
                raise SolartuiError(f"unknown fault '{spec}' for flexmax ({FAULT_HELP})")
            setattr(f, key, True)
        return f


class FlexmaxState:
    """The charge controller's values; `tokens()` is one page without its checksum."""

    def __init__(self, address: str = "A", seed: int | None = None):
        self.address = address
        self.rng = random.Random(seed)
        self.charger_tenths = 205
        self.pv_current = 4
        self.pv_voltage = 143
        self.daily_kwh_tenths = 36
        self.aux = 0
        self.errors = 0
        self.mode = 2
        self.battery_tenths = 274
        self.daily_ah = 82

    def step(self) -> None:
        r = self.rng
        self.pv_voltage = max(0, min(255, self.pv_voltage + r.randint(-2, 2)))
        self.charger_tenths = max(0, min(800, self.charger_tenths + r.randint(-5, 5)))
        self.pv_current = max(0, min(99, self.pv_current + r.randint(-1, 1)))
        if r.random() < 0.1:
            self.daily_kwh_tenths = min(999, self.daily_kwh_tenths + 1)
            self.daily_ah = min(2000, self.daily_ah + 4)

    def tokens(self) -> list[str]:
        whole, tenths = divmod(self.charger_tenths, 10)
        return [self.address, "00", f"{min(whole, 99):02d}", f"{self.pv_current:02d}",
                f"{self.pv_voltage:03d}", f"{self.daily_kwh_tenths:03d}", f"0{tenths}",
                f"{self.aux:02d}", f"{self.errors:03d}", f"{self.mode:02d}",
                f"{self.battery_tenths:03d}", f"{self.daily_ah:04d}", "00"]


class FlexmaxPtyServer:
    def __init__(self, state: FlexmaxState | None = None, *, interval: float = 1.0,
                 faults: FlexmaxFaults | None = None, page_map: PageMap | None = None):
        self.state = state or FlexmaxState()
        self.interval = interval
        self.faults = faults or FlexmaxFaults()
        self.map = page_map or resolve_page_map("outback-flexmax")
        self.rts_low = True
        self.sent = 0
        self.heard = 0            # bytes the client wrote (a listen-only link writes none)
        self.client_path: str | None = None
        self._master: int | None = None
        self._slave: int | None = None
        self._task: asyncio.Task | None = None
        self._out = bytearray()

    async def start(self) -> str:
        if self._task is None:
            self._master, self._slave, self.client_path = open_pty()
            self._task = asyncio.create_task(self._run())
        assert self.client_path is not None
        return self.client_path

    def page(self) -> bytes:
        raw = encode_page(self.map, self.state.tokens())
        if self.faults.bad_checksum:
            tail = int(raw[-4:-1]) + 1
            raw = raw[:-4] + f"{tail % 1000:03d}".encode() + raw[-1:]
        if self.faults.partial and self.sent % 2:
            raw = raw[:30] + raw[-1:]
        if self.faults.garbage:
            raw = bytes(self.state.rng.randrange(256) for _ in range(12)) + raw
        return raw

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self.rts_low and not self.faults.silent and self._master is not None:
                self.state.step()
                pty_write(loop, self._master, self._out, self.page())
                self.sent += 1
            self._drain()
            await asyncio.sleep(self.interval)

    def _drain(self) -> None:
        """Throw away what the client wrote: the device never reads the PC."""
        try:
            self.heard += len(os.read(self._master, 4096))
        except (BlockingIOError, InterruptedError, OSError, TypeError):
            pass

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        loop = asyncio.get_running_loop()
        for fd in (self._master, self._slave):
            if fd is not None:
                try:
                    loop.remove_writer(fd)
                except (ValueError, OSError):
                    pass
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = None

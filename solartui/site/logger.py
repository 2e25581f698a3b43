"""The site logger: poll every device of a site on its period and append one CSV row per pass.

Why it is built from the existing parts: the devices are the same RegisterDevice / Pi30Device the
CLI and the TUI use, on links from one LinkPool, so devices on one RS485 bus share one scheduler
and its pacing (the slowest of their maps), and nothing reaches a port except through it.
Different channels run concurrently; devices on one channel take turns in its queue.

Each device runs on its own schedule, aligned to the start time (slot k at t0 + k x period), so
rows do not drift. A pass that overruns skips to the next free slot. Before each row, the time
since the device's last pass (kept in the state file) is checked: more than 1.5 periods is a gap,
written as a row of empty cells with a note. A device that stops answering gets empty cells and
a note on every row, but only one error-log line when it goes silent and one when it is back.
"""

from __future__ import annotations

import asyncio
import time
from typing import Callable

from solartui.devices.pi30_device import Pi30Device
from solartui.devices.register_device import RegisterDevice
from solartui.devices.sunspec_device import SunSpecByName
from solartui.registers.sunspec import MAP_ID as SUNSPEC_MAP_ID
from solartui.errors import SolartuiError
from solartui.links.pi30_open import open_pi30_link
from solartui.links.pool import LinkPool
from solartui.site.csv_sink import CsvSink, cell, header_for
from solartui.site.error_log import ErrorLog
from solartui.site.log_state import LogState, find_gap
from solartui.site.site_file import Site, SiteDevice
from solartui.safe_open import refuse_link

SILENT = "silent"


class DeviceRun:
    """One device being logged: its driver, its CSV, and whether it is answering."""

    def __init__(self, spec: SiteDevice, device, sink: CsvSink):
        self.spec = spec
        self.device = device
        self.sink = sink
        self.status: object = None          # None: all read; SILENT; or the failed names
        self.late = False                   # passes overrun the period
        self.passes = 0
        self.readings: list | None = None   # the last poll's readings (None: it failed)

    @property
    def name(self) -> str:
        return self.spec.name

    def empty(self) -> list[str]:
        return [""] * len(self.spec.points)

    async def read(self) -> tuple[list[str], str, object]:
        """(cells, note, status) of one poll; raises nothing but a cancellation: a failure of
        this device is its row's note, and the other devices go on."""
        self.readings = None
        try:
            readings = await self.device.poll(list(self.spec.points))
            self.readings = readings
        except asyncio.CancelledError:
            raise
        except (SolartuiError, OSError) as exc:
            return self.empty(), f"no answer: {exc}", SILENT
        except Exception as exc:  # a bug reading one device must not stop the rest of the site
            why = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
            return self.empty(), f"internal error: {why}", SILENT
        cells = [cell(r) for r in readings]
        counted = [r for r in readings if not getattr(r, "absent", False)]
        failed = [r for r in counted if not r.ok]
        if not failed:
            return cells, "", None
        first = failed[0]
        err = first.error or getattr(first.decoded, "error", None) or "no answer"
        if len(failed) == len(counted):
            return cells, f"no answer: {err}", SILENT
        names = ", ".join(r.point.name for r in failed[:3]) + (", ..." if len(failed) > 3 else "")
        return (cells, f"{len(failed)} of {len(counted)} points failed ({names}): {err}",
                frozenset(r.point.name for r in failed))


class SiteLogger:
    """Opens a site's links, devices and files; `once()` or `run(stop)` logs; `close()`."""

    def __init__(self, site: Site, *, echo: bool = True,
                 clock: Callable[[], float] = time.time):
        self.site = site
        self.clock = clock
        self.errors = ErrorLog(site.error_log, echo, clock)
        self.state = LogState(site.name, site.path)
        self.pool = LinkPool()
        self.links: dict[str, object] = {}          # channel key -> its link
        self.runs: list[DeviceRun] = []
        self._own_links: list = []                  # PI30 links (one device per port)
        self._sinks: list[CsvSink] = []
        # `fn(run, when, status)` after every row (the MQTT bridge): only enqueues, never waits
        self.listeners: list[Callable[[DeviceRun, float, object], None]] = []

    # --- opening and closing -------------------------------------------------------------------

    def sinks(self) -> list[CsvSink]:
        return [CsvSink(d.csv, header_for(d.points), d.name) for d in self.site.devices]

    def open(self) -> None:
        """Refuse a CSV header clash before anything is written; then lock, open, connect
        nothing yet (a link opens its port at the first request, and reopens it after a loss)."""
        sinks = self._sinks = self.sinks()
        for sink in sinks:
            sink.check()
        refuse_link(self.site.error_log, "the error log")     # opened with O_NOFOLLOW too
        self.state.lock()
        try:
            self.state.load()
            self.errors.open()
            for sink in sinks:
                sink.open()
            by_name = dict(zip((d.name for d in self.site.devices), sinks))
            for ch in self.site.channels:
                first = ch.devices[0]
                if first.is_broadcast:
                    from solartui.devices.broadcast_device import BroadcastDevice
                    from solartui.links.broadcast import BroadcastListener
                    link = BroadcastListener(ch.target.path, first.map, baud=ch.target.baud)
                    self._own_links.append(link)
                    self.links[ch.key] = link
                    for spec in ch.devices:
                        self.runs.append(DeviceRun(spec, BroadcastDevice(spec.map, link,
                                                                         spec.target),
                                                   by_name[spec.name]))
                    continue
                if first.is_pi30:
                    link = open_pi30_link(ch.target, first.map.link)
                    self._own_links.append(link)
                else:
                    link = self.pool.get(ch.target, first.map.link)
                self.links[ch.key] = link
                for spec in ch.devices:
                    dev = (Pi30Device(spec.map, link) if spec.is_pi30 else
                           SunSpecByName(link, spec.unit) if spec.map.id == SUNSPEC_MAP_ID else
                           RegisterDevice(spec.map, link, spec.unit))
                    self.runs.append(DeviceRun(spec, dev, by_name[spec.name]))
        except BaseException:
            self._close_files()
            raise
        order = {d.name: i for i, d in enumerate(self.site.devices)}
        self.runs.sort(key=lambda r: order[r.name])

    async def close(self) -> None:
        await self.pool.close()
        for link in self._own_links:
            await link.close()
        self._own_links.clear()
        self._close_files()

    def _close_files(self) -> None:
        for sink in self._sinks:
            sink.close()
        self.errors.close()
        self.state.unlock()

    # --- one pass of one device ----------------------------------------------------------------

    async def pass_device(self, run: DeviceRun) -> None:
        """Poll, then write (gap row if one is due, then the row), then remember the pass."""
        now = self.clock()
        gap = find_gap(self.state.last.get(run.name), now, run.spec.period)
        cells, note, status = await run.read()
        if gap is not None:
            run.sink.write(gap.first_missing, run.empty(), gap.note())
            if not run.late:
                self.errors.write(run.name, gap.note(), now)
        run.sink.write(now, cells, note)
        run.passes += 1
        self._status(run, status, note, now)
        self.state.passed(run.name, now)
        for listener in list(self.listeners):
            try:
                listener(run, now, status)
            except Exception as exc:  # a broken sink must not stop the CSV
                self.errors.write(run.name, f"listener failed: {type(exc).__name__}: {exc}", now)

    def _status(self, run: DeviceRun, status: object, note: str, now: float) -> None:
        if status == run.status:
            return
        if status is None:
            self.errors.write(run.name, "answers again" if run.status == SILENT else
                              "every point read again", now)
        else:
            self.errors.write(run.name, note, now)
        run.status = status

    # --- the two modes -------------------------------------------------------------------------

    async def once(self) -> None:
        """One pass over every device (channels concurrently), for cron."""
        results = await asyncio.gather(*(self.pass_device(r) for r in self.runs),
                                       return_exceptions=True)
        for res in results:
            if isinstance(res, BaseException):
                raise res

    async def run(self, stop: asyncio.Event) -> None:
        """Pass after pass until `stop` is set; a CSV that cannot be written ends it (raises)."""
        t0 = time.monotonic()
        tasks = [asyncio.create_task(self._loop(r, t0, stop), name=f"log-{r.name}")
                 for r in self.runs]
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopper and not task.cancelled() and task.exception():
                    raise task.exception()
        finally:
            for task in (*tasks, stopper):
                task.cancel()
            await asyncio.gather(*tasks, stopper, return_exceptions=True)

    async def _loop(self, run: DeviceRun, t0: float, stop: asyncio.Event) -> None:
        period = run.spec.period
        k = 0
        while not stop.is_set():
            delay = t0 + k * period - time.monotonic()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                    return
                except asyncio.TimeoutError:
                    pass
            started = time.monotonic()
            await self.pass_device(run)
            now = time.monotonic()
            k += 1
            if now > t0 + k * period:           # overran: skip to the next free slot
                nxt = int((now - t0) // period) + 1
                if not run.late:
                    self.errors.write(run.name, f"a pass took {now - started:.1f} s, longer than "
                                                f"the {period:g} s period: skipped {nxt - k} "
                                                f"pass{'es' * (nxt - k != 1)}")
                run.late = True
                k = nxt
            elif run.late:
                run.late = False
                self.errors.write(run.name, "passes fit the period again")

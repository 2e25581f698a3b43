"""One scheduler per physical link: the only way bytes reach a device.

Every caller (live poll, register browser, editor, scan, clock) submits a transaction here. The
scheduler runs them one at a time in priority order (writes and clock sets before polls), keeps the
device's minimum command period between the end of one transaction and the start of the next, and
counts what happened. A running transaction is never interrupted: a caller that gives up (cancels)
only abandons the answer; the next transaction still waits for the period.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Protocol

from solartui.errors import ConnectionFailed, DeviceException, LinkBusy, LinkError, NoAnswer
from solartui.links.stats import Frame, FrameSink, LinkStats

PRIORITY_WRITE = 0
PRIORITY_READ = 10
PRIORITY_POLL = 20


class Transport(Protocol):
    """The wire: a pymodbus client, a GivEnergy socket, a PI30 HID device..."""

    description: str

    async def connect(self) -> None: ...
    async def close(self) -> None: ...
    def set_frame_sink(self, sink: Callable[[str, bytes], None] | None) -> None: ...


@dataclass(order=True)
class _Job:
    priority: int
    seq: int
    run: Callable[[Any], Awaitable[Any]] = field(compare=False)
    future: asyncio.Future = field(compare=False)


class LinkScheduler:
    def __init__(self, transport, min_period: float = 0.0, timeout: float = 1.0):
        self.transport = transport
        self.min_period = min_period
        self.timeout = timeout
        self.stats = LinkStats()
        self._queue: asyncio.PriorityQueue[_Job] | None = None
        self._seq = itertools.count()
        self._worker: asyncio.Task | None = None
        self._last_end: float | None = None
        self._sinks: list[FrameSink] = []
        self._rx_in_txn = 0
        self._closed = False
        self.max_queue: int | None = None     # transactions waiting at most; one more: LinkBusy
        self.pending = 0                      # submitted, not yet finished or abandoned
        self.refused = 0                      # refused because `max_queue` were waiting
        # True where every byte received during a transaction is its reply (Modbus); False where
        # the peer also sends unsolicited frames (a datalogger's data records)
        self.rx_is_reply = True
        transport.set_frame_sink(self._on_frame)

    # --- traffic -------------------------------------------------------------------------------

    def add_sink(self, sink: FrameSink) -> None:
        self._sinks.append(sink)

    def remove_sink(self, sink: FrameSink) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)

    def _on_frame(self, direction: str, data: bytes) -> None:
        if direction == "rx" and self.rx_is_reply:
            self._rx_in_txn += len(data)
        frame = Frame(direction, time.time(), bytes(data))
        for sink in list(self._sinks):
            sink(frame)

    # --- submitting ----------------------------------------------------------------------------

    async def submit(self, run: Callable[[Any], Awaitable[Any]], priority: int = PRIORITY_READ):
        """Queue `run(transport)` and wait for its result (or its LinkError)."""
        if self._closed:
            raise ConnectionFailed(f"{self.transport.description}: link is closed")
        if self.max_queue is not None and self.pending >= self.max_queue:
            self.refused += 1
            raise LinkBusy(f"{self.transport.description}: {self.pending} commands already "
                           "wait; try again later")
        if self._queue is None:
            self._queue = asyncio.PriorityQueue()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._work(), name="link-worker")
        if self.max_queue is not None and self._queue.qsize() > 2 * self.max_queue:
            self._purge_abandoned()
        future = asyncio.get_running_loop().create_future()
        self.pending += 1
        future.add_done_callback(self._job_done)
        # a caller that goes away cancels `future`: the worker skips it, nothing is sent
        await self._queue.put(_Job(priority, next(self._seq), run, future))
        return await future

    def _job_done(self, _future) -> None:
        self.pending -= 1

    def _purge_abandoned(self) -> None:
        """Drop jobs whose callers went away while one transaction ran (they are skipped
        anyway): the queue stays as small as the jobs still wanted."""
        assert self._queue is not None
        keep = []
        while not self._queue.empty():
            job = self._queue.get_nowait()
            if not job.future.done():
                keep.append(job)
        for job in keep:
            self._queue.put_nowait(job)

    async def _work(self) -> None:
        assert self._queue is not None
        # (not `while True`: pymodbus can turn the cancel of close() into an I/O error, and a
        # worker that swallowed it would wait on the queue for ever, and close() with it)
        while not self._closed:
            job = await self._queue.get()
            if self._last_end is not None and self.min_period > 0:
                wait = self._last_end + self.min_period - time.monotonic()
                if wait > 0:
                    # wait out the period with the job back in the queue, so a write that
                    # arrives meanwhile still goes first
                    self._queue.put_nowait(job)
                    await asyncio.sleep(wait)
                    job = self._queue.get_nowait()
            if job.future.cancelled():
                continue
            await self._run(job)

    async def _run(self, job: _Job) -> None:
        self.stats.requests += 1
        self._rx_in_txn = 0
        start = time.monotonic()
        try:
            result = await job.run(self.transport)
        except NoAnswer as exc:
            if self._rx_in_txn:
                self.stats.bad_frames += 1
                self.stats.errors += 1
                exc = NoAnswer(f"{exc} ({self._rx_in_txn} bytes arrived but were not a valid "
                               "reply: bad CRC or framing)")
            else:
                self.stats.timeouts += 1
            self._finish(job, start, exc=exc)
        except DeviceException as exc:
            self.stats.replies += 1
            self.stats.errors += 1
            self._finish(job, start, exc=exc, answered=True)
        except LinkError as exc:
            self.stats.errors += 1
            self._finish(job, start, exc=exc)
        except asyncio.CancelledError:
            self._finish(job, start, exc=ConnectionFailed("link closed mid-transaction"))
            raise
        except Exception as exc:        # noqa: BLE001 — the job's own refusal (a journal that
            # cannot be written stops a write before its frame) or its bug: that caller hears it,
            # and the worker lives on for every other caller of the link
            self._finish(job, start, exc=exc)
        else:
            self.stats.replies += 1
            self._finish(job, start, result=result, answered=True)

    def _finish(self, job: _Job, start: float, *, result=None, exc: Exception | None = None,
                answered: bool = False) -> None:
        end = time.monotonic()
        self._last_end = end
        self.stats.windows.append((start, end))
        if answered:
            self.stats.last_latency = end - start
            self.stats.total_latency += end - start
        if job.future.done():
            return
        if exc is not None:
            job.future.set_exception(exc)
        else:
            job.future.set_result(result)

    async def close(self, reason: str = "link closed") -> None:
        """Stop; queued transactions fail with ConnectionFailed(reason)."""
        self._closed = True
        if self._worker is not None:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
            self._worker = None
        if self._queue is not None:
            while not self._queue.empty():
                job = self._queue.get_nowait()
                if not job.future.done():
                    job.future.set_exception(ConnectionFailed(reason))
        await self.transport.close()


class LinkFront:
    """A link as devices see it: one transport behind one LinkScheduler. Subclasses (Modbus,
    GivEnergy, PI30) add the operations their devices need, each submitted to the scheduler."""

    transport: Transport
    scheduler: LinkScheduler

    @property
    def description(self) -> str:
        return self.transport.description

    @property
    def stats(self) -> LinkStats:
        return self.scheduler.stats

    @property
    def min_period(self) -> float:
        return self.scheduler.min_period

    def add_sink(self, sink: FrameSink) -> None:
        self.scheduler.add_sink(sink)

    async def close(self) -> None:
        await self.scheduler.close()

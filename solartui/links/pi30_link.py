"""A PI30 link: one LinkScheduler in front of one PI30 transport (serial, hidraw or pyusb).

Every command goes through the scheduler, so pacing (min_period between the end of one command and
the start of the next), priorities (setters before polls), counters and the frame trace hold for
every caller. A transport here is anything with the scheduler's Transport protocol plus

    async def exchange(self, request: bytes, timeout: float | None = None) -> bytes

which sends one request frame and returns the raw reply bytes (NoAnswer on silence).
"""

from __future__ import annotations

from typing import Protocol

from solartui.errors import NoAnswer
from solartui.links.scheduler import (
    PRIORITY_READ,
    PRIORITY_WRITE,
    LinkFront,
    LinkScheduler,
    Transport,
)
from solartui.links.stats import FrameSink
from solartui.pi30.codec import (
    DEFAULT_TIMING,
    Pi30Timing,
    Response,
    encode_request,
    parse_response,
)
from solartui.pi30.errors import Pi30FrameError, Pi30Garbled, Pi30Nak, _show


class Pi30Transport(Transport, Protocol):
    async def exchange(self, request: bytes, timeout: float | None = None) -> bytes: ...


class Pi30Link(LinkFront):
    """query() for Q... commands, send() for setters; both return a parsed Response."""

    def __init__(self, transport: Pi30Transport, *, timing: Pi30Timing | None = None,
                 target=None):
        self.transport = transport
        self.target = target            # the Target it was opened from, when there is one
        self.timing = timing or getattr(transport, "timing", None) or DEFAULT_TIMING
        self.scheduler = LinkScheduler(transport, min_period=self.timing.min_period,
                                       timeout=self.timing.timeout)

    def remove_sink(self, sink: FrameSink) -> None:
        self.scheduler.remove_sink(sink)

    async def connect(self, priority: int = PRIORITY_READ) -> None:
        """Open the device now (through the queue) so a permission or busy error shows early."""
        async def run(transport):
            await transport.connect()
        await self.scheduler.submit(run, priority)

    async def request(self, command: str, *, timeout: float | None = None,
                      priority: int = PRIORITY_READ, retries: int = 0,
                      build=None) -> Response:
        """Send `command`, return whatever parsed reply came (ACK, NAK or data).

        Raises NoAnswer, Pi30NotSupported (echo), Pi30OtherProtocol, a Pi30Garbled subclass,
        or a ConnectionFailed. With `retries`, silence and garbled replies are retried (each
        attempt queued anew, so pacing applies and the stale input is drained). `build` (async,
        returns a command like `command`) is awaited inside the transaction after the pacing
        wait and sent instead: a clock set takes its time as the frame goes out."""
        frame = encode_request(command)          # Pi30CommandError before anything is queued
        t = self.timing.timeout if timeout is None else timeout

        async def run(transport) -> Response:
            sent, data = command, frame
            if build is not None:
                sent = await build()
                data = encode_request(sent)
            raw = await transport.exchange(data, t)
            return parse_response(raw, sent)

        for attempt in range(retries + 1):
            try:
                return await self.scheduler.submit(run, priority)
            except (NoAnswer, Pi30Garbled):
                if attempt == retries:
                    raise
        raise AssertionError("unreachable")

    async def query(self, command: str, *, timeout: float | None = None,
                    priority: int = PRIORITY_READ, retries: int = 0) -> Response:
        """A query: a (NAK reply raises Pi30Nak (the unit does not support it or refuses)."""
        response = await self.request(command, timeout=timeout, priority=priority,
                                      retries=retries)
        if response.is_nak:
            raise Pi30Nak(f"{command}: the device answered NAK (not supported or refused)",
                          response.frame, command=command)
        return response

    async def send(self, command: str, *, timeout: float | None = None,
                   priority: int = PRIORITY_WRITE, build=None) -> Response:
        """A setter, never retried: returns the Response, whose is_ack / is_nak tell the outcome.
        A reply that is neither raises Pi30FrameError. ACK is not proof: read the value back.
        `build`: see request()."""
        response = await self.request(command, timeout=timeout, priority=priority, build=build)
        if not (response.is_ack or response.is_nak):
            raise Pi30FrameError(f"{command}: expected ACK or NAK, got {_show(response.frame)}",
                                 response.frame)
        return response

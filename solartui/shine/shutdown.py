"""Stopping `serve` fast and honestly: within 2 s whatever the load, no write's outcome lost.

Why: systemd sends SIGTERM and waits (then SIGKILL); a person presses ctrl+c and expects the
prompt back. Under a flood the old shutdown took 24 s, and a write on the wire at that moment
could end with the device changed and no outcome journalled. The steps, in order:

1. stop accepting on both ports; every new HTTP request is answered 503;
2. no further step of any confirmed run of writes is sent (devices/gate.py `request_stop`: those
   are journalled "not sent"), and API reads still pending are answered 503 at once;
3. a write already on the wire gets up to `grace` seconds (ServerLimits.stop_grace, 1.5 s) to
   hear its reply and journal its outcome — the datalogger connections stay open for that; a
   second signal skips the wait;
4. a write still unfinished is cancelled: its intent, fsynced before its frame went out, stays in
   the journal as "outcome unknown — interrupted" (the truth: nobody knows whether it landed),
   and its HTTP caller gets 503;
5. the HTTP server and every datalogger socket are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time

from solartui.devices import gate

log = logging.getLogger("solartui.shine")

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stopper:
    """The stop signals of a serving process: the first asks for a stop, a second abandons the
    grace given to writes on the wire."""

    def __init__(self) -> None:
        self.requested = asyncio.Event()
        self.abandon = asyncio.Event()
        self.signal_name: str | None = None

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        for sig in SIGNALS:
            try:
                loop.add_signal_handler(sig, self._on_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass

    def _on_signal(self, sig: int) -> None:
        name = "ctrl+c" if sig == signal.SIGINT else signal.Signals(sig).name
        if self.requested.is_set():
            log.warning("%s again: not waiting for writes on the wire", name)
            self.abandon.set()
            return
        self.signal_name = name
        self.requested.set()

    async def wait(self) -> None:
        await self.requested.wait()


async def shut_down(server, api, *, grace: float | None = None,
                    abandon: asyncio.Event | None = None, why: str = "serve is stopping") -> dict:
    """Stop `api` (an HttpApi, or None) and `server` (a ShineServer) in the order above; returns
    what happened (for the log and the tests)."""
    started = time.monotonic()
    grace = server.limits.stop_grace if grace is None else grace
    server.stop_accepting()
    if api is not None:
        await api.stop_accepting()
    gate.request_stop(f"{why} before it")
    done = {"reads_refused": api.refuse(("GET",)) if api is not None else 0,
            "writes_waited": 0, "writes_interrupted": 0, "puts_refused": 0}
    try:
        flights = gate.in_flight()
        tasks = [f.task for f in flights if f.task is not None]
        if tasks:
            done["writes_waited"] = len(tasks)
            log.info("stopping: waiting up to %.1f s for %s to reach its outcome", grace,
                     "; ".join(f.describe() for f in flights))
            waiters = [asyncio.ensure_future(asyncio.wait(tasks))]
            if abandon is not None:
                waiters.append(asyncio.ensure_future(abandon.wait()))
            _, pending = await asyncio.wait(waiters, timeout=max(0.0, grace),
                                            return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()
            left = [t for t in tasks if not t.done()]
            if left and api is not None:  # their callers get 503 before the writes end
                done["puts_refused"] = api.refuse(("PUT",))
                await asyncio.sleep(0)
            for t in left:
                t.cancel()               # its intent stays: "outcome unknown — interrupted"
            if left:
                done["writes_interrupted"] = len(left)
                log.warning("stopping: %d write(s) did not reach an outcome within %.1f s; the "
                            "journal keeps them as interrupted", len(left), grace)
                with contextlib.suppress(Exception):
                    await asyncio.wait(left, timeout=0.2)
        if api is not None:
            answering = api.active(("PUT",))
            if answering:                # writes that ended: their callers are being answered
                await asyncio.wait(answering, timeout=0.2)
            done["puts_refused"] += api.refuse(("GET", "PUT"))
            await asyncio.sleep(0)       # the refused handlers write their 503s
            await api.stop()
        await server.stop()
    finally:
        gate.request_stop(None)          # this process is done with it (tests serve again)
    done["seconds"] = round(time.monotonic() - started, 3)
    log.info("stopped in %.2f s (%d read(s) answered 503, %d write(s) waited for, %d "
             "interrupted)", done["seconds"], done["reads_refused"], done["writes_waited"],
             done["writes_interrupted"])
    return done

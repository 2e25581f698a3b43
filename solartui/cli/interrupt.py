"""Ctrl+c and SIGTERM in a CLI command, without losing a write's outcome.

Outside a write, ctrl+c (or SIGTERM) ends the command at once with one line on stderr. While a
confirmed write is on its way (devices/gate.py: `in_flight`), ending there would leave a device
changed and nobody told, so the first signal only says what is being waited for: the write
reaches its outcome, which is journalled and printed, no further step is sent, and the command
then exits with a message. A second ctrl+c abandons it at once, saying which point and value it
leaves; its intent record stays in the journal, which shows it as "outcome unknown —
interrupted". Exit status 130 (ctrl+c) or 143 (SIGTERM), never without a line saying why.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading

from solartui.devices import gate

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _name(signum: int) -> str:
    return "ctrl+c" if signum == signal.SIGINT else signal.Signals(signum).name


def _say(line: str) -> None:
    """Straight to the descriptor: safe inside a signal handler, whatever Python was printing."""
    try:
        os.write(2, (line + "\n").encode("utf-8", errors="replace"))
    except OSError:
        pass


class Guard:
    """The signal handlers of one command run (installed around asyncio.run)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.main: asyncio.Task | None = None
        self.waited = False         # a write was in flight when the first signal came

    def handle(self, signum, _frame) -> None:
        flights = gate.in_flight()
        if not flights or self.loop is None:
            if self.signum is None:
                self.signum = signum
            raise KeyboardInterrupt
        what = "; ".join(f.describe() for f in flights)
        if self.signum is None:
            self.signum, self.waited = signum, True
            _say(f"solartui: {_name(signum)}: waiting for the write of {what} to reach its "
                 "outcome, then stopping (ctrl+c again abandons it)")
            self.loop.call_soon_threadsafe(self._stop_after_writes, _name(signum))
            return
        _say(f"solartui: {_name(signum)} again: abandoning the write of {what} — its outcome is "
             "unknown; the journal keeps it as interrupted (read the point back to see whether "
             "it landed)")
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # pylint: disable=broad-except  # mid-write: nothing to save
                pass
        os._exit(128 + self.signum)

    def _stop_after_writes(self, why: str) -> None:
        gate.request_stop(f"stopped by {why} before it")
        flights = gate.in_flight()
        if not flights:
            self._end()
            return
        for f in flights:
            if f.task is not None:
                f.task.add_done_callback(lambda _t: self._end() if not gate.in_flight() else None)

    def _end(self) -> None:
        if self.main is not None and not self.main.done():
            self.main.cancel()

    def message(self) -> str:
        how = _name(self.signum) if self.signum is not None else "interrupted"
        if self.waited:
            return f"solartui: stopped by {how} after the write's outcome was journalled"
        return "solartui: interrupted" if self.signum in (None, signal.SIGINT) else \
            f"solartui: stopped by {how}"

    def status(self) -> int:
        return 128 + (self.signum or signal.SIGINT)


def run_guarded(coro):
    """asyncio.run(coro) with the guard's handlers; a stop ends in one line and 130/143."""
    guard = Guard()

    async def main():
        guard.loop = asyncio.get_running_loop()
        guard.main = asyncio.current_task()
        return await coro

    installed = {}
    if threading.current_thread() is threading.main_thread():
        for sig in SIGNALS:
            try:
                installed[sig] = signal.signal(sig, guard.handle)
            except (ValueError, OSError):
                pass
    try:
        result = asyncio.run(main())
    except (KeyboardInterrupt, asyncio.CancelledError):
        if guard.signum is None and not isinstance(sys.exc_info()[1], KeyboardInterrupt):
            raise
        _say(guard.message())
        raise SystemExit(guard.status()) from None
    except Exception:
        if guard.waited:                # e.g. the write it waited for was not verified
            _say(guard.message())
        raise
    finally:
        for sig, previous in installed.items():
            try:
                signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
            except (ValueError, OSError):
                pass
    if guard.signum is not None:        # it ended by itself just as the stop came
        _say(guard.message())
        raise SystemExit(guard.status())
    return result

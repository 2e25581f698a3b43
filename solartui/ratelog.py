"""Log lines that an attacker (or a broken device) can trigger at will, at most a few per interval.

Why: a flood of bad frames, refused claims or accept errors must not become a flood of log lines
(one audit found 374,267 tracebacks in 25 s, another ~1M lines from one connection). Each *kind*
of line gets `burst` lines per `interval`; what is held back is counted and said in the next line
of that kind ("… and 4,211 more like it in the last 10 s"), so nothing is silently hidden.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable


@dataclass
class _Window:
    started: float
    shown: int = 0
    held: int = 0


class RateLimitedLog:
    def __init__(self, logger: logging.Logger, interval: float = 10.0, burst: int = 1,
                 clock: Callable[[], float] = time.monotonic, max_kinds: int = 256):
        self.logger = logger
        self.interval = interval
        self.burst = burst
        self.clock = clock
        self.max_kinds = max_kinds          # kinds are few and fixed; this bounds a misuse
        self._windows: dict[str, _Window] = {}
        self.suppressed = 0                 # lines held back, all kinds, ever

    def log(self, level: int, kind: str, msg: str, *args, burst: int | None = None) -> bool:
        """Emit `msg % args` unless `kind` has used its lines this interval; True if emitted."""
        now = self.clock()
        w = self._windows.get(kind)
        if w is None or now - w.started >= self.interval:
            held = w.held if w is not None else 0
            if w is None and len(self._windows) >= self.max_kinds:
                self._windows.pop(next(iter(self._windows)))
            w = self._windows[kind] = _Window(now)
            if held:
                msg += f" (and {held:,} more like it in the last {self.interval:g} s)"
        if w.shown >= (self.burst if burst is None else burst):
            w.held += 1
            self.suppressed += 1
            return False
        w.shown += 1
        self.logger.log(level, msg, *args)
        return True

    def warning(self, kind: str, msg: str, *args, **kw) -> bool:
        return self.log(logging.WARNING, kind, msg, *args, **kw)

    def info(self, kind: str, msg: str, *args, **kw) -> bool:
        return self.log(logging.INFO, kind, msg, *args, **kw)

    def flush(self) -> None:
        """Say what is still held back (at shutdown, or from housekeeping)."""
        now = self.clock()
        for kind, w in list(self._windows.items()):
            if w.held and now - w.started >= self.interval:
                self.logger.warning("%s: %d more like it in the last %.0f s", kind, w.held,
                                    now - w.started)
                del self._windows[kind]

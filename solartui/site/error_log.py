"""The site's error log: one line per event (time, device, message), echoed to stderr.

Why one line per change and not per period: a device that stays silent overnight should leave two
lines (went silent, answers again), not six hundred; the CSV's note column has the per-row detail.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Callable

from solartui.errors import SolartuiError
from solartui.safe_open import open_nofollow
from solartui.site.csv_sink import iso


class ErrorLog:
    def __init__(self, path: Path, echo: bool = True, clock: Callable[[], float] = time.time):
        self.path = path
        self.echo = echo
        self.clock = clock
        self.lines = 0
        self._file = None

    def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open_nofollow(self.path, "a", what="the error log", encoding="utf-8")
        except OSError as exc:          # UnsafePath is no OSError: it keeps its own message
            raise SolartuiError(f"cannot write the error log {self.path}: "
                                f"{exc.strerror}") from None

    def write(self, device: str, message: str, when: float | None = None) -> None:
        line = f"{iso(self.clock() if when is None else when)} {device} {message}"
        if self._file is not None:
            try:
                self._file.write(line + "\n")
                self._file.flush()
                os.fsync(self._file.fileno())
            except OSError as exc:
                raise SolartuiError(f"cannot write the error log {self.path}: "
                                    f"{exc.strerror}") from None
        self.lines += 1
        if self.echo:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

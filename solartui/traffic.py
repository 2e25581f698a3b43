"""The traffic log: every frame on a link and every write outcome, in order, for people.

Kept in memory (bounded), observable (the TUI's traffic pane subscribes), and savable to a file.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from solartui.errors import SolartuiError
from solartui.links.stats import Frame


@dataclass(frozen=True)
class Note:
    """Something that is not a frame: a write outcome, a connection change."""

    time: float
    text: str

    def __str__(self) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(self.time)) + f".{int(self.time % 1 * 1000):03d}"
        return f"{stamp} -- {self.text}"


Entry = Frame | Note


class TrafficLog:
    def __init__(self, limit: int = 5000):
        self.entries: deque[Entry] = deque(maxlen=limit)
        self._listeners: list[Callable[[Entry], None]] = []

    def subscribe(self, listener: Callable[[Entry], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[Entry], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _add(self, entry: Entry) -> None:
        self.entries.append(entry)
        for listener in list(self._listeners):
            listener(entry)

    def frame(self, frame: Frame) -> None:
        self._add(frame)

    def note(self, text: str) -> None:
        self._add(Note(time.time(), text))

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text("".join(f"{e}\n" for e in self.entries), encoding="utf-8")
        except OSError as exc:
            raise SolartuiError(f"cannot save the traffic log to {p}: {exc.strerror}") from None
        return p

"""Typed messages that workers post and screens turn into widget updates."""

from __future__ import annotations

from textual.message import Message


class Polled(Message):
    """One pass over the live points finished."""

    def __init__(self, readings: list, seconds: float) -> None:
        super().__init__()
        self.readings = readings
        self.seconds = seconds


class LinkDown(Message):
    """A whole pass failed: the device is silent or the port is gone; the poller retries."""

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason

"""The garbage cool-down: an address just closed for garbage is refused for a while, before
anything is built or read for it.

Why: a flooder reconnects as soon as it is closed (1,150 times a second in bench/shine_flood.py);
each reconnect that is read costs a 64 KiB read and a resync before its budget runs out, and that
churn alone lifted the legitimate API's p99 from 28 to 89 ms. Refused at accept, a reconnect costs
an accept and a close. A real datalogger never sends garbage; one behind the same address as a
flooder (NAT) waits out the cool-down like it (`--garbage-cooldown 0` turns it off).
"""

from __future__ import annotations

import time

COOLING_MAX = 65536         # addresses remembered at once: bounded whatever the spread


class GarbageCooldown:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self._until: dict[str, float] = {}

    def cooling(self, ip: str) -> bool:
        """True while `ip` is cooling down (the caller refuses the connection)."""
        if not self._until:
            return False
        until = self._until.get(ip)
        if until is None:
            return False
        if time.monotonic() >= until:
            del self._until[ip]
            return False
        return True

    def start(self, ip: str) -> None:
        """`ip` was just closed for garbage."""
        if self.seconds <= 0:
            return
        if len(self._until) >= COOLING_MAX:
            now = time.monotonic()
            self._until = {a: t for a, t in self._until.items() if t > now}
            if len(self._until) >= COOLING_MAX:
                self._until.clear()
        self._until[ip] = time.monotonic() + self.seconds

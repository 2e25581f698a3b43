"""When to send a clock value: at the sub-second instant its whole second is the host's time.

Why: a device clock takes whole seconds. A value built by truncating the host time and then held
back by the link's pacing lands up to two seconds behind. Built instead inside the link's
transaction (after the pacing wait) at the moment the frame will reach the device on a whole
second, the written second equals the host time at arrival to within the scheduling jitter.

Every clock set (Modbus registers, GivEnergy, PI30 DAT, Shine datalogger register 31) goes through
wait_for_second() here; the caller builds its frame from the TimedClock it returns and sends at once.
"""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from datetime import datetime, tzinfo

MAX_TRANSIT = 0.5           # a one-way estimate above this is a stale or odd measurement


@dataclass(frozen=True)
class TimedClock:
    """One clock value as sent: the whole second written (POSIX), when the frame left the host
    (host time.time()) and the expected one-way transit to the device."""

    second: int
    sent_at: float
    transit: float

    @property
    def arrival(self) -> float:
        """Host time at which the device is expected to take the value."""
        return self.sent_at + self.transit

    @property
    def residual(self) -> float:
        """Device minus host right after the set (seconds): what the set itself leaves."""
        return self.second - self.arrival

    def written(self, zone: tzinfo | None = None) -> datetime:
        """The written second as a datetime: naive local time, or aware in `zone`."""
        return datetime.fromtimestamp(self.second, zone)


def transit_estimate(stats) -> float:
    """One-way time to the device: half the link's last answered round trip (a clock set is
    always preceded by a clock read on the same link), 0 when nothing was measured yet."""
    rtt = getattr(stats, "last_latency", None)
    if rtt is None or rtt <= 0:
        return 0.0
    return min(rtt / 2, MAX_TRANSIT)


async def wait_for_second(transit: float = 0.0, *, clock=time.time) -> TimedClock:
    """Sleep until host time + transit reaches a whole second; that second is the value to send.

    Call it inside the link's transaction, after the pacing wait, and send the frame at once.
    The second is taken from the time after the sleep (rounded), so a late wake-up still writes
    the second the frame arrives in.
    """
    ahead = clock() + transit
    wait = math.ceil(ahead) - ahead
    if wait > 0.001:
        await asyncio.sleep(wait)
    now = clock()
    return TimedClock(round(now + transit), now, transit)


def second_now(transit: float = 0.0, *, clock=time.time) -> TimedClock:
    """The whole second current when a frame sent now arrives, without waiting (for fields of a
    clock written one register at a time that do not carry the seconds)."""
    now = clock()
    return TimedClock(math.floor(now + transit), now, transit)


def offset_after(timed: TimedClock, device: datetime, host: datetime) -> float:
    """How far a whole-second clock reading `device`, taken at `host`, is from what the set left
    (0: the device kept the written time). The device's true time lies in [device, device + 1 s):
    its middle is compared."""
    expected = timed.second + (host.timestamp() - timed.arrival)
    return device.timestamp() + 0.5 - expected

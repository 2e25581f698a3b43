"""The publisher's bounded queue: producers never wait, memory never grows without limit.

Why drop-oldest: while the broker is away (or slow) the newest readings are the ones worth
sending when it is back; a full queue forgets the oldest message, counts it, and the publisher
says so in a rate-limited log line. `put` is synchronous and O(1), so the server's record path
and the site logger's pass can call it without ever awaiting the broker.
"""

from __future__ import annotations

import asyncio
from collections import deque

from solartui.mqtt.model import Message


class DropOldestQueue:
    def __init__(self, maxsize: int = 10_000):
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._items: deque[Message] = deque()
        self._ready = asyncio.Event()
        self.put_count = 0          # messages offered, ever
        self.dropped = 0            # ... forgotten because the queue was full

    def __len__(self) -> int:
        return len(self._items)

    def put(self, msg: Message) -> bool:
        """Enqueue without waiting; True if an older message had to be dropped for it."""
        self.put_count += 1
        dropped = False
        if len(self._items) >= self.maxsize:
            self._items.popleft()
            self.dropped += 1
            dropped = True
        self._items.append(msg)
        self._ready.set()
        return dropped

    def put_back(self, msg: Message) -> None:
        """A message that could not be sent goes back to the front (if there is room)."""
        if len(self._items) < self.maxsize:
            self._items.appendleft(msg)
            self._ready.set()
        else:
            self.dropped += 1

    def wake(self) -> None:
        """Wake a `wait` with nothing queued (the discovery backlog has work)."""
        self._ready.set()

    async def wait(self) -> None:
        """Until something is put, or `wake` is called. Call it only after finding the queue
        empty, with no await in between (a wake before the clear would be lost otherwise)."""
        self._ready.clear()
        await self._ready.wait()

    async def get(self) -> Message:
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def get_nowait(self) -> Message | None:
        return self._items.popleft() if self._items else None

"""Accept errors in one line per interval, not one traceback per failed accept().

Why: out of descriptors (EMFILE), asyncio's accept loop calls the loop's exception handler once
per pending connection, each time with a traceback: 374,267 of them in 25 s filled 166 MB of log
at systemd's default limit. The guard sits in front of the loop's handler, turns
"socket.accept() out of system resource" into a rate-limited line with a count, and hands every
other context to the handler that was there before (asyncio itself retries the accept 1 s later).
"""

from __future__ import annotations

import asyncio

from solartui.ratelog import RateLimitedLog

ACCEPT_MESSAGE = "socket.accept() out of system resource"


class AcceptGuard:
    def __init__(self, loop: asyncio.AbstractEventLoop, ratelog: RateLimitedLog):
        self.loop = loop
        self.ratelog = ratelog
        self.count = 0
        self._previous = loop.get_exception_handler()
        loop.set_exception_handler(self._handle)

    def _handle(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
        if context.get("message") == ACCEPT_MESSAGE:
            self.count += 1
            exc = context.get("exception")
            self.ratelog.warning("accept", "cannot accept connections: %s (descriptor limit "
                                 "reached? retrying every second)", exc)
            return
        if self._previous is not None:
            self._previous(loop, context)
        else:
            loop.default_exception_handler(context)

    def remove(self) -> None:
        """Put the previous handler back (if nobody replaced ours meanwhile)."""
        if self.loop.get_exception_handler() == self._handle:
            self.loop.set_exception_handler(self._previous)

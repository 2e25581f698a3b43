"""The helpers behind the server's limits: the rate-limited log, the bounded register store, and
descriptor exhaustion in a real process (a low RLIMIT_NOFILE, real loopback connections)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import sys
import textwrap

from conftest import ROOT
from solartui.ratelog import RateLimitedLog
from solartui.shine.bounded import ENTRY_COST, Budget, BoundedStore


def test_rate_limited_log_says_one_line_per_kind_per_interval_with_counts(caplog):
    caplog.set_level(logging.INFO, logger="test.ratelog")
    now = [0.0]
    rl = RateLimitedLog(logging.getLogger("test.ratelog"), interval=10, clock=lambda: now[0])
    for i in range(1000):
        rl.warning("flood", "bad frame %d", i)
        rl.warning("other", "other thing")
    assert [r.getMessage() for r in caplog.records] == ["bad frame 0", "other thing"]
    now[0] = 10.5
    rl.warning("flood", "bad frame %d", 1000)
    assert caplog.records[-1].getMessage() == ("bad frame 1000 (and 999 more like it in the "
                                               "last 10 s)")
    now[0] = 30
    rl.flush()                                         # "other" still held 999: said at flush
    assert "other: 999 more like it" in caplog.records[-1].getMessage()
    assert rl.suppressed == 1998


def test_bounded_store_drops_the_oldest_and_charges_the_budget():
    budget = Budget(total=10 * (ENTRY_COST + 10))
    a = BoundedStore(budget, max_entries=4)
    b = BoundedStore(budget, max_entries=100, max_bytes=3 * (ENTRY_COST + 10))
    for i in range(10):
        a[i] = b"0123456789"
    assert list(a) == [6, 7, 8, 9] and budget.dropped == 6
    b.update({i: b"0123456789" for i in range(5)})
    assert list(b) == [2, 3, 4] and budget.used == 7 * (ENTRY_COST + 10)
    b[2] = b"0123456789"                               # set again: now the newest
    assert list(b) == [3, 4, 2]
    b[99] = b"x" * 10_000                              # bigger than its whole allowance
    assert 99 not in b
    a.clear()
    b.pop(3)
    assert budget.used == 2 * (ENTRY_COST + 10)


SERVER = textwrap.dedent("""
    import asyncio, json, logging, os, resource, sys
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    logging.basicConfig(stream=sys.stderr, level=logging.INFO)
    from solartui.shine.limits import ServerLimits
    from solartui.shine.server import ShineServer

    async def main():
        derived = ShineServer(sync_on_announce=False)                  # cap from the limit
        fixed = ShineServer(sync_on_announce=False, limits=ServerLimits(connections=10_000))
        ports = [await derived.start("127.0.0.1", 0), await fixed.start("127.0.0.1", 0)]
        print(json.dumps(ports), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        print(json.dumps({"derived": [derived.max_connections, len(derived._conns),
                                      derived.counters["connections_refused"]],
                          "accept_errors": fixed._accept_guard.count}), flush=True)
        sys.stderr.flush()
        os._exit(0)          # what is measured ends here, not in the teardown of 120 sockets
    asyncio.run(main())
""")


async def test_out_of_descriptors_is_one_line_not_a_traceback_storm():
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SERVER, cwd=ROOT, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    socks: list[socket.socket] = []
    try:
        derived, fixed = json.loads(await asyncio.wait_for(proc.stdout.readline(), 20))
        for port in (derived, fixed):
            for _ in range(60):
                s = socket.socket()
                s.setblocking(False)
                socks.append(s)
                try:
                    s.connect(("127.0.0.1", port))
                except BlockingIOError:
                    pass
            await asyncio.sleep(0.3)                   # let the server accept (and fail to)
        proc.stdin.write(b"report\n")
        await proc.stdin.drain()
        report = json.loads(await asyncio.wait_for(proc.stdout.readline(), 10))
    finally:
        for s in socks:
            s.close()
        with contextlib.suppress(ProcessLookupError):      # it may have ended already
            proc.kill()
        _out, err = await proc.communicate()
    text = err.decode(errors="replace")
    cap, open_now, refused = report["derived"]
    assert cap == 16 and open_now <= 16 and refused >= 30      # the rest still refused
    assert report["accept_errors"] > 1                 # it did run out, many times ...
    assert text.count("cannot accept connections") == 1   # ... said once,
    assert "Traceback" not in text and "out of system resource" not in text   # no storm

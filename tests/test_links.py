"""The link scheduler against the simulator: pacing, priority, cancellation, counters, trace."""

from __future__ import annotations

import asyncio

import pytest

from solartui.errors import ConnectionFailed, DeviceException, NoAnswer
from solartui.links.pool import LinkPool
from solartui.links.scheduler import PRIORITY_POLL, PRIORITY_WRITE
from solartui.links.target import parse_target
from solartui.sim.modbus_server import Faults, ModbusSimulator
from solartui.sim.register_bank import RegisterBank
from solartui.sim.serial_wire import serve_on_pty

GROWATT_PERIOD = 0.850


@pytest.fixture
async def tcp_link(growatt_map):
    """A link to a simulated Growatt inverter with the map's own pacing (850 ms)."""
    faults = Faults()
    sim = ModbusSimulator([RegisterBank(growatt_map, unit=1)], faults=faults)
    port = await sim.start_tcp("127.0.0.1", 0)
    pool = LinkPool()
    link = pool.get(parse_target(f"tcp://127.0.0.1:{port}?unit=1&timeout=300"), growatt_map.link)
    link.faults = faults
    yield link
    await pool.close()
    await sim.stop()


def gaps_from_trace(frames):
    """Time from each reply (rx) to the next request (tx), from the frame trace."""
    out, last_rx = [], None
    for f in frames:
        if f.direction == "rx":
            last_rx = f.time
        elif last_rx is not None:
            out.append(f.time - last_rx)
            last_rx = None
    return out


async def test_growatt_pacing_never_below_850ms(tcp_link):
    assert tcp_link.min_period == GROWATT_PERIOD
    frames = []
    tcp_link.scheduler.add_sink(frames.append)
    # three callers at once, as the live screen, the editor and the clock would
    await asyncio.gather(*(tcp_link.read(4, 1, a, 10) for a in (0, 20, 40)),
                         tcp_link.read(3, 1, 0, 5))
    gaps = [b[0] - a[1] for a, b in zip(tcp_link.stats.windows, list(tcp_link.stats.windows)[1:])]
    assert len(gaps) == 3
    assert min(gaps) >= GROWATT_PERIOD
    assert max(gaps) < GROWATT_PERIOD + 0.3          # no sleeps beyond the period
    trace_gaps = gaps_from_trace(frames)
    assert len(trace_gaps) == 3 and min(trace_gaps) >= GROWATT_PERIOD


async def test_pacing_holds_after_timeouts_and_errors(tcp_link):
    tcp_link.faults.silent = True
    with pytest.raises(NoAnswer):
        await tcp_link.read(4, 1, 0, 1)
    tcp_link.faults.silent = False
    tcp_link.faults.exception = 2
    with pytest.raises(DeviceException):
        await tcp_link.read(4, 1, 0, 1)
    tcp_link.faults.exception = None
    await tcp_link.read(4, 1, 0, 1)
    s = tcp_link.stats
    assert (s.requests, s.replies, s.timeouts, s.errors) == (3, 2, 1, 1)
    assert s.min_gap() >= GROWATT_PERIOD


async def test_writes_go_before_polls(tcp_link):
    order = []

    async def job(name, prio, fn):
        await fn()
        order.append(name)

    first = asyncio.create_task(job("first", PRIORITY_POLL, lambda: tcp_link.read(4, 1, 0, 1, PRIORITY_POLL)))
    await asyncio.sleep(0.05)           # "first" is on the wire; the rest queue behind it
    polls = [asyncio.create_task(job(f"poll{i}", PRIORITY_POLL,
                                     lambda: tcp_link.read(4, 1, 0, 1, PRIORITY_POLL)))
             for i in range(2)]
    await asyncio.sleep(0.01)
    write = asyncio.create_task(job("write", PRIORITY_WRITE,
                                    lambda: tcp_link.write(6, 1, 3, [90], PRIORITY_WRITE)))
    await asyncio.gather(first, write, *polls)
    assert order == ["first", "write", "poll0", "poll1"]


async def test_cancelled_caller_sends_nothing_when_queued(tcp_link):
    busy = asyncio.create_task(tcp_link.read(4, 1, 0, 1))
    await asyncio.sleep(0.02)
    queued = asyncio.create_task(tcp_link.write(6, 1, 3, [42]))
    await asyncio.sleep(0.02)
    queued.cancel()
    await busy
    await asyncio.sleep(GROWATT_PERIOD + 0.2)
    assert tcp_link.stats.requests == 1                     # the cancelled write never left
    assert (await tcp_link.read(3, 1, 3, 1)) != [42]


async def test_cancelled_caller_does_not_interrupt_running_transaction(tcp_link):
    tcp_link.faults.delay = 0.2
    task = asyncio.create_task(tcp_link.read(4, 1, 0, 1))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    tcp_link.faults.delay = 0
    await tcp_link.read(4, 1, 0, 1)                         # still paced after the abandoned one
    s = tcp_link.stats
    assert s.requests == 2 and s.min_gap() >= GROWATT_PERIOD


async def test_closed_link_refuses(tcp_link):
    await tcp_link.close()
    with pytest.raises(ConnectionFailed):
        await tcp_link.read(4, 1, 0, 1)


@pytest.mark.parametrize("url", ["tcp://127.0.0.1:9?unit=1&timeout=300",
                                 "rtu:///dev/does-not-exist?unit=1"])
async def test_unreachable_target_is_connection_failed(growatt_map, url):
    pool = LinkPool()
    link = pool.get(parse_target(url), growatt_map.link)
    with pytest.raises(ConnectionFailed):
        await link.read(4, 1, 0, 1)
    await pool.close()


async def test_rtu_over_pty_paced_and_corrupt_crc_counted(growatt_map):
    bank = RegisterBank(growatt_map, unit=1)
    wire, sim = await serve_on_pty([bank], baud=9600)
    pool = LinkPool()
    try:
        link = pool.get(parse_target(f"rtu://{wire.client_path}?unit=1&timeout=300"),
                        growatt_map.link)
        words = await link.read(3, 1, 23, 5)
        assert words == bank.get_raw("holding", 23, 5)
        sim.faults.corrupt_crc = True
        with pytest.raises(NoAnswer, match="bad CRC"):
            await link.read(3, 1, 23, 5)
        sim.faults.corrupt_crc = False
        assert await link.read(3, 1, 23, 5) == words
        s = link.stats
        assert s.bad_frames == 1 and s.min_gap() >= GROWATT_PERIOD
        with pytest.raises(NoAnswer):                        # another unit: silence on the bus
            await link.read(3, 7, 23, 5)
    finally:
        await pool.close()
        await sim.stop()
        await wire.stop()


async def test_a_job_that_refuses_itself_leaves_the_link_working(tcp_link):
    """A job may stop itself before its frame (a journal that cannot be written): its caller hears
    why, and the link's worker lives on for every other caller."""
    from solartui.errors import SolartuiError

    async def refusing(_transport):
        raise SolartuiError("journal unwritable: not sent")

    with pytest.raises(SolartuiError, match="not sent"):
        await tcp_link.scheduler.submit(refusing, PRIORITY_WRITE)
    assert isinstance(await tcp_link.read(4, 1, 0, 1), list)      # the worker still serves

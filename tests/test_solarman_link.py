"""The solarman:// link against the simulated logger on loopback: reads and writes through the
V5 envelope, pacing by the scheduler, the failures told apart (silence, "inverter did not
reply", wrong serial, bad checksum, bad inner CRC, an exception from the inverter), reconnect
after the logger drops the socket, heartbeats answered, late replies ignored, hurried callers."""

from __future__ import annotations

import asyncio

import pytest

from solartui.devices.register_device import RegisterDevice
from solartui.errors import ConnectionFailed, DeviceException, NoAnswer, TargetError
from solartui.links import solarman_frame as F
from solartui.links.pool import LinkPool
from solartui.links.solarman import SolarmanLink
from solartui.links.solarman_errors import (
    LoggerNoReply, LoggerSerialMismatch, SolarmanBadReply,
)
from solartui.links.target import parse_target
from solartui.sim.register_bank import RegisterBank
from solartui.sim.solarman_logger import LoggerFaults, SolarmanLogger, parse_logger_faults

SERIAL = 2385267882


@pytest.fixture
async def logger(growatt_map):
    bank = RegisterBank(growatt_map, unit=1, identity={"serial": "SOL0000001"})
    lg = SolarmanLogger(bank, serial=SERIAL)
    await lg.start()
    yield lg
    await lg.stop()


def make_link(lg, growatt_map, *, serial=SERIAL, period=20, timeout=400) -> SolarmanLink:
    t = parse_target(f"solarman://127.0.0.1:{lg.port}?serial={serial}&unit=1"
                     f"&period={period}&timeout={timeout}")
    return SolarmanLink(t, growatt_map.link)


@pytest.fixture
async def link(logger, growatt_map):
    lk = make_link(logger, growatt_map)
    yield lk
    await lk.close()


async def test_reads_return_the_inverters_registers(logger, link):
    bank = logger.bank(1)
    words = await link.read(4, 1, 0, 10)
    assert len(words) == 10
    assert await link.read(3, 1, 23, 5) == bank.get_raw("holding", 23, 5)
    assert link.stats.replies == 2 and link.stats.timeouts == 0


async def test_register_device_identifies_and_polls_over_the_link(logger, link, growatt_map):
    dev = RegisterDevice(growatt_map, link, 1)
    ident = await dev.identify()
    assert ident.values["serial"].strip() == "SOL0000001"
    vpv1, fac = await dev.poll([growatt_map.point("vpv1"), growatt_map.point("fac")])
    assert fac.decoded.value == pytest.approx(50, abs=2) and vpv1.ok


async def test_the_scheduler_keeps_the_period_between_requests(logger, growatt_map):
    lk = make_link(logger, growatt_map, period=120)
    try:
        for _ in range(4):
            await lk.read(3, 1, 0, 1)
        assert lk.stats.min_gap() >= 0.12
        assert lk.min_period == pytest.approx(0.12)
    finally:
        await lk.close()


def test_default_pacing_is_at_least_half_a_second(growatt_map):
    t = parse_target(f"solarman://127.0.0.1:1?serial={SERIAL}")
    assert SolarmanLink(t, growatt_map.link).min_period == pytest.approx(0.85)   # the map's
    from solartui.registers.model import LinkSpec
    assert SolarmanLink(t, LinkSpec()).min_period >= 0.5


async def test_hurried_callers_each_get_their_own_answer(logger, link):
    bank = logger.bank(1)
    bank.freeze()
    for a in range(20):
        bank.set_raw("holding", 30 + a, [1000 + a])
    got = await asyncio.gather(*(link.read(3, 1, 30 + a, 1) for a in range(20)))
    assert got == [[1000 + a] for a in range(20)]
    assert logger.requests == 20


async def test_writes_fc06_and_fc16_reach_the_inverter(logger, link):
    bank = logger.bank(1)
    await link.write(6, 1, 3, [42])
    assert bank.get_raw("holding", 3) == [42]
    await link.write(16, 1, 3, [43])
    assert bank.get_raw("holding", 3) == [43]


async def test_an_inverter_exception_is_a_plain_device_exception(logger, link):
    with pytest.raises(DeviceException) as info:
        await link.read(3, 1, 60000, 1)            # outside every block: exception 2
    assert info.value.code == 2 and not isinstance(info.value, LoggerNoReply)


async def test_silence_is_a_timeout(logger, link):
    logger.faults.silent = True
    with pytest.raises(NoAnswer, match="no reply from the logger at 127.0.0.1:.* within 400 ms"):
        await link.read(3, 1, 0, 1)
    assert link.stats.timeouts == 1


async def test_inverter_silent_is_the_loggers_no_reply(logger, link):
    logger.faults.inverter_silent = True
    with pytest.raises(LoggerNoReply) as info:
        await link.read(3, 1, 0, 1)
    msg = str(info.value)
    assert f"logger {SERIAL}" in msg and "the inverter behind it did not reply" in msg
    assert "unit=" in msg and "\n" not in msg
    assert isinstance(info.value, DeviceException) and info.value.code == 11
    assert link.stats.timeouts == 0 and link.stats.replies == 1


async def test_a_write_the_inverter_did_not_answer_is_no_answer_not_a_refusal(logger, link):
    logger.faults.inverter_silent = True
    with pytest.raises(NoAnswer, match="did not reply") as info:
        await link.write(6, 1, 3, [11])
    assert not isinstance(info.value, DeviceException)


async def test_an_absent_unit_is_the_loggers_no_reply(logger, link):
    with pytest.raises(LoggerNoReply, match="unit= \\(now 9\\)"):
        await link.read(3, 9, 0, 1)


async def test_wrong_serial_error_frame_names_the_real_serial(logger, growatt_map):
    lk = make_link(logger, growatt_map, serial=12345)
    try:
        with pytest.raises(LoggerSerialMismatch) as info:
            await lk.read(3, 1, 0, 1)
    finally:
        await lk.close()
    assert str(info.value) == (f"the logger at 127.0.0.1:{logger.port} has serial {SERIAL}, "
                               f"not 12345: use serial={SERIAL} in the target URL")


async def test_wrong_serial_ignored_is_a_timeout_that_mentions_serial(logger, growatt_map):
    logger.faults.wrong_serial = "silent"
    lk = make_link(logger, growatt_map, serial=12345)
    try:
        with pytest.raises(NoAnswer, match="serial="):
            await lk.read(3, 1, 0, 1)
    finally:
        await lk.close()


async def test_bad_checksum_is_a_timeout_that_says_corrupt(logger, link):
    logger.faults.bad_checksum = True
    with pytest.raises(NoAnswer, match="corrupt frame.*checksum") as info:
        await link.read(3, 1, 0, 1)
    assert "\n" not in str(info.value)
    logger.faults.bad_checksum = False
    assert len(await link.read(3, 1, 0, 1)) == 1


async def test_bad_inner_crc_is_a_bad_reply(logger, link):
    logger.faults.bad_crc = True
    with pytest.raises(SolarmanBadReply, match="Modbus CRC"):
        await link.read(3, 1, 0, 2)
    assert link.transport.bad_crc == 1
    logger.faults.bad_crc = False
    assert len(await link.read(3, 1, 0, 2)) == 2


async def test_garbage_before_each_reply_is_skipped(logger, link):
    logger.faults.garbage = True
    for _ in range(3):
        assert len(await link.read(3, 1, 0, 3)) == 3
    assert link.transport.stream.rejected >= 3


async def test_a_late_reply_is_not_taken_for_the_next_answer(logger, link):
    bank = logger.bank(1)
    bank.freeze()
    bank.set_raw("holding", 40, [7])
    bank.set_raw("holding", 41, [8])
    logger.faults.delay = 0.6
    with pytest.raises(NoAnswer):
        await link.read(3, 1, 40, 1)
    logger.faults.delay = 0.0
    assert await link.read(3, 1, 41, 1) == [8]       # the late [7] came first, and was dropped
    assert link.transport.seen["stale-seq"] == 1


async def test_reconnects_after_the_logger_drops_the_socket(logger, link):
    await link.read(3, 1, 0, 1)
    logger.drop_clients()
    await asyncio.sleep(0.05)
    assert len(await link.read(3, 1, 0, 1)) == 1
    assert link.transport.connects == 2 and logger.connections == 2


async def test_a_read_cut_by_a_drop_is_sent_again_on_a_new_socket(logger, link):
    logger.faults.drop_after = 1                    # each socket serves one request
    for _ in range(3):
        assert len(await link.read(3, 1, 0, 1)) == 1
    assert link.transport.connects == 3


async def test_a_write_cut_by_a_drop_is_not_resent_blind(logger, link):
    await link.read(3, 1, 0, 1)
    logger.faults.drop_after = 0
    before = logger.bank(1).get_raw("holding", 3)
    with pytest.raises(ConnectionFailed, match="connection lost"):
        await link.write(6, 1, 3, [11])
    assert logger.connections == 1 and link.transport.connects == 1     # not re-sent
    assert logger.bank(1).get_raw("holding", 3) == before


async def test_heartbeats_are_answered_and_reads_go_on(logger, link):
    logger.faults.heartbeat = 0.05
    logger.drop_clients()
    await link.read(3, 1, 0, 1)                     # a new socket: heartbeats start
    for _ in range(20):
        await asyncio.sleep(0.05)
        if logger.heartbeats_answered >= 3:
            break
    assert logger.heartbeats_answered >= 3 and link.transport.heartbeats >= 3
    assert len(await link.read(3, 1, 0, 1)) == 1


async def test_refused_connection_is_one_line(growatt_map):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = parse_target(f"solarman://127.0.0.1:{port}?serial={SERIAL}&timeout=300")
    lk = SolarmanLink(t, growatt_map.link)
    try:
        with pytest.raises(ConnectionFailed, match="connection refused") as info:
            await lk.read(3, 1, 0, 1)
    finally:
        await lk.close()
    assert "\n" not in str(info.value)


async def test_the_traffic_sink_sees_v5_frames(logger, link):
    frames = []
    link.add_sink(frames.append)
    await link.read(3, 1, 0, 1)
    tx = [f for f in frames if f.direction == "tx"]
    rx = [f for f in frames if f.direction == "rx"]
    assert F.decode(tx[0].data).control == F.REQUEST
    assert F.decode(rx[0].data).control == F.RESPONSE


async def test_the_pool_gives_solarman_targets_a_solarman_link(logger, growatt_map):
    pool = LinkPool()
    t = parse_target(f"solarman://127.0.0.1:{logger.port}?serial={SERIAL}&unit=1")
    try:
        lk = pool.get(t, growatt_map.link)
        assert isinstance(lk, SolarmanLink) and pool.get(t.with_unit(2), growatt_map.link) is lk
    finally:
        await pool.close()


@pytest.mark.parametrize("url,fragment", [
    ("solarman://127.0.0.1", "needs the logger's serial"),
    ("solarman://127.0.0.1?serial=0", "outside 1-4294967295"),
    ("solarman://127.0.0.1?serial=4294967296", "outside"),
    ("solarman://127.0.0.1?serial=12_3", "ASCII digits"),
    ("solarman://127.0.0.1?serial=1&serial=2", "given twice"),
    ("solarman://127.0.0.1/x?serial=1", "takes no path"),
    ("solarman://127.0.0.1?serial=1&baud=9600", "unknown option"),
    ("solarman://?serial=1", "names no host"),
])
def test_bad_solarman_targets_are_refused_in_one_line(url, fragment):
    with pytest.raises(TargetError, match=fragment) as info:
        parse_target(url)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("url", [
    "solarman://192.168.1.20:8899?serial=2385267882",
    "solarman://[::1]:8899?serial=7&unit=3",
    "solarman://[fe80::1:2]:9000?serial=4294967295&unit=1",
])
def test_solarman_targets_print_back_and_parse_again(url):
    t = parse_target(url)
    assert str(t) == url and parse_target(str(t)) == t
    assert t.link_key.startswith("solarman://") and "serial=" in t.link_key


def test_default_port_and_fault_parsing():
    t = parse_target("solarman://logger.local?serial=5")
    assert (t.port, t.serial, t.unit) == (8899, 5, None)
    f = parse_logger_faults(["wrong-serial=silent", "inverter-silent", "delay=0.5",
                             "drop-after=3", "bad-crc", "heartbeat=2"])
    assert f == LoggerFaults(wrong_serial="silent", inverter_silent=True, delay=0.5,
                             drop_after=3, bad_crc=True, heartbeat=2.0)
    for bad in ("wrong-serial=maybe", "delay=x", "delay=-1", "drop-after=x", "bogus"):
        with pytest.raises(ValueError):
            parse_logger_faults([bad])


async def test_a_socket_gone_silent_is_reopened(logger, link):
    await link.read(3, 1, 0, 1)
    logger.faults.silent = True
    for _ in range(3):
        with pytest.raises(NoAnswer):
            await link.read(3, 1, 0, 1)
    logger.faults.silent = False
    assert len(await link.read(3, 1, 0, 1)) == 1
    assert link.transport.connects == 2 and logger.connections == 2


@pytest.mark.parametrize("call", [lambda lk: lk.read(3, 1, 65535, 2),
                                  lambda lk: lk.read(3, 256, 0, 1),
                                  lambda lk: lk.read(3, 1, 0, 126),
                                  lambda lk: lk.write(6, 1, 3, [70000]),
                                  lambda lk: lk.write(16, 1, 65535, [1, 2])])
async def test_what_no_frame_can_carry_is_refused_before_the_wire(logger, link, call):
    from solartui.errors import ValueRejected
    with pytest.raises(ValueRejected):
        await call(link)
    assert logger.requests == 0

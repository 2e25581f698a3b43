"""GivEnergyLink against the simulated dongle over real loopback sockets: reads, block splitting,
heartbeats, fan-out from other clients, unsolicited frames, reconnects, the write-safe gate,
writes and their read-back, and RegisterDevice on top."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import datetime

import pytest

from gate_help import write_one
from solartui.errors import (
    ConnectionFailed,
    DeviceException,
    LinkError,
    NoAnswer,
    ValueRejected,
)
from solartui.givenergy import frame as F
from solartui.givenergy.errors import GivErrorReply
from solartui.givenergy.stream import FrameStream
from solartui.givenergy.write_safe import SINGLE_PHASE, is_write_safe
from solartui.links.givenergy import GivEnergyLink, split_blocks
from solartui.links.target import Target
from solartui.registers.model import LinkSpec
from solartui.sim.givenergy_dongle import GivEnergyDongle
from tests.conftest import ROOT

HOST = "127.0.0.1"
MAP = ROOT / "maps" / "givenergy_hybrid.yaml"


def make_link(port: int, *, period_ms: int | None = 0, timeout_ms: int = 1000, **kw):
    return GivEnergyLink(Target("givenergy", host=HOST, port=port, period_ms=period_ms),
                         LinkSpec(min_period_ms=0, timeout_ms=timeout_ms), **kw)


@pytest.fixture
async def dongle():
    d = GivEnergyDongle(HOST, 0, heartbeat_interval=None)
    await d.start()
    yield d
    await d.stop()


@pytest.fixture
async def link(dongle):
    lk = make_link(dongle.port)
    yield lk
    await lk.close()


class RawClient:
    """Another client of the same dongle (the app, the cloud, Home Assistant...)."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.stream = FrameStream("to_client")

    @classmethod
    async def open(cls, port: int) -> RawClient:
        return cls(*await asyncio.open_connection(HOST, port))

    def send(self, msg) -> None:
        self.writer.write(msg if isinstance(msg, bytes) else F.encode(msg))

    async def collect(self, seconds: float) -> list:
        out, end = [], time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            try:
                data = await asyncio.wait_for(self.reader.read(4096), left)
            except asyncio.TimeoutError:
                break
            if not data:
                break
            out += self.stream.feed(data)
        return out

    def close(self) -> None:
        self.writer.close()


def ascii_of(words) -> str:
    return b"".join(w.to_bytes(2, "big") for w in words).decode().rstrip("\0")


# --- pure helpers --------------------------------------------------------------------------------

@pytest.mark.parametrize("address,count,blocks", [
    (0, 60, [(0, 60)]), (0, 180, [(0, 60), (60, 60), (120, 60)]), (35, 6, [(35, 6)]),
    (50, 20, [(50, 10), (60, 10)]), (116, 1, [(116, 1)]), (59, 62, [(59, 1), (60, 60), (120, 1)]),
])
def test_split_blocks(address, count, blocks):
    assert split_blocks(address, count) == blocks


def test_write_safe_list():
    assert {20, 27, 35, 40, 96, 116, 246, 247, 297, 298} <= SINGLE_PHASE
    assert not {0, 13, 63, 101, 178, 179, 248, 311} & SINGLE_PHASE
    assert is_write_safe(313, "ac") and not is_write_safe(313)
    with pytest.raises(ValueRejected, match="unknown GivEnergy model"):
        is_write_safe(20, "four-phase")
    assert is_write_safe(1109, "three-phase") and not is_write_safe(110, "three-phase")
    assert not is_write_safe(20, "none")          # EMS and Gateway: nothing


def test_default_pacing_is_conservative():
    lk = GivEnergyLink(Target("givenergy", host=HOST, port=8899), LinkSpec())
    assert lk.min_period == 0.3 and lk.description == "givenergy://127.0.0.1:8899"
    assert lk.scheduler.rx_is_reply is False
    paced = GivEnergyLink(Target("givenergy", host=HOST, port=8899),
                          LinkSpec(min_period_ms=250, timeout_ms=2000))
    assert paced.min_period == 0.25 and paced.timeout == 2.0


# --- reads ---------------------------------------------------------------------------------------

async def test_identity_clock_and_live_values(dongle, link):
    hr = await link.read(3, 0x11, 0, 60)
    assert hr[0] == 0x2001 and ascii_of(hr[13:18]) == "SA2114G000"
    assert (hr[19], hr[21], hr[34]) == (449, 449, 140)
    device = datetime(2000 + hr[35], *hr[36:41])
    assert abs((device - datetime.now()).total_seconds()) < 5
    ir = await link.read(4, 0x11, 0, 60)
    assert ir[0] == 1 and 0 <= ir[59] <= 100
    load, pv = ir[42], ir[18] + ir[20]
    batt = ir[52] - 0x10000 if ir[52] & 0x8000 else ir[52]
    grid = ir[30] - 0x10000 if ir[30] & 0x8000 else ir[30]
    assert abs(pv + batt - load - grid) <= 2          # power balance: PV + battery = load + grid
    assert (await link.read(4, 0x32, 100, 1))[0] == pytest.approx(ir[59], abs=1)


async def test_180_register_read_is_three_block_reads(dongle, link):
    words = await link.read(3, 0x11, 0, 180)
    assert len(words) == 180 and words[0] == 0x2001 and words[116] == dongle.hr(116)
    assert [(r.base, r.count) for r in dongle.requests] == [(0, 60), (60, 60), (120, 60)]
    assert link.stats.requests == 3 and link.stats.replies == 3


async def test_read_across_a_block_boundary_is_sliced_back_together(dongle, link):
    words = await link.read(3, 0x11, 55, 10)
    assert [(r.base, r.count) for r in dongle.requests] == [(55, 5), (60, 5)]
    assert words[0] == dongle.hr(55) and words[-1] == dongle.hr(64)


async def test_missing_bank_is_an_error_reply(dongle, link):
    with pytest.raises(GivErrorReply) as err:
        await link.read(3, 0x11, 300, 60)
    assert isinstance(err.value, DeviceException) and isinstance(err.value, LinkError)
    assert "HR300" in str(err.value)
    assert link.stats.errors == 1 and link.stats.replies == 1


async def test_absent_device_times_out(dongle):
    lk = make_link(dongle.port, timeout_ms=200)
    try:
        with pytest.raises(NoAnswer, match="0x40"):
            await lk.read(4, 0x40, 60, 30)
        assert lk.stats.timeouts == 1
        assert (await lk.read(3, 0x11, 0, 1)) == [0x2001]      # the socket is still fine
    finally:
        await lk.close()


async def test_refused_connection_is_one_line_and_backs_off():
    with socket.socket() as s:
        s.bind((HOST, 0))
        port = s.getsockname()[1]
    lk = make_link(port)
    try:
        with pytest.raises(ConnectionFailed, match=f"{HOST}:{port}") as err:
            await lk.read(3, 0x11, 0, 60)
        assert "\n" not in str(err.value)
        with pytest.raises(ConnectionFailed, match="retrying in"):
            await lk.read(3, 0x11, 0, 60)
    finally:
        await lk.close()


# --- heartbeats, fan-out and unsolicited frames --------------------------------------------------

async def test_heartbeats_answered_and_connection_survives():
    async with GivEnergyDongle(HOST, 0, heartbeat_interval=0.1, heartbeat_deadline=0.5,
                               missed_heartbeats_to_drop=1) as d:
        lk = make_link(d.port)
        try:
            await lk.read(3, 0x11, 0, 60)
            for _ in range(100):
                if d.heartbeats_sent >= 4:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.05)
            assert d.heartbeats_sent >= 4
            assert d.heartbeat_replies >= d.heartbeats_sent - 1
            assert lk.transport.heartbeats == d.heartbeat_replies
            assert lk.transport.dongle_serial == "WF2125G000"
            assert not d.disconnects
            assert (await lk.read(4, 0x11, 0, 60))[0] == 1
            assert lk.transport.connects == 1
        finally:
            await lk.close()


async def test_heartbeat_reply_keeps_the_type_byte():
    got = asyncio.get_running_loop().create_future()

    async def fake_dongle(reader, writer):
        writer.write(F.encode(F.Heartbeat("WF1234G567", adapter_type=2)))
        stream = FrameStream("to_dongle")
        while not got.done() and (data := await reader.read(4096)):
            for msg in stream.feed(data):
                if isinstance(msg, F.Heartbeat) and not got.done():
                    got.set_result(msg)
        writer.close()

    server = await asyncio.start_server(fake_dongle, HOST, 0)
    lk = make_link(server.sockets[0].getsockname()[1], timeout_ms=300)
    try:
        with pytest.raises(LinkError):
            await lk.read(3, 0x11, 0, 60)           # nobody answers reads here
        assert await asyncio.wait_for(got, 2) == F.Heartbeat("WF1234G567", adapter_type=2)
    finally:
        await lk.close()
        server.close()


async def test_replies_for_another_client_are_ignored(dongle, link):
    other = await RawClient.open(dongle.port)
    try:
        for _ in range(3):
            other.send(F.ReadRequest(0x11, 3, 120, 60))
            other.send(F.ReadRequest(0x32, 4, 60, 60))
            hr = await link.read(3, 0x11, 0, 60)
            ir = await link.read(4, 0x11, 0, 60)
            assert hr[0] == 0x2001 and len(hr) == 60
            assert ir[0] == 1 and len(ir) == 60
        seen = await other.collect(0.3)
        keys = {F.match_key(m) for m in seen}
        assert {(0x11, 3, 0, 60), (0x11, 4, 0, 60), (0x11, 3, 120, 60)} <= keys   # fan-out
        assert link.transport.seen["foreign"] >= 3
        assert link.stats.errors == 0
    finally:
        other.close()


async def test_foreign_null_and_broadcast_frames_are_ignored():
    async with GivEnergyDongle(HOST, 0, heartbeat_interval=None,
                               unsolicited_interval=0.01) as d:
        lk = make_link(d.port)
        try:
            await lk.read(3, 0x11, 0, 1)
            d.inject_foreign()
            d.inject_null()
            d.inject_broadcast()
            for _ in range(10):
                assert (await lk.read(3, 0x11, 0, 60))[0] == 0x2001
                await asyncio.sleep(0.01)
            seen = lk.transport.seen
            assert seen["foreign"] >= 2 and seen["null"] >= 1 and seen["broadcast"] >= 1
            assert lk.stats.errors == 0 and lk.transport.rejected == 0
        finally:
            await lk.close()


async def test_traffic_sink_sees_requests_replies_and_heartbeats():
    async with GivEnergyDongle(HOST, 0, heartbeat_interval=0.05) as d:
        lk = make_link(d.port)
        frames = []
        lk.scheduler.add_sink(frames.append)
        try:
            await lk.read(3, 0x11, 0, 60)
            await asyncio.sleep(0.15)
            tx = [f.data for f in frames if f.direction == "tx"]
            assert tx[0] == F.encode(F.ReadRequest(0x11, 3, 0, 60))
            assert F.encode(F.Heartbeat("WF2125G000")) in tx
            assert any(f.direction == "rx" for f in frames)
        finally:
            await lk.close()


# --- reconnects ----------------------------------------------------------------------------------

async def test_dropped_socket_is_reopened_by_the_next_read(dongle, link):
    assert (await link.read(3, 0x11, 0, 1)) == [0x2001]
    dongle.drop_clients()
    await asyncio.sleep(0.05)
    assert (await link.read(3, 0x11, 0, 1)) == [0x2001]
    assert link.transport.connects == 2 and dongle.accepted == 2


async def test_socket_dropped_mid_read_is_retried_once():
    async with GivEnergyDongle(HOST, 0, heartbeat_interval=None, latency=0.2) as d:
        lk = make_link(d.port)
        try:
            await lk.read(3, 0x11, 0, 1)
            task = asyncio.ensure_future(lk.read(4, 0x11, 0, 60))
            await asyncio.sleep(0.05)
            d.drop_clients()
            assert (await task)[0] == 1
            assert lk.transport.connects == 2
        finally:
            await lk.close()


async def test_silent_socket_is_treated_as_stale():
    async with GivEnergyDongle(HOST, 0, heartbeat_interval=None) as d:
        lk = make_link(d.port, timeout_ms=200, stale_timeout=0.3)
        try:
            await lk.read(3, 0x11, 0, 1)
            d.mute = True                    # a wedged dongle: socket open, nothing comes back
            with pytest.raises(NoAnswer):
                await lk.read(3, 0x11, 0, 1)
            await asyncio.sleep(0.2)
            d.mute = False
            assert (await lk.read(3, 0x11, 0, 1)) == [0x2001]
            assert lk.transport.connects == 2
        finally:
            await lk.close()


# --- writes --------------------------------------------------------------------------------------

async def test_write_outside_the_list_is_refused_before_the_wire(dongle, link):
    with pytest.raises(ValueRejected, match="HR101"):
        await link.write(6, 0x11, 101, [1])
    with pytest.raises(ValueRejected, match="HR41"):
        await link.write(16, 0x11, 40, [0, 0])          # HR40 is fine, HR41 is not
    with pytest.raises(ValueRejected):
        link.check_write(163 + 1)
    link.check_write(35, 6)
    assert dongle.accepted == 0 and dongle.request_count == 0 and link.stats.requests == 0


async def test_write_on_the_list_is_stored_and_read_back(dongle, link):
    await link.write(6, 0x11, 116, [80])
    assert dongle.writes == [(116, 80)] and dongle.hr(116) == 80
    assert await link.read(3, 0x11, 116, 1) == [80]
    req = dongle.requests[0]
    assert req == F.WriteRequest(0x11, 116, 80)


async def test_clock_is_six_fc06_writes_in_order(dongle, link):
    await link.write(16, 0x11, 35, [25, 1, 1, 12, 0, 0])
    assert [(r.register, r.value) for r in dongle.requests] == [
        (35, 25), (36, 1), (37, 1), (38, 12), (39, 0), (40, 0)]
    words = await link.read(3, 0x11, 35, 6)
    assert words[:5] == [25, 1, 1, 12, 0] and words[5] <= 2


async def test_write_the_device_refuses_is_an_error_reply():
    async with GivEnergyDongle(HOST, 0, model="aio", heartbeat_interval=None) as d:
        lk = make_link(d.port, model="ac")
        try:
            with pytest.raises(GivErrorReply, match="HR313 = 0"):
                await lk.write(6, 0x11, 313, [0])
            await lk.write(6, 0x11, 313, [50])
            assert d.writes == [(313, 50)]
        finally:
            await lk.close()


# --- the device layer on top ---------------------------------------------------------------------

async def test_register_device_runs_on_the_link(dongle):
    if not MAP.exists():
        pytest.skip("no GivEnergy map in maps/")
    from solartui.devices.register_device import RegisterDevice
    from solartui.registers.loader import load_map
    device_map = load_map(MAP)
    lk = GivEnergyLink(Target("givenergy", host=HOST, port=dongle.port, period_ms=0),
                       device_map.link)
    try:
        dev = RegisterDevice(device_map, lk, 0x11)
        ident = await dev.identify()
        assert ident.serial == "SA2114G000"
        readings = await dev.poll()
        assert readings and all(r.error is None for r in readings), \
            [(r.point.name, r.error) for r in readings if r.error]
        clock = await dev.read_clock()
        assert clock.error is None and abs(clock.drift) < 5
        plan = await dev.plan_write("charge_target_soc", "80")
        outcome = await write_one(dev, plan)
        assert outcome.ok, outcome.detail
        assert dongle.hr(116) == 80
    finally:
        await lk.close()

"""The simulated GivEnergy dongle, talked to with raw loopback sockets and the frame codec:
error frames, silence for absent devices, CRC strictness, writes, heartbeats and their deadline,
idle disconnects, fan-out, unsolicited frames, moving values and seeding from a capture."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import pytest

from solartui.givenergy import frame as F
from solartui.givenergy.stream import FrameStream
from solartui.links.crc import crc16_modbus
from solartui.sim.givenergy_dongle import GivEnergyDongle
from solartui.sim.givenergy_plant import GivEnergyPlant
from tests.conftest import ROOT

HOST = "127.0.0.1"
CAPTURES = ROOT / "tests" / "vectors" / "givenergy-captures"


class Client:
    def __init__(self, reader, writer, answer_heartbeats=True, heartbeat_type=None):
        self.reader, self.writer = reader, writer
        self.stream = FrameStream("to_client")
        self.answer_heartbeats = answer_heartbeats
        self.heartbeat_type = heartbeat_type
        self.heartbeats = 0
        self.closed = False

    @classmethod
    async def open(cls, port: int, **kw) -> Client:
        return cls(*await asyncio.open_connection(HOST, port), **kw)

    def send(self, msg) -> None:
        self.writer.write(msg if isinstance(msg, bytes) else F.encode(msg))

    async def collect(self, seconds: float, until=None) -> list:
        """Messages (heartbeats answered and left out) for up to `seconds`."""
        out, end = [], time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0 and not self.closed:
            try:
                data = await asyncio.wait_for(self.reader.read(4096), left)
            except asyncio.TimeoutError:
                break
            if not data:
                self.closed = True
                break
            for msg in self.stream.feed(data):
                if isinstance(msg, F.Heartbeat):
                    self.heartbeats += 1
                    if self.answer_heartbeats:
                        kind = msg.adapter_type if self.heartbeat_type is None else self.heartbeat_type
                        self.send(F.Heartbeat("AB1234G567", kind))
                    continue
                out.append(msg)
            if until is not None and until(out):
                break
        return out

    async def ask(self, msg, seconds: float = 1.0):
        self.send(msg)
        key = F.match_key(msg)
        got = await self.collect(seconds, lambda out: any(_fits(m, key) for m in out))
        return next((m for m in got if _fits(m, key)), None)

    def close(self) -> None:
        self.writer.close()


def _fits(msg, key) -> bool:
    k = F.match_key(msg)
    return k == key or (isinstance(msg, F.ErrorResponse) and k is not None and k[:3] == key[:3])


@pytest.fixture
async def dongle():
    d = GivEnergyDongle(HOST, 0, heartbeat_interval=None)
    await d.start()
    yield d
    await d.stop()


@pytest.fixture
async def client(dongle):
    c = await Client.open(dongle.port)
    yield c
    c.close()


# --- reads ---------------------------------------------------------------------------------------

async def test_reads_carry_the_envelope_serials(dongle, client):
    reply = await client.ask(F.ReadRequest(0x11, 3, 0, 60))
    assert isinstance(reply, F.ReadResponse) and reply.values[0] == 0x2001
    assert reply.inverter_serial == "SA2114G000" and reply.adapter_serial == "WF2125G000"
    assert reply.padding == 0x8a
    facade = await client.ask(F.ReadRequest(0x31, 3, 0, 60))
    assert facade.values[:35] == reply.values[:35]


@pytest.mark.parametrize("request_", [
    F.ReadRequest(0x11, 3, 0, 0), F.ReadRequest(0x11, 4, 0, 61), F.ReadRequest(0x11, 3, 1100, 60),
    F.ReadRequest(0x11, 3, 170, 20), F.ReadRequest(0x32, 3, 0, 60), F.ReadRequest(0x11, 0x16, 60, 60),
], ids=["count 0", "count 61", "missing bank", "across a bank end", "battery HR", "FC16 inverter"])
async def test_error_frames(dongle, client, request_):
    reply = await client.ask(request_)
    assert reply == F.ErrorResponse(request_.device, request_.function, "SA2114G000",
                                    request_.base, request_.count, "WF2125G000", 0x12)


@pytest.mark.parametrize("device", [0x01, 0x33, 0x40, 0x70])
async def test_absent_devices_stay_silent(dongle, client, device):
    assert await client.ask(F.ReadRequest(device, 4, 60, 60), 0.2) is None
    assert dongle.request_count == 1


async def test_aio_has_no_battery_or_facade_but_has_the_ac_block():
    async with GivEnergyDongle(HOST, 0, model="aio", heartbeat_interval=None) as d:
        c = await Client.open(d.port)
        try:
            assert await c.ask(F.ReadRequest(0x32, 4, 60, 60), 0.2) is None
            assert await c.ask(F.ReadRequest(0x31, 3, 0, 60), 0.2) is None
            hr = await c.ask(F.ReadRequest(0x11, 3, 0, 60))
            assert hr.values[0] == 0x8001 and hr.values[21] == 612
            ac = await c.ask(F.ReadRequest(0x11, 3, 300, 60))
            assert ac.values[313 - 300] == 100
        finally:
            c.close()


# --- CRC strictness ------------------------------------------------------------------------------

def legacy_request(device, function, base, count) -> bytes:
    """GivTCP 2021's rule (never emitted by us): CRC over fn+base+count, high byte first."""
    good = F.encode(F.ReadRequest(device, function, base, count))
    return good[:-2] + crc16_modbus(good[27:32]).to_bytes(2, "big")


async def test_strict_dongle_drops_bad_crc_silently(dongle, client):
    client.send(legacy_request(0x11, 4, 0, 6))
    assert await client.collect(0.2) == []
    assert dongle.bad_crc_dropped == 1 and dongle.request_count == 0
    assert (await client.ask(F.ReadRequest(0x11, 4, 0, 6))).count == 6      # still served


async def test_lenient_dongle_answers_legacy_crc():
    async with GivEnergyDongle(HOST, 0, strict_crc=False, heartbeat_interval=None) as d:
        c = await Client.open(d.port)
        try:
            c.send(legacy_request(0x11, 4, 0, 6))
            got = await c.collect(1.0, lambda out: out)
            assert [(m.base, m.count) for m in got] == [(0, 6)]
        finally:
            c.close()


# --- writes --------------------------------------------------------------------------------------

async def test_write_safe_write_is_stored_and_echoed(dongle, client):
    echo = await client.ask(F.WriteRequest(0x11, 110, 20))
    assert echo == F.WriteResponse(0x11, "SA2114G000", 110, 20, "WF2125G000", 0x12)
    assert dongle.writes == [(110, 20)] and dongle.hr(110) == 20
    assert (await client.ask(F.ReadRequest(0x11, 3, 60, 60))).values[50] == 20


async def test_write_outside_the_list_dropped_or_refused(dongle, client):
    assert await client.ask(F.WriteRequest(0x11, 101, 1), 0.2) is None
    async with GivEnergyDongle(HOST, 0, heartbeat_interval=None, write_outside_list="error") as d:
        c = await Client.open(d.port)
        try:
            err = await c.ask(F.WriteRequest(0x11, 101, 1))
            assert isinstance(err, F.ErrorResponse) and (err.function, err.base) == (6, 101)
        finally:
            c.close()
    assert dongle.writes == [] and dongle.hr(101) == 0


async def test_clock_ticks_and_is_set_field_by_field(dongle, client):
    for reg, value in zip(range(35, 41), (25, 1, 1, 12, 0, 0)):
        assert isinstance(await client.ask(F.WriteRequest(0x11, reg, value)), F.WriteResponse)
    hr = (await client.ask(F.ReadRequest(0x11, 3, 35, 6))).values
    assert hr[:5] == (25, 1, 1, 12, 0) and hr[5] <= 2
    bad = await client.ask(F.WriteRequest(0x11, 36, 13))
    assert isinstance(bad, F.ErrorResponse)
    dongle.set_hr(35, 30)
    assert dongle.hr(35) == 30


# --- heartbeats and idle disconnects -------------------------------------------------------------

async def test_heartbeats_answered_keep_the_client():
    async with GivEnergyDongle(HOST, 0, heartbeat_interval=0.05, heartbeat_deadline=0.2,
                               missed_heartbeats_to_drop=2) as d:
        c = await Client.open(d.port)
        try:
            await c.collect(0.4)
            assert c.heartbeats >= 3 and not c.closed
            assert d.heartbeat_replies >= 3 and not d.disconnects
        finally:
            c.close()


@pytest.mark.parametrize("wrong_type", [False, True])
async def test_missed_heartbeats_drop_the_client(wrong_type):
    async with GivEnergyDongle(HOST, 0, heartbeat_interval=0.05, heartbeat_deadline=0.05,
                               missed_heartbeats_to_drop=3) as d:
        c = await Client.open(d.port, answer_heartbeats=wrong_type, heartbeat_type=7)
        try:
            await c.collect(3.0)
            assert c.closed and c.heartbeats == 3
            assert d.disconnects == {"missed heartbeats": 1}
        finally:
            c.close()


async def test_idle_client_is_disconnected_busy_one_is_not():
    async with GivEnergyDongle(HOST, 0, heartbeat_interval=None, idle_timeout=0.2) as d:
        idle = await Client.open(d.port)
        busy = await Client.open(d.port)
        try:
            for _ in range(6):
                busy.send(F.ReadRequest(0x11, 4, 0, 1))
                await busy.collect(0.08)
            await idle.collect(0.5)                   # it got busy's replies (fan-out) until...
            assert idle.closed
            assert not busy.closed and d.disconnects == {"idle": 1}
        finally:
            idle.close()
            busy.close()


# --- fan-out and unsolicited frames --------------------------------------------------------------

async def test_every_reply_goes_to_every_client(dongle):
    a, b = await Client.open(dongle.port), await Client.open(dongle.port)
    try:
        await asyncio.sleep(0.05)
        a.send(F.ReadRequest(0x11, 4, 0, 60))
        b.send(F.WriteRequest(0x11, 96, 0))
        got_a, got_b = await a.collect(0.3), await b.collect(0.3)
        assert {type(m) for m in got_a} == {type(m) for m in got_b} == {F.ReadResponse, F.WriteResponse}
    finally:
        a.close()
        b.close()


async def test_injected_frames_reach_every_client(dongle):
    a, b = await Client.open(dongle.port), await Client.open(dongle.port)
    try:
        await asyncio.sleep(0.05)
        dongle.inject_foreign()
        dongle.inject_null()
        dongle.inject_broadcast()
        for c in (a, b):
            got = await c.collect(0.3)
            keys = [F.match_key(m) for m in got if isinstance(m, F.ReadResponse)]
            assert keys == [(0x31, 4, 0, 60), (0x32, 4, 60, 60)]
            assert [type(m) for m in got[2:]] == [F.NullResponse, F.LanBroadcast]
            assert got[2].zero_crc and c.stream.rejected == 0
    finally:
        a.close()
        b.close()


async def test_unsolicited_interval_sends_all_three_kinds():
    async with GivEnergyDongle(HOST, 0, heartbeat_interval=None, unsolicited_interval=0.02) as d:
        c = await Client.open(d.port)
        try:
            kinds = {type(m) for m in await c.collect(0.3)}
            assert kinds == {F.ReadResponse, F.NullResponse, F.LanBroadcast}
        finally:
            c.close()


async def test_latency_and_one_request_at_a_time():
    async with GivEnergyDongle(HOST, 0, heartbeat_interval=None, latency=0.05) as d:
        c = await Client.open(d.port)
        try:
            start = time.monotonic()
            for base in (0, 60, 120):
                c.send(F.ReadRequest(0x11, 3, base, 60))
            got = await c.collect(2.0, lambda out: len(out) == 3)
            assert [m.base for m in got] == [0, 60, 120]
            assert time.monotonic() - start >= 0.14
        finally:
            c.close()


# --- the plant -----------------------------------------------------------------------------------

def test_pv_follows_the_day_and_soc_follows_the_battery():
    plant = GivEnergyPlant(time_scale=3600)
    plant.set_clock(datetime(2025, 6, 21, 13, 0))
    plant.tick()
    assert plant.ir(18) + plant.ir(20) > 3000
    plant.set_clock(datetime(2025, 6, 21, 2, 0))
    t0 = time.time()
    plant.tick(t0)
    assert plant.ir(18) + plant.ir(20) == 0
    soc0, throughput0 = plant.regs[("inverter", 4)][59], plant.regs[("inverter", 4)][7]
    batt = plant.regs[("inverter", 4)][52]
    assert 0 < batt < 0x8000                            # night: discharging (+)
    plant.tick(t0 + 1.0)                                # one simulated hour
    regs = plant.regs[("inverter", 4)]
    assert regs[59] < soc0 and regs[7] > throughput0
    assert plant.regs[("battery", 4)][100] == regs[59]
    plant.set_hr(112, 0)                                # discharge limit 0: battery idles
    plant.tick(t0 + 2.0)
    assert plant.regs[("inverter", 4)][52] == 0


def test_daytime_surplus_charges_and_exports():
    plant = GivEnergyPlant(time_scale=3600)
    plant.set_clock(datetime(2025, 6, 21, 13, 0))
    plant.set_ir(59, 50)
    t0 = time.time()
    plant.tick(t0)
    regs = plant.regs[("inverter", 4)]
    assert regs[52] & 0x8000                            # charging (-)
    plant.set_ir(59, 100)
    plant.tick(t0 + 1)
    assert regs[52] == 0 and 0 < regs[30] < 0x8000      # full: PV surplus exported (+)


def test_from_capture_seeds_registers():
    d = GivEnergyDongle.from_capture(CAPTURES / "hybrid_gen1_arm449_0x11_poll_10min.log")
    assert d.model == "hybrid" and d.hr(0) == 0x2001 and d.hr(21) == 449
    assert d.plant.inverter_serial == "SA2114G000" and d.adapter_serial == "WF2125G000"
    assert d.ir(97, device=0x32) == 16
    aio = GivEnergyDongle.from_capture(CAPTURES / "aio_arm620_redetect_7min.log")
    assert aio.model == "aio" and aio.hr(0) >> 12 == 8


async def test_stop_closes_clients_and_frees_the_port():
    d = GivEnergyDongle(HOST, 0, heartbeat_interval=0.05, unsolicited_interval=0.05)
    port = await d.start()
    c = await Client.open(port)
    await d.stop()
    await c.collect(0.5)
    assert c.closed
    with pytest.raises(OSError):
        await asyncio.open_connection(HOST, port)

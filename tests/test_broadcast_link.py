"""The listen-only link against the simulated FlexMax on a real pty pair."""

import asyncio

import pytest
from hypothesis import given, settings, strategies as st

from solartui.errors import ConnectionFailed, NoAnswer
from solartui.links.broadcast import BroadcastListener
from solartui.registers.page_map import resolve_page_map
from solartui.sim.flexmax_pty import FlexmaxFaults, FlexmaxPtyServer

M = resolve_page_map("outback-flexmax")


async def _rig(faults=None, interval=0.05):
    sim = FlexmaxPtyServer(interval=interval, faults=faults)
    path = await sim.start()
    return sim, BroadcastListener(path, M)


def test_pages_arrive_and_decode():
    async def go():
        sim, link = await _rig()
        try:
            got = await link.wait_page(3)
            for _ in range(3):
                got = await link.wait_page(3)
            assert got.page.address == "A" and link.bad == 0 and link.good >= 4
            assert got.page.values["charger_mode"] == "Bulk"
            assert 20 <= got.page.values["battery_voltage"] <= 30
            # a pty has no modem lines: the link says so instead of failing
            assert not link.lines_set and "no modem control lines" in link.lines_note
            # the map's levels were handed to pyserial before it opened the port
            assert link._serial.dtr is True and link._serial.rts is False
            assert link._serial.baudrate == 19200 and not link._serial.rtscts
        finally:
            await link.close()
            await sim.stop()
    asyncio.run(go())


@pytest.mark.parametrize("fault", ["bad_checksum", "partial", "garbage"])
def test_faulty_pages_are_counted_and_dropped(fault):
    async def go():
        sim, link = await _rig(FlexmaxFaults(**{fault: True}))
        try:
            if fault == "bad_checksum":
                with pytest.raises(NoAnswer, match="bad page.*checksum"):
                    await link.wait_page(0.5)
            else:
                for _ in range(3):
                    r = await link.wait_page(3)
                    assert r.page.values["pv_voltage"] > 0
                if fault == "partial":
                    for _ in range(10):          # under load pages come in bunches: wait on
                        if link.bad:
                            break
                        await link.wait_page(3)
                    assert link.bad >= 1 and "characters" in link.last_error, link.last_error
        finally:
            await link.close()
            await sim.stop()
    asyncio.run(go())


def test_silence_and_rts_high_give_no_answer_with_a_hint():
    async def go():
        sim, link = await _rig(FlexmaxFaults(silent=True))
        try:
            with pytest.raises(NoAnswer, match="RTS cleared"):
                await link.wait_page(0.3)
            sim.faults.silent = False
            await link.wait_page(3)
            sim.rts_low = False                   # the PC raised RTS: the MATE stops
            await asyncio.sleep(0.15)
            with pytest.raises(NoAnswer):
                await link.wait_page(0.3)
        finally:
            await link.close()
            await sim.stop()
    asyncio.run(go())


def test_missing_port_is_one_clear_error(tmp_path):
    async def go():
        link = BroadcastListener(str(tmp_path / "ttyNOPE"), M)
        with pytest.raises(ConnectionFailed, match="does not exist"):
            await link.wait_page(0.1)
    asyncio.run(go())


def test_repeated_waits_and_close_twice():
    async def go():
        sim, link = await _rig()
        try:
            results = await asyncio.gather(*(link.wait_page(3) for _ in range(4)))
            assert all(r.page.address == "A" for r in results)
        finally:
            await link.close()
            await link.close()
            await sim.stop()
            await sim.stop()
    asyncio.run(go())


def test_the_write_gate_refuses_every_kind_for_every_door():
    from solartui.devices import gate
    from solartui.devices.gate import WriteRequest
    from solartui.errors import SolartuiError, WriteForbidden
    from solartui.session import Session

    async def go():
        sim = FlexmaxPtyServer(interval=0.05)
        path = await sim.start()
        session = Session()
        try:
            dev = await session.connect(f"broadcast://{path}?map=outback-flexmax")
            asked = []

            async def confirm(plans):
                asked.append(plans)
                return True
            for origin in ("cli", "tui", "http", "mqtt"):
                for req in (WriteRequest.point("aux_mode", "Remote"), WriteRequest.clock(),
                            WriteRequest.raw(0, [1]), WriteRequest.action("anything")):
                    with pytest.raises(WriteForbidden, match="is listen-only") as exc:
                        await gate.run(dev, [req], confirm, origin)
                    assert "\n" not in str(exc.value)
            assert asked == []
            await dev.latest(3)
            await asyncio.sleep(0.1)          # the simulator drains what the PC wrote
            assert sim.heard == 0 and sim.sent >= 1
            with pytest.raises(SolartuiError, match="disagrees"):
                await session.open(f"broadcast://{path}?map=outback-flexmax", "voltronic-pi30")
        finally:
            await session.close()
            await sim.stop()
    asyncio.run(go())


def test_broadcast_targets_round_trip():
    from solartui.errors import TargetError
    from solartui.links.target import parse_target
    for url in ("broadcast:///dev/ttyUSB0?map=outback-flexmax",
                "broadcast:///dev/serial/by-id/usb-FTDI-if00?map=outback-flexmax&baud=9600"
                "&timeout=2500"):
        t = parse_target(url)
        assert str(t) == url and parse_target(str(t)) == t and t.is_broadcast
        assert not t.is_pi30 and t.link_key == "broadcast://" + t.path
    for bad, why in (("broadcast:///dev/ttyUSB0", "needs map=ID"),
                     ("broadcast://host/x?map=a", "device path"),
                     ("broadcast:///dev/x?map=a&unit=1", "unknown option"),
                     ("broadcast:///dev/x?map=../etc", "needs map=ID")):
        with pytest.raises(TargetError, match=why):
            parse_target(bad)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=8))
def test_feeding_any_chunks_never_raises(chunks):
    link = BroadcastListener("/dev/null", M)
    for c in chunks:
        link.feed(c)
    link.feed(b"\nA,00,20,04,143,036,05,00,000,02,274,0082,00,070\r")
    assert link.latest["A"].page.values["pv_voltage"] == 143


def test_an_fx_page_on_the_same_mate_is_skipped_not_counted_bad():
    link = BroadcastListener("/dev/null", M)
    link.feed(b"\n0,00,00,00,119,000,00,00,000,01,254,008,000,031\r")   # the guide's FX page
    assert (link.foreign, link.bad, link.good) == (1, 0, 0)

"""The write flow driven through the TUI (Pilot) against the simulated inverter on loopback TCP:
edit -> confirm -> write -> read-back -> journal, and every way of not writing."""

from __future__ import annotations


import pytest
from textual.widgets import Button, Input, Select, Static

from solartui.devices.writes import REJECTED, VERIFIED
from solartui.errors import ValueRejected
from solartui.tui.screens.confirm import ConfirmScreen
from solartui.tui.screens.edit import EditScreen, RawEditScreen, parse_raw_words
from solartui.tui.write_flow import start_point_write, start_raw_write

from tui_rig import running, type_keys


@pytest.fixture
def rig(growatt_map, tmp_path):
    return lambda fast=True: running(growatt_map, tmp_path, fast)


async def type_text(pilot, text: str) -> None:
    await type_keys(pilot, text)


# --- confirmed --------------------------------------------------------------------------------

async def test_point_write_confirmed_verified_and_journalled(rig):
    async with rig(fast=False) as r:                   # the map's real read-back delay
        point = r.device.map.point("active_power_rate")
        worker = start_point_write(r.app.screen, point)     # reads the current value first
        edit = await r.screen(EditScreen)
        assert "current:" in " ".join(r.texts("#current"))
        assert edit.query_one("#ok", Button).disabled          # nothing entered yet
        await type_text(r.pilot, "80")
        await r.pilot.pause()
        assert not edit.query_one("#ok", Button).disabled
        assert "0x0050" in r.texts("#verdict")[0]
        await r.pilot.press("enter")

        confirm = await r.screen(ConfirmScreen)
        shown = " ".join(r.texts(".value"))
        for part in ("TEST123456", "active_power_rate", "80 %", "0x0050", "FC06", point.trust):
            assert part in shown, part
        assert confirm.query(".low-trust")                     # below hardware-verified
        assert r.app.focused is confirm.query_one("#cancel", Button)
        writes_before = r.bank.writes
        await r.pilot.click("#confirm")
        outcome = await worker.wait()

        assert outcome.status == VERIFIED, outcome.detail
        assert r.bank.writes == writes_before + 1
        assert r.bank.get_raw("holding", 3) == [80]
        [entry] = r.journal.entries()
        assert entry["point"] == "active_power_rate" and entry["outcome"] == VERIFIED
        assert entry["device"]["serial"] == "TEST123456"
        assert ("active_power_rate: verified — read back 80 %", "information") in r.notes
        await r.pilot.pause()
        assert [o.status for o in r.host.finished] == [VERIFIED]
        assert any("write active_power_rate: verified" in str(e) for e in r.session.traffic.entries)


# --- not written ------------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["escape", "cancel button", "stray enter"])
async def test_cancel_at_confirm_sends_nothing(rig, how):
    async with rig() as r:
        point = r.device.map.point("active_power_rate")
        worker = start_point_write(r.app.screen, point, current_text="100 %")
        await r.screen(EditScreen)
        await type_text(r.pilot, "42")
        await r.pilot.press("enter")
        await r.screen(ConfirmScreen)
        requests = r.device.link.stats.requests       # the plan's read of the old value is done
        writes = r.bank.writes
        if how == "escape":
            await r.pilot.press("escape")
        elif how == "cancel button":
            await r.pilot.click("#cancel")
        else:
            await r.pilot.press("enter")               # focus starts on Cancel
        assert await worker.wait() is None
        await r.pilot.pause(0.1)
        assert r.device.link.stats.requests == requests
        assert r.bank.writes == writes
        assert r.bank.get_raw("holding", 3) != [42]
        assert r.journal.entries() == []
        assert ("active_power_rate: cancelled, nothing written", "information") in r.notes
        assert r.app.screen is r.host


async def test_out_of_range_refused_inline(rig):
    async with rig() as r:
        point = r.device.map.point("active_power_rate")
        requests = r.device.link.stats.requests
        worker = start_point_write(r.app.screen, point, current_text="100 %")
        edit = await r.screen(EditScreen)
        assert start_point_write(r.host, point) is None    # one write flow at a time
        assert any("already in progress" in t for t, _ in r.notes)
        await type_text(r.pilot, "101")
        await r.pilot.pause()
        verdict = edit.query_one("#verdict", Static)
        assert "outside 0..100" in str(verdict.render()) and verdict.has_class("error")
        assert edit.query_one("#ok", Button).disabled
        await r.pilot.press("enter")                   # refused: the editor stays
        await r.pilot.pause()
        assert r.app.screen is edit
        await r.pilot.press("ctrl+u")                  # clear
        await type_text(r.pilot, "50.5")
        await r.pilot.pause()
        assert "not a multiple" in str(verdict.render())
        edit.query_one("#value", Input).value = "unlimited"   # a special value is fine
        await r.pilot.pause()
        assert not verdict.has_class("error") and "0x00FF" in str(verdict.render())
        await r.pilot.press("escape")
        assert await worker.wait() is None
        assert r.device.link.stats.requests == requests    # nothing at all went to the device
        assert r.journal.entries() == []


async def test_enum_point_through_the_select(rig):
    async with rig() as r:
        point = r.device.map.point("export_limit_enable")
        worker = start_point_write(r.app.screen, point, current_text="disabled")
        edit = await r.screen(EditScreen)
        select = edit.query_one("#value", Select)
        assert select.value == "disabled"
        assert r.app.focused is select
        await r.pilot.press("enter")                   # open the list
        await r.pilot.press("down", "down", "down", "enter")  # RS485 meter, RS232, CT
        await r.pilot.pause()
        assert select.value == "CT"
        assert "0x0003" in r.texts("#verdict")[0]
        await r.pilot.click("#ok")
        await r.screen(ConfirmScreen)
        assert "CT" in " ".join(r.texts(".value"))
        await r.pilot.click("#confirm")
        outcome = await worker.wait()
        assert outcome.status == VERIFIED, outcome.detail
        assert r.bank.get_raw("holding", 122) == [3]


async def test_raw_register_write(rig):
    async with rig() as r:
        worker = start_raw_write(r.app.screen, 3)       # reads the current word first
        edit = await r.screen(RawEditScreen)
        assert "0x" in r.texts("#current")[0]
        await type_text(r.pilot, "70000")
        await r.pilot.pause()
        assert edit.query_one("#ok", Button).disabled
        assert "outside 0..65535" in r.texts("#verdict")[0]
        await r.pilot.press("ctrl+u")
        await type_text(r.pilot, "0x3c")
        await r.pilot.pause()
        assert not edit.query_one("#ok", Button).disabled
        await r.pilot.press("enter")
        await r.screen(ConfirmScreen)
        shown = " ".join(r.texts(".value"))
        assert "holding 3" in shown and "0x003C" in shown and "FC06" in shown
        await r.pilot.click("#confirm")
        outcome = await worker.wait()
        assert outcome.status == VERIFIED, outcome.detail
        assert r.bank.get_raw("holding", 3) == [60]
        assert r.journal.entries()[-1]["point"] == "holding 3"


async def test_rejected_write_notified_and_journalled(rig):
    async with rig() as r:
        point = r.device.map.point("active_power_rate")
        worker = start_point_write(r.app.screen, point, current_text="100 %")
        await r.screen(EditScreen)
        await type_text(r.pilot, "60")
        await r.pilot.press("enter")
        await r.screen(ConfirmScreen)
        r.faults.exception = 3
        await r.pilot.click("#confirm")
        outcome = await worker.wait()
        r.faults.exception = None
        assert outcome.status == REJECTED
        assert any("rejected" in text and "exception 3" in text and sev == "error"
                   for text, sev in r.notes)
        assert r.journal.entries()[-1]["outcome"] == REJECTED


def test_parse_raw_words():
    assert parse_raw_words("1 0x10, 65535") == [1, 16, 65535]
    for bad in ("", "-1", "65536", "0xZZ", "1.5"):
        with pytest.raises(ValueRejected):
            parse_raw_words(bad)

"""Named actions from the TUI against the simulated GivEnergy dongle on loopback: chosen with
`a` on the live screen, confirmed once with every register listed, written in order, read back
and journalled; a refused value and a cancel send nothing."""

from __future__ import annotations

from contextlib import asynccontextmanager

import pytest
from textual.widgets import Button, Select

from solartui.devices.writes import VERIFIED
from solartui.givenergy.frame import WriteRequest
from solartui.journal import Journal
from solartui.session import Session
from solartui.sim.givenergy_dongle import GivEnergyDongle
from solartui.traffic import TrafficLog
from solartui.tui.app import SolartuiApp
from solartui.tui.screens.action import ActionScreen
from solartui.tui.screens.confirm import ConfirmScreen
from solartui.tui.screens.live import LiveScreen

from tui_rig import Rig, fast_readback, record_notifications, type_keys


@asynccontextmanager
async def givenergy_app(tmp_path):
    dongle = GivEnergyDongle(heartbeat_interval=1.0)
    port = await dongle.start()
    session = Session(Journal(tmp_path / "j.jsonl"), TrafficLog())
    try:
        await session.connect(f"givenergy://127.0.0.1:{port}?period=0&timeout=1000")
        fast_readback(session.device)
        app = SolartuiApp(session=session)
        async with app.run_test(size=(120, 40)) as pilot:
            rig = Rig(app, pilot, None, None, session, None, record_notifications(app))
            rig.dongle = dongle
            yield rig
    finally:
        await session.close()
        await dongle.stop()


@pytest.fixture
def rig(tmp_path):
    return lambda: givenergy_app(tmp_path)


def writes(dongle):
    return [(m.register, m.value) for m in dongle.requests if isinstance(m, WriteRequest)]


async def choose(r, name: str, args: str) -> ActionScreen:
    await r.screen(LiveScreen)
    await r.pilot.press("a")
    chooser = await r.screen(ActionScreen)
    chooser.query_one("#action", Select).value = name
    await r.pilot.pause()
    chooser.query_one("#value").focus()
    await type_keys(r.pilot, args)
    return chooser


async def test_charge_slot_action_confirmed_as_a_whole(rig):
    async with rig() as r:
        chooser = await choose(r, "set-charge-slot-1", "01:30 04:30")
        assert not chooser.query_one("#ok", Button).disabled
        await r.pilot.click("#ok")
        await r.screen(ConfirmScreen)
        shown = " ".join(r.texts(".value"))
        for part in ("set-charge-slot-1 01:30 04:30", "HR94 charge_slot_1_start", "01:30",
                     "HR95 charge_slot_1_end", "HR96 enable_charge", "0x0082",
                     r.dongle.plant.inverter_serial):
            assert part in shown, part
        await r.pilot.click("#confirm")
        await r.until(lambda: len(r.journal.entries()) == 3)
        assert [(e["address"], e["outcome"], e["action"]) for e in r.journal.entries()] == [
            (94, VERIFIED, "set-charge-slot-1"), (95, VERIFIED, "set-charge-slot-1"),
            (96, VERIFIED, "set-charge-slot-1")]
        assert writes(r.dongle) == [(94, 130), (95, 430), (96, 1)]


async def test_bad_arguments_refused_before_anything_is_sent(rig):
    async with rig() as r:
        chooser = await choose(r, "set-charge-slot-1", "0130 04:30")
        assert chooser.query_one("#ok", Button).disabled        # the shape is checked inline
        assert "HH:MM" in r.texts("#verdict")[0]
        chooser.query_one("#value").value = "25:00 04:30"       # shape fine, range is the map's
        await r.pilot.pause()
        await r.pilot.click("#ok")
        await r.until(lambda: any("nothing written" in m for m, _ in r.notes))
        assert not isinstance(r.app.screen, ConfirmScreen)
        assert writes(r.dongle) == [] and r.journal.entries() == []


async def test_cancel_at_confirmation_sends_nothing(rig):
    async with rig() as r:
        await choose(r, "set-battery-reserve", "30")
        await r.pilot.click("#ok")
        await r.screen(ConfirmScreen)
        await r.pilot.press("escape")
        await r.until(lambda: any("cancelled" in m for m, _ in r.notes))
        assert writes(r.dongle) == [] and r.journal.entries() == []


async def test_givenergy_labels_and_citation_on_the_live_screen(rig):
    """Through the real dongle path: coded values show their labels, and the detail cites the
    reference by its title (no note file of ours)."""
    from textual.widgets import DataTable
    async with rig() as r:
        live = await r.screen(LiveScreen)
        table = live.query_one("#points", DataTable)
        live.action_focus_filter()
        await r.pilot.press(*"mode", "enter")          # battery_power_mode, system_mode
        await r.until(lambda: str(table.get_cell("battery_power_mode", "value")) != "")
        assert str(table.get_cell("battery_power_mode", "value")) in ("eco", "export")
        table.move_cursor(row=[p.name for p in live._shown].index("system_mode"))
        await r.pilot.pause()
        detail = r.text("#detail")
        assert "GivEnergy LAN reference" in detail and "IR49" in detail
        assert ".md" not in detail and "No meanings are published" in detail

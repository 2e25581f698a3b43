"""The clock screen driven through the TUI (Pilot) against the simulated inverter on loopback TCP:
drift shown, sync with confirmation and read-back, a silent device and its recovery."""

from __future__ import annotations

from dataclasses import replace

import pytest

from solartui.devices.writes import VERIFIED
from solartui.tui.screens.clock import ClockScreen, drift_text
from solartui.tui.screens.confirm import ConfirmScreen

from tui_rig import running


async def open_clock(r, interval: float = 0.2) -> ClockScreen:
    screen = ClockScreen(interval=interval)
    await r.app.push_screen(screen)
    await r.until(lambda: screen.last_good is not None)
    await r.pilot.pause()
    return screen


@pytest.fixture
def rig(growatt_map, tmp_path):
    return lambda: running(growatt_map, tmp_path)


async def test_drift_shown_and_sync_verified(rig):
    async with rig() as r:
        r.bank.clock_offset = 3600.0
        set_clock = r.session.device.set_clock       # read back after 50 ms, not 1 s
        r.session.device.set_clock = lambda plan: set_clock(replace(plan, readback_delay=0.05))
        screen = await open_clock(r)
        assert abs(screen.last_good.drift - 3600) < 5
        assert "+3600 s" in r.text("#drift") or "+3599 s" in r.text("#drift")
        assert "auto" in r.text("#year") and "26" in r.text("#year")
        assert "45..50" in r.text("#source")

        # cancelled first: nothing written
        writes = r.bank.writes
        await r.pilot.press("s")
        confirm = await _confirm(r)
        assert str(confirm.query_one("#title").render()) == "Set the device clock?"
        await r.pilot.press("escape")
        await r.until(lambda: "cancelled" in screen.outcome_text)
        assert r.bank.writes == writes and r.session.journal.entries() == []

        # then confirmed: written, read back, journalled; the drift after is near 0
        await r.pilot.click("#sync")
        await _confirm(r)
        await r.pilot.click("#confirm")
        await r.until(lambda: "drift after" in screen.outcome_text, timeout=6)
        assert f": {VERIFIED} — read back" in screen.outcome_text
        assert abs(screen.last_good.drift) < 3
        assert abs(r.bank.clock_offset) < 3
        entry = r.session.journal.entries()[-1]
        assert entry["point"] == "clock" and entry["outcome"] == VERIFIED
        assert entry["words"][0] < 100                 # the map's year encoding: auto -> 26
        assert any("clock: verified" in t and sev == "information" for t, sev in r.notes)

        await r.pilot.press("escape")
        await r.pilot.pause()
        assert r.app.screen is r.host


async def test_silent_device_shows_reason_keeps_last_reading_and_recovers(rig):
    async with rig() as r:
        screen = await open_clock(r, interval=0.1)
        r.faults.silent = True
        await r.until(lambda: screen.last_error is not None, timeout=10)
        good = screen.last_good         # (a read on the wire as the device fell silent counts)
        assert good is not None
        await r.pilot.pause(0.1)
        assert "no answer" in r.text("#status") and "retrying" in r.text("#status")
        assert "last good reading" in r.text("#device-time")
        reads = screen.reads
        await r.until(lambda: screen.reads > reads, timeout=10)  # still retrying
        assert screen.last_good is good                # kept, not blanked
        r.faults.silent = False
        await r.until(lambda: screen.last_error is None and screen.last_good is not good,
                      timeout=5)
        await r.pilot.pause()
        assert "no answer" not in r.text("#status")
        assert "last good reading" not in r.text("#device-time")


async def test_leaving_mid_sync_still_journals(rig):
    async with rig() as r:
        r.bank.clock_offset = -600.0
        await open_clock(r)
        await r.pilot.press("s")
        await _confirm(r)
        await r.pilot.click("#confirm")
        await r.pilot.pause(0.05)           # the write is on its way (1 s read-back delay)
        await r.pilot.press("escape")       # leave the clock screen: its workers are cancelled
        assert r.app.screen is r.host
        await r.until(lambda: r.session.journal.entries(), timeout=4)
        assert r.session.journal.entries()[-1]["outcome"] == VERIFIED
        await r.until(lambda: any("clock: verified" in t for t, _ in r.notes))


def test_drift_text():
    assert drift_text(None) == "—"
    assert drift_text(1.24) == "+1.2 s"
    assert drift_text(-3600) == "−3600 s (−1:00:00)"
    assert drift_text(90) == "+90 s (+1:30)"


async def _confirm(r) -> ConfirmScreen:
    await r.until(lambda: isinstance(r.app.screen, ConfirmScreen))
    await r.pilot.pause()
    return r.app.screen

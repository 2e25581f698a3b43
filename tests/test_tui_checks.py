"""The Checks screen (f8): the same commissioning checks as `solartui check`, one row each,
against the simulated inverter — a pass, a reversed CT's fail with its evidence, run again."""

from __future__ import annotations

from textual.widgets import DataTable

from solartui.tui.screens.checks import ChecksScreen

from tui_rig import running


async def test_checks_screen_verdicts_and_rerun(growatt_map, tmp_path):
    async with running(growatt_map, tmp_path) as r:
        r.bank.sun = 0.9
        r.bank.faults.reversed_ct = True
        r.bank.tick()
        screen = ChecksScreen(window_s=0.2, samples=3)
        r.app.push_screen(screen)
        await r.until(lambda: not screen.running and len(screen.verdicts) == 6, timeout=15)
        table = screen.query_one("#checks", DataTable)
        assert table.row_count == 6
        status = {v.check: v.status for v in screen.verdicts}
        assert status["identity"] == "pass" and status["ct_direction"] == "fail"
        assert "not ready to sign off" in r.text("#checks-status")
        table.move_cursor(row=2)
        await r.pilot.pause()
        assert "reversed CT" in r.text("#checks-detail") and "readings" in r.text("#checks-detail")
        r.bank.faults.reversed_ct = False
        r.bank.tick()
        await r.pilot.press("r")
        await r.until(lambda: not screen.running and len(screen.verdicts) == 6, timeout=15)
        assert {v.check: v.status for v in screen.verdicts}["ct_direction"] == "pass"
        await r.pilot.press("escape")
        await r.until(lambda: not isinstance(r.app.screen, ChecksScreen))


async def test_f8_opens_the_checks_screen(growatt_map, tmp_path):
    async with running(growatt_map, tmp_path) as r:
        await r.pilot.press("f8")
        screen = await r.screen(ChecksScreen)
        await r.pilot.press("f8")
        await r.until(lambda: r.app.screen is not screen)

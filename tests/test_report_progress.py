"""A report that takes seconds says how far it is: the TUI's f6 shows read k of n in a dialog
(Escape stops it, nothing written); the CLI prints plain progress lines on stderr when it is not
a terminal. Against the simulated Growatt on loopback."""

from __future__ import annotations

from procs import run_cli, simulator
from tui_rig import running


async def _report_started(rig):
    from solartui.tui.screens.report_form import ReportFormScreen
    from solartui.tui.screens.report_progress import ReportProgressScreen
    await rig.pilot.press("f6")
    await rig.screen(ReportFormScreen)
    await rig.pilot.press("f6")
    await rig.until(lambda: isinstance(rig.app.screen, ReportProgressScreen))
    return rig.app.screen                   # (it may be gone after one more pause)


async def test_f6_shows_each_read_then_where_it_wrote(growatt_map, tmp_path):
    async with running(growatt_map, tmp_path) as rig:
        rig.faults.delay = 0.05                  # each read takes a moment, as on a real line
        progress = await _report_started(rig)
        await rig.until(lambda: any(m.startswith("report written") for m, _ in rig.notes), 20)
        assert progress.steps[0].startswith("1/6: reading input 0–")
        assert progress.steps[-1] == "6/6: reading the clock" and len(progress.steps) == 6
        assert rig.app.screen is rig.host                 # the dialog is gone


async def test_escape_stops_the_report_and_writes_nothing(growatt_map, tmp_path):
    async with running(growatt_map, tmp_path) as rig:
        rig.faults.delay = 0.3
        progress = await _report_started(rig)
        await rig.pilot.press("f6")                       # one report at a time
        await rig.pilot.pause()
        assert rig.app.screen is progress
        await rig.pilot.press("escape")
        await rig.until(lambda: rig.app.screen is rig.host)
        assert any(m.startswith("report stopped") for m, _ in rig.notes)
        await rig.pilot.pause(0.4)
        assert not any(m.startswith("report written") for m, _ in rig.notes)
        assert not any("internal error" in m for m, _ in rig.notes)


async def test_cli_report_prints_progress_lines_when_not_a_terminal(tmp_path):
    async with simulator("growatt-protocol-ii", "--tcp", "127.0.0.1:0") as target:
        url = f"{target}{'&' if '?' in target else '?'}period=200&timeout=1000"
        code, out, err = await run_cli("report", url, "--map", "growatt-protocol-ii", "-o", "-")
    assert code == 0, err
    lines = [ln for ln in err.splitlines() if ln.startswith("report: ")]
    assert lines and lines[-1] == "report: 6/6 reading the clock", err
    assert all(" reading " in ln for ln in lines) and "\x1b" not in err    # plain, no bar
    assert out.startswith("# Commissioning report")

"""The TUI has no screen for a listen-only device yet: connecting says so in one notification
and the session stays as it was (no crash on the register live screen)."""

from __future__ import annotations

from textual.worker import WorkerFailed

from solartui.session import Session
from solartui.traffic import TrafficLog
from solartui.tui.app import SolartuiApp

from tui_rig import record_notifications


async def test_connecting_a_broadcast_target_is_refused_in_one_notification(tmp_path):
    session = Session(None, TrafficLog())
    app = SolartuiApp(session=session)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            notes = record_notifications(app)
            app.connect(f"broadcast://{tmp_path}/tty?map=outback-flexmax")
            try:
                await app.workers.wait_for_complete()
            except WorkerFailed:
                pass
            await pilot.pause()
            assert session.device is None
            said = [m for m, _sev in notes if "listen-only" in m]
            assert len(said) == 1 and "solartui read" in said[0], notes
    finally:
        await session.close()

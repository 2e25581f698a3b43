"""A TUI test rig shared by the write and clock tests: the simulated inverter on loopback TCP, a
connected session, the app under Pilot on a quiet base screen (no polling, so request counts are
the flow's own), and every notification recorded."""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from solartui.journal import Journal
from solartui.session import Session
from solartui.sim.modbus_server import Faults, ModbusSimulator
from solartui.sim.register_bank import RegisterBank
from solartui.traffic import TrafficLog
from solartui.tui.app import SolartuiApp
from solartui.tui.write_flow import WriteFinished


class Host(Screen):
    """A quiet base screen that records the WriteFinished messages it gets."""

    def __init__(self) -> None:
        super().__init__()
        self.finished: list = []

    def compose(self) -> ComposeResult:
        yield Static("host")

    def on_write_finished(self, message: WriteFinished) -> None:
        self.finished.append(message.outcome)


def record_notifications(app) -> list[tuple[str, str]]:
    """Keep every notification (message, severity) the app shows, for the test to assert on."""
    notes: list[tuple[str, str]] = []
    real_notify = app.notify

    def notify(message, *args, **kw):
        notes.append((str(message), kw.get("severity", "information")))
        return real_notify(message, *args, **kw)

    app.notify = notify
    return notes


@dataclass
class Rig:
    app: SolartuiApp
    pilot: object
    bank: RegisterBank
    faults: Faults
    session: Session
    host: Host
    notes: list

    @property
    def device(self):
        return self.session.device

    @property
    def journal(self):
        return self.session.journal

    def text(self, selector: str) -> str:
        return str(self.app.screen.query_one(selector).render())

    def texts(self, selector: str) -> list[str]:
        return [str(w.render()) for w in self.app.screen.query(selector)]

    async def until(self, cond, timeout: float = 5.0) -> None:
        end = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > end:
                raise AssertionError(f"timed out; screen is {self.app.screen!r}; "
                                     f"notes {self.notes}")
            await self.pilot.pause(0.02)

    async def screen(self, cls):
        await self.until(lambda: isinstance(self.app.screen, cls))
        await self.pilot.pause()
        return self.app.screen


def fast_readback(device) -> None:
    """Read back after 50 ms instead of the map's 1 s."""
    execute = device.execute_write
    device.execute_write = lambda plan: execute(replace(plan, readback_delay=0.05))


@asynccontextmanager
async def running(growatt_map, tmp_path, fast: bool = False):
    bank = RegisterBank(growatt_map, unit=1, identity={"serial": "TEST123456"})
    faults = Faults()
    sim = ModbusSimulator([bank], faults=faults)
    port = await sim.start_tcp("127.0.0.1", 0)
    session = Session(Journal(tmp_path / "j.jsonl"), TrafficLog())
    try:
        # the timeout is generous: a reply late under a loaded 2-core machine is not the test
        await session.connect(f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=1000",
                              "growatt-protocol-ii")
        if fast:
            fast_readback(session.device)
        app = SolartuiApp(session=session)
        async with app.run_test(size=(120, 40)) as pilot:
            notes = record_notifications(app)
            host = Host()
            app.switch_to(host)
            await pilot.pause()
            yield Rig(app, pilot, bank, faults, session, host, notes)
    finally:
        await session.close()
        await sim.stop()


# --- pressing a key more than once, the ways it happens ------------------------------------------

#: how a repeated key arrives: all at once (a terminal delivering a fast double press in one read),
#: Pilot's presses back to back, and with a tiny pause between them
REPEATS = [("burst", 2), ("burst", 3), ("press", 2), ("press", 3), ("paused", 2), ("paused", 3)]
#: for all but the reported dialogs (the live editor and the confirmation, which take every
#: pairing): every way of arriving and both counts, without every pairing
REPEATS_SHORT = [("burst", 3), ("press", 2), ("paused", 3)]


async def press_repeatedly(pilot, key: str, times: int, how: str) -> None:
    from textual import events

    app = pilot.app

    def post() -> None:
        event = events.Key(key, "\r" if key == "enter" else None)
        event.set_sender(app)
        app.post_message(event)

    if how == "burst":                  # queued before the first is handled, as from a terminal
        for _ in range(times):
            post()
    elif how == "press":
        await pilot.press(*[key] * times)
    else:
        # 15 ms apart as a person's fast double press is: posted here, because Pilot.press
        # waits for the app to go idle after each key, which on a loaded machine stretches the
        # pause past the dialogs' repeat guard (0.5 s) and makes it a second, deliberate press
        for i in range(times):
            if i:
                await asyncio.sleep(0.015)
            post()
    await pilot.pause()


# --- typing text ---------------------------------------------------------------------------------

async def type_keys(pilot, text: str) -> None:
    """Type `text` as a terminal delivers fast typing or a paste: one key event a character (the
    names and characters the terminal driver gives them), all queued, then one wait for the app
    to have handled them. Pilot.press waits for the app to go idle after every key, which costs a
    tenth of a second to a second a key on a busy 2-core machine; the keys are the same."""
    from textual import events
    from textual.keys import _character_to_key

    app = pilot.app
    for char in text:
        event = events.Key(_character_to_key(char), char)
        event.set_sender(app)
        app.post_message(event)
    await pilot.pause()

"""The write flow, usable from any screen: enter -> (the write gate: plan -> confirm -> execute).

Each `start_*` function starts one worker on the calling screen (group "write", exit_on_error
False) and returns it. The worker opens the editor, builds a WriteRequest and hands it to the one
write gate (solartui.devices.gate) with this door's confirm step — the ConfirmScreen — and origin
"tui". The gate validates (a refused value never reaches the wire), asks, sends, reads back and
journals; every outcome is recorded in the traffic log, notified and posted to the screen as
`WriteFinished(outcome)` so it can refresh.

Cancelling (Escape / Cancel in a dialog) sends nothing. Leaving the screen while a confirmed write
is on the wire cancels the worker but not the write: it runs to its outcome, which is journalled,
recorded and notified all the same. `device` defaults to the session's device; the server pane
passes an inverter behind a datalogger.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from solartui.devices import gate
from solartui.devices.gate import WriteRequest
from solartui.devices.writes import (
    MISMATCHED, NO_ANSWER, REJECTED, UNVERIFIED, VERIFIED, WriteOutcome, WritePlan,
)
from solartui.errors import LinkError, SolartuiError, ValueRejected
from solartui.registers.model import Point
from solartui.tui.screens.confirm import ConfirmScreen
from solartui.tui.screens.edit import EditScreen, RawEditScreen

GROUP = "write"

SEVERITY = {VERIFIED: "information", MISMATCHED: "warning", UNVERIFIED: "warning",
            REJECTED: "error", NO_ANSWER: "error"}


class WriteFinished(Message):
    """A confirmed write (or clock set) reached its outcome (already journalled)."""

    def __init__(self, outcome: WriteOutcome) -> None:
        super().__init__()
        self.outcome = outcome


def write_in_progress(app) -> bool:
    return any(w.group == GROUP and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
               for w in app.workers)


def start_point_write(screen: Screen, point: Point, current_text: str | None = None,
                      device=None, title: str = "Write to the device?") -> Worker | None:
    """Edit, confirm and write one map point. `current_text` None: the value is read first."""

    async def enter(app, device):
        text = current_text
        if text is None and point.readable:
            reading = await device.read_point(point)
            text = reading.decoded.text if reading.ok else f"(could not be read: {reading.error})"
        value = await app.push_screen_wait(EditScreen(point, text))
        return None if value is None else WriteRequest.point(point.name, value)

    return _start(screen, point.name, enter, title, device)


def start_raw_write(screen: Screen, address: int,
                    current_words: list[int] | tuple[int, ...] | None = None,
                    device=None, title: str = "Write to the device?") -> Worker | None:
    """Enter, confirm and write raw holding register words from `address` on."""

    async def enter(app, device):
        words = current_words
        if words is None:
            try:
                words = await device.link.read(3, device.unit, address, 1)
            except LinkError:
                words = None
        words = await app.push_screen_wait(RawEditScreen(address, words))
        return None if words is None else WriteRequest.raw(address, list(words))

    return _start(screen, f"holding {address}", enter, title, device)


def start_setting_write(screen: Screen, setting, current_text: str | None = None
                        ) -> Worker | None:
    """Choose or enter, confirm and write one setting of a command device (PI30)."""
    from solartui.tui.screens.setting_edit import SettingEditScreen

    async def enter(app, device):
        value = await app.push_screen_wait(SettingEditScreen(setting, current_text,
                                                             device.context))
        return None if value is None else WriteRequest.point(setting.name, value)

    return _start(screen, setting.name, enter)


def start_action(screen: Screen) -> Worker | None:
    """Choose a named action, plan every step, confirm the whole list once, run it in order."""
    from solartui.devices.actions import actions_for
    from solartui.tui.screens.action import ActionScreen
    app = screen.app
    device = app.session.device
    actions = actions_for(device.map) if device is not None else {}
    if device is not None and not actions:
        app.notify(f"map {device.map.id} offers no actions", severity="warning")
        return None

    async def enter(app, device):
        chosen = await app.push_screen_wait(ActionScreen(actions))
        if chosen is None:
            return None
        action, args = chosen
        return WriteRequest.action(action.name, args)

    return _start(screen, "action", enter, "Run the action?")


def start_clock_sync(screen: Screen, device=None,
                     title: str = "Set the device clock?") -> Worker | None:
    """Confirm and set the device clock to host time; verified by read-back."""

    async def enter(app, device):
        return WriteRequest.clock()

    return _start(screen, "clock", enter, title, device)


# --- the flow ----------------------------------------------------------------------------------

Enter = Callable[[Any, Any], Awaitable[WriteRequest | None]]


def _may_start(app, device) -> bool:
    if device is None:
        app.notify("not connected: open a target first (ctrl+o)", severity="warning")
        return False
    if write_in_progress(app):
        app.notify("a write is already in progress; wait for its outcome", severity="warning")
        return False
    return True


def _start(screen: Screen, name: str, enter: Enter, title: str = "Write to the device?",
           device=None) -> Worker | None:
    app = screen.app
    device = device if device is not None else app.session.device
    if not _may_start(app, device):
        return None
    return screen.run_worker(_flow(screen, device, name, enter, title),
                             name=f"write {name}", group=GROUP, exclusive=False,
                             exit_on_error=False)


async def _flow(screen, device, name, enter, title):
    """The worker: one outcome (a list for an action), or None when nothing was written."""
    app = screen.app
    request = await enter(app, device)
    if request is None:
        return _cancelled(app, name)

    async def confirm(plans: list[WritePlan]) -> bool:
        return bool(await app.push_screen_wait(ConfirmScreen(_confirmable(request, plans),
                                                             _title(request, plans, title))))

    try:
        outcomes = await gate.run(device, request, confirm, "tui",
                                  on_outcome=lambda o: report(app, screen, o),
                                  on_step=lambda k, n, p: _step(app, request.name, k, n, p))
    except ValueRejected as exc:
        app.notify(f"{exc} — nothing written", title="value refused", severity="warning",
                   timeout=8)
        return None
    except SolartuiError as exc:
        app.notify(f"{request.name}: {exc} — nothing written", severity="error", timeout=8)
        return None
    if outcomes is None:
        return _cancelled(app, request.name)
    return outcomes if request.kind == gate.ACTION else outcomes[0]


def _step(app, name: str, k: int, n: int, plan: WritePlan) -> None:
    """Several writes confirmed as one (an action): say which one is on the wire now."""
    if app.is_running:
        app.notify(f"{name}: step {k} of {n}: {plan.name} → {plan.new_text}…", timeout=3)


def _confirmable(request: WriteRequest, plans: list[WritePlan]):
    if request.kind == gate.ACTION and not (len(plans) == 1 and plans[0].name == "clock"):
        from solartui.tui.screens.action import ActionPlan
        return ActionPlan(request.name, request.args, tuple(plans))
    return plans[0]


def _title(request: WriteRequest, plans: list[WritePlan], title: str) -> str:
    if request.kind == gate.ACTION:
        return ("Set the device clock?" if plans[0].name == "clock"
                else f"Run {request.name}?")
    return title


def _cancelled(app, name: str) -> None:
    app.notify(f"{name}: cancelled, nothing written")
    if app.session.traffic is not None:
        app.session.traffic.note(f"write {name}: cancelled, nothing written")
    return None


def report(app, screen, outcome: WriteOutcome) -> None:
    """Traffic log, notification, WriteFinished: what every outcome gets after the journal —
    also when the worker that started it was cancelled (its screen was left)."""
    if not app.is_running:
        return
    app.session.record(outcome)
    app.notify(outcome.line(), title=f"write {outcome.status}",
               severity=SEVERITY.get(outcome.status, "warning"),
               timeout=6 if outcome.status == VERIFIED else 10)
    screen.post_message(WriteFinished(outcome))

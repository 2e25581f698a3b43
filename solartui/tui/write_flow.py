"""The write flow, usable from any screen: enter -> plan -> confirm -> execute -> outcome.

Each `start_*` function starts one worker on the calling screen (group "write", exit_on_error
False) and returns it. The worker opens the editor, plans the write (validation and the old value;
a refused value never reaches the wire), asks for confirmation, executes it (the device layer
writes, reads back and journals), records the outcome in the traffic log, notifies the person and
posts `WriteFinished(outcome)` to the screen so it can refresh.

Cancelling (Escape / Cancel in a dialog) sends nothing. Leaving the screen while a confirmed write
is on the wire cancels the worker but not the write: it runs to its outcome, which is journalled,
recorded and notified all the same.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable

from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from solartui.devices.writes import (
    MISMATCHED, NO_ANSWER, REJECTED, UNVERIFIED, VERIFIED, WriteOutcome, WritePlan,
)
from solartui.errors import LinkError, SolartuiError, ValueRejected
from solartui.registers.model import Point
from solartui.tui.screens.confirm import ConfirmScreen
from solartui.tui.screens.edit import EditScreen, RawEditScreen, words_text

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


def start_point_write(screen: Screen, point: Point,
                      current_text: str | None = None) -> Worker | None:
    """Edit, confirm and write one map point. `current_text` None: the value is read first."""

    async def enter(app, device):
        text = current_text
        if text is None and point.readable:
            reading = await device.read_point(point)
            text = reading.decoded.text if reading.ok else f"(could not be read: {reading.error})"
        return await app.push_screen_wait(EditScreen(point, text))

    return _start(screen, point.name, enter,
                  lambda device, text: device.plan_write(point.name, text),
                  lambda device, plan: device.execute_write(plan))


def start_raw_write(screen: Screen, address: int,
                    current_words: list[int] | tuple[int, ...] | None = None) -> Worker | None:
    """Enter, confirm and write raw holding register words from `address` on."""

    async def enter(app, device):
        words = current_words
        if words is None:
            try:
                words = await device.link.read(3, device.unit, address, 1)
            except LinkError:
                words = None
        return await app.push_screen_wait(RawEditScreen(address, words))

    return _start(screen, f"holding {address}", enter,
                  lambda device, words: device.plan_raw_write(address, list(words)),
                  lambda device, plan: device.execute_write(plan))


def start_setting_write(screen: Screen, setting, current_text: str | None = None
                        ) -> Worker | None:
    """Choose or enter, confirm and write one setting of a command device (PI30)."""
    from solartui.tui.screens.setting_edit import SettingEditScreen

    async def enter(app, device):
        return await app.push_screen_wait(SettingEditScreen(setting, current_text,
                                                            device.context))

    return _start(screen, setting.name, enter,
                  lambda device, text: device.plan_write(setting.name, text),
                  lambda device, plan: device.execute_write(plan))


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
    return screen.run_worker(_action_flow(screen, ActionScreen(actions)), name="action",
                             group=GROUP, exclusive=False, exit_on_error=False) \
        if _may_start(app) else None


async def _action_flow(screen, chooser) -> list[WriteOutcome] | None:
    from solartui.devices.actions import plan_action, run_action
    from solartui.tui.screens.action import ActionPlan
    app = screen.app
    device = app.session.device
    chosen = await app.push_screen_wait(chooser)
    if chosen is None:
        return _cancelled(app, "action")
    action, args = chosen
    if action.clock:
        plan = await _plan_or_notify(app, action.name, device.plan_clock())
        if plan is None:
            return None
        if not await app.push_screen_wait(ConfirmScreen(plan, "Set the device clock?")):
            return _cancelled(app, action.name)
        return [await _execute(app, screen, device, plan, lambda d, p: d.set_clock(p))]
    plans = await _plan_or_notify(app, action.name, plan_action(device, action, args))
    if plans is None:
        return None
    whole = ActionPlan(action.name, tuple(args), tuple(plans))
    if not await app.push_screen_wait(ConfirmScreen(whole, f"Run {action.name}?")):
        return _cancelled(app, action.name)
    task = asyncio.get_running_loop().create_task(run_action(device, plans),
                                                  name=f"action {action.name}")
    outcomes = await asyncio.shield(task)         # journalled step by step by the device
    for outcome in outcomes:
        report(app, screen, outcome)
    return outcomes


async def _plan_or_notify(app, name: str, coro):
    try:
        return await coro
    except asyncio.CancelledError:
        raise
    except ValueRejected as exc:
        app.notify(f"{exc} — nothing written", title="value refused", severity="warning",
                   timeout=8)
    except SolartuiError as exc:
        app.notify(f"{name}: {exc} — nothing written", severity="error", timeout=8)
    return None


def _may_start(app) -> bool:
    if app.session.device is None:
        app.notify("not connected: open a target first (ctrl+o)", severity="warning")
        return False
    if write_in_progress(app):
        app.notify("a write is already in progress; wait for its outcome", severity="warning")
        return False
    return True


def start_clock_sync(screen: Screen) -> Worker | None:
    """Confirm and set the device clock to host time; verified by read-back."""
    return _start(screen, "clock", None,
                  lambda device, _: device.plan_clock(),
                  lambda device, plan: device.set_clock(plan),
                  title="Set the device clock?")


# --- the flow ----------------------------------------------------------------------------------

Enter = Callable[[Any, Any], Awaitable[Any]]


def _start(screen: Screen, name: str, enter: Enter | None,
           plan: Callable[[Any, Any], Awaitable[WritePlan]],
           execute: Callable[[Any, WritePlan], Awaitable[WriteOutcome]],
           title: str = "Write to the device?") -> Worker | None:
    app = screen.app
    if not _may_start(app):
        return None
    return screen.run_worker(_flow(screen, name, enter, plan, execute, title),
                             name=f"write {name}", group=GROUP, exclusive=False,
                             exit_on_error=False)


async def _flow(screen, name, enter, plan_fn, execute, title) -> WriteOutcome | None:
    app = screen.app
    device = app.session.device
    entry = None
    if enter is not None:
        entry = await enter(app, device)
        if entry is None:
            return _cancelled(app, name)
    plan = await _plan_or_notify(app, name, plan_fn(device, entry))
    if plan is None:
        return None
    if not await app.push_screen_wait(ConfirmScreen(plan, title)):
        return _cancelled(app, name)
    return await _execute(app, screen, device, plan, execute)


def _cancelled(app, name: str) -> None:
    app.notify(f"{name}: cancelled, nothing written")
    if app.session.traffic is not None:
        app.session.traffic.note(f"write {name}: cancelled, nothing written")
    return None


async def _execute(app, screen, device, plan: WritePlan, execute) -> WriteOutcome:
    """Run the confirmed write to its outcome even if the worker is cancelled meanwhile."""
    task = asyncio.get_running_loop().create_task(execute(device, plan),
                                                  name=f"write {plan.name}")
    try:
        outcome = await asyncio.shield(task)
    except asyncio.CancelledError:
        task.add_done_callback(lambda t: _late(app, screen, plan, t))
        raise
    report(app, screen, outcome)
    return outcome


def _late(app, screen, plan: WritePlan, task: asyncio.Task) -> None:
    """The outcome of a write whose worker was cancelled (its screen was left).

    The journal already has it (the device layer wrote it); the person is told if the app runs.
    """
    if not app.is_running:
        return
    if task.cancelled():
        app.notify(f"{plan.name}: the write was interrupted; its outcome is unknown "
                   f"(raw {words_text(plan.words)})", severity="error", timeout=10)
        return
    exc = task.exception()
    if exc is not None:
        app.notify(f"{plan.name}: {exc}", severity="error", timeout=10)
        return
    report(app, screen, task.result())


def report(app, screen, outcome: WriteOutcome) -> None:
    """Traffic log, notification, WriteFinished: what every outcome gets after the journal."""
    app.session.record(outcome)
    app.notify(outcome.line(), title=f"write {outcome.status}",
               severity=SEVERITY.get(outcome.status, "warning"),
               timeout=6 if outcome.status == VERIFIED else 10)
    screen.post_message(WriteFinished(outcome))

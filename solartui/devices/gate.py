"""The one write gate. Every door — the CLI (`write`, `time`, `action`, `report --sync-clock`),
every TUI screen, the Growatt server's pane and HTTP API, MQTT — calls `run` here, and nothing
else sends a write to a device.

The steps are always the same:
1. plan: the device validates the request against its map (guard, access, range, step, enum,
   the settings that must agree with each other) and the protocol's limits, encodes it and reads
   the old value. A refusal raises ValueRejected (WriteForbidden for a register the map forbids):
   no plan exists, so nothing can reach the wire.
2. confirm: the door asks the person (TUI dialog, CLI prompt) or carries an explicit yes (`--yes`,
   an authorised HTTP PUT). A no ends here; nothing is sent.
3. execute: each plan goes through the device's paced link at write priority and is read back;
   after a step that is not verified the rest are not sent.
4. journal, write-ahead: before each frame goes out an intent record (device, point, old → new,
   words, origin, an id) is appended and fsynced — a journal that cannot be written stops the
   write there, unsent; after it, the outcome with the same id, before the door hears of it,
   even when the door stopped waiting (a TUI screen left mid-write). A process killed between
   the two leaves the intent, which the journal reads as "outcome unknown — interrupted".

While writes run, `in_flight()` names them (a CLI's ctrl+c handler says what it would abandon)
and `request_stop()` lets the current step finish and journals the rest as not sent.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Awaitable, Callable

from solartui.devices.writes import NO_ANSWER, NOT_SENT, WriteOutcome, WritePlan
from solartui.errors import SolartuiError, ValueRejected, WriteForbidden
from solartui.journal import forget

log = logging.getLogger("solartui.writes")

ORIGINS = ("cli", "tui", "http", "mqtt", "server")

POINT, RAW, CLOCK, ACTION = "point", "raw", "clock", "action"


@dataclass(frozen=True)
class WriteRequest:
    """What a door asks for, before anything is known about whether it is allowed."""

    kind: str                           # point | raw | clock | action
    name: str = ""                      # point or setting name; action name
    value: str = ""                     # engineering units or an enum label (point)
    address: int = 0                    # raw: first holding register
    words: tuple[int, ...] = ()         # raw: the words from `address` on
    args: tuple[str, ...] = ()          # action: its arguments

    @classmethod
    def point(cls, name: str, value: str) -> "WriteRequest":
        return cls(POINT, name=name, value=str(value))

    @classmethod
    def raw(cls, address: int, words) -> "WriteRequest":
        return cls(RAW, name=f"holding {address}", address=address, words=tuple(words))

    @classmethod
    def clock(cls) -> "WriteRequest":
        return cls(CLOCK, name="clock")

    @classmethod
    def action(cls, name: str, args=()) -> "WriteRequest":
        return cls(ACTION, name=name, args=tuple(str(a) for a in args))


Confirm = Callable[[list[WritePlan]], Awaitable[bool]]
OnOutcome = Callable[[WriteOutcome], None]
OnStep = Callable[[int, int, WritePlan], None]


async def confirmed(_plans: list[WritePlan]) -> bool:
    """For doors whose request is itself the explicit yes (`--yes`, an authorised HTTP PUT)."""
    return True


async def plan(device, request: WriteRequest, pending: dict | None = None) -> list[WritePlan]:
    """Validate and encode (ValueRejected: nothing is sent), then read the old values.
    `pending` carries the settings planned earlier in the same confirmation, which are written
    before this one: settings checked together (PI30 float ≤ bulk) see them as current."""
    if getattr(device, "listen_only", False):      # a broadcasting device takes no request
        raise WriteForbidden(device.listen_only_reason)
    if request.kind == POINT:
        return [await device.plan_write(request.name, request.value, pending)]
    if request.kind == RAW:
        planner = getattr(device, "plan_raw_write", None)
        if planner is None:
            raise ValueRejected(f"map {device.map.id} has no registers to write raw")
        return [await planner(request.address, list(request.words))]
    if request.kind == CLOCK:
        return [await device.plan_clock()]
    if request.kind == ACTION:
        from solartui.devices.actions import actions_for, plan_action
        action = actions_for(device.map).get(request.name)
        if action is None:
            known = ", ".join(actions_for(device.map)) or "none"
            raise SolartuiError(f"no action '{request.name}' for map {device.map.id} "
                                f"(actions: {known})")
        if action.clock:
            if request.args:
                raise ValueRejected(f"{request.name} takes no arguments "
                                    "(it sets the host's local time)")
            return [await device.plan_clock()]
        return await plan_action(device, action, list(request.args))
    raise SolartuiError(f"unknown write request kind {request.kind!r}")


@dataclass
class InFlight:
    """A confirmed run of writes: its task, its plans and the one on the wire now (if any)."""

    plans: list[WritePlan]
    origin: str
    task: asyncio.Task | None = None
    current: WritePlan | None = None

    def describe(self) -> str:
        p = self.current or self.plans[0]
        return f"{p.name} = {p.new_text} on {p.device_serial} at {p.target}"


_in_flight: list[InFlight] = []
_stop = {"requested": None}     # why the remaining steps are not to be sent (ctrl+c, SIGTERM)


def in_flight() -> list[InFlight]:
    """The runs of writes this process has not finished."""
    return [f for f in _in_flight if f.task is None or not f.task.done()]


def request_stop(why: str | None) -> None:
    """Let each running step reach its outcome, and send no further step (journalled as not
    sent). For a process that is about to end (ctrl+c, SIGTERM)."""
    _stop["requested"] = why


async def execute(device, plans: list[WritePlan], origin: str,
                  on_outcome: OnOutcome | None = None,
                  on_step: OnStep | None = None,
                  flight: InFlight | None = None) -> list[WriteOutcome]:
    """Send confirmed plans in order, each announced in the journal (intent), read back and
    journalled with its origin (outcome); after a step that is not verified the rest are
    journalled as not sent. `on_step(k, n, plan)` hears of each step of several before it is
    sent (an action's "step 2 of 5")."""
    outcomes: list[WriteOutcome] = []
    failed: str | None = None
    for k, p in enumerate(plans, 1):
        if failed is None and _stop["requested"]:
            failed = _stop["requested"]
        if on_step is not None and failed is None and len(plans) > 1:
            on_step(k, len(plans), p)
        wid = None
        if failed is not None:
            why = failed if failed == _stop["requested"] else f"{failed} failed before it"
            outcome = WriteOutcome(p, NOT_SENT, f"not sent: {why}")
        else:
            wid = intend(device, p, origin, k < len(plans))
            if flight is not None:
                flight.current = p
            try:
                outcome = await _send(device, p)
            except asyncio.CancelledError:
                forget(wid)             # the intent stays: outcome unknown, interrupted
                raise
            except Exception as exc:    # a bug below: still an outcome, never a silent intent
                outcome = WriteOutcome(p, NO_ANSWER, f"the write ended in an error ({exc}); "
                                                     "it may or may not have landed")
                journal(device, outcome, origin, wid)
                raise
            finally:
                if flight is not None:
                    flight.current = None
        if failed is None and not outcome.ok:
            failed = p.name
        journal(device, outcome, origin, wid)
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes


async def _send(device, p: WritePlan) -> WriteOutcome:
    if p.name == "clock":
        return await device.set_clock(p)
    return await device.execute_write(p)


def intend(device, p: WritePlan, origin: str, more: bool = False) -> str | None:
    """Journal (fsynced) that this write is about to go out, before any frame does. A journal
    that cannot be written stops it here: a write nobody could account for is not sent."""
    if getattr(device, "journal", None) is None:
        return None
    try:
        return device.journal.intend({**p.intent_entry(), "origin": origin})
    except SolartuiError as exc:
        log.error("journal: %s", exc)
        rest = " and the steps after it" if more else ""
        raise SolartuiError(f"{exc}: {p.name}{rest} not sent") from None


def journal(device, outcome: WriteOutcome, origin: str, wid: str | None = None) -> None:
    """The one place a device write's outcome is recorded (with its intent's id). A journal that
    cannot be written is logged loudly: the write itself has happened and its outcome still
    reaches the door."""
    entry = {**outcome.journal_entry(), "origin": origin}
    log.info("write %s from %s: %s", outcome.plan.name, origin, outcome.status)
    if getattr(device, "journal", None) is None:
        return
    try:
        device.journal.outcome(wid, entry)
    except SolartuiError as exc:
        log.error("journal: %s", exc)
        raise


async def run(device, requests: WriteRequest | list[WriteRequest], confirm: Confirm,
              origin: str, on_outcome: OnOutcome | None = None,
              on_step: OnStep | None = None) -> list[WriteOutcome] | None:
    """plan -> confirm -> execute -> journal; None when the person said no (nothing sent).

    Several requests are all planned (any refusal: nothing is sent) and confirmed once. Once
    confirmed, the writes run in a task of their own: a caller that stops waiting (a screen left,
    a client gone) cancels only its wait; the writes still reach their outcomes, which are
    journalled and handed to `on_outcome`.
    """
    if origin not in ORIGINS:
        raise SolartuiError(f"unknown write origin {origin!r}")
    if isinstance(requests, WriteRequest):
        requests = [requests]
    plans: list[WritePlan] = []
    pending: dict = {}
    for request in requests:
        plans += await plan(device, request, pending)
    if not await confirm(plans):
        log.info("write %s from %s: not confirmed, nothing sent",
                 ", ".join(r.name for r in requests), origin)
        return None
    flight = InFlight(plans, origin)
    task = asyncio.get_running_loop().create_task(execute(device, plans, origin, on_outcome,
                                                          on_step, flight),
                                                  name=f"write {requests[0].name}")
    flight.task = task
    _in_flight.append(flight)
    task.add_done_callback(lambda t: _finished(flight, t))
    return await asyncio.shield(task)


def _finished(flight: InFlight, task: asyncio.Task) -> None:
    if flight in _in_flight:
        _in_flight.remove(flight)
    if not task.cancelled() and task.exception() is not None:
        log.error("write ended in an error: %s", task.exception())

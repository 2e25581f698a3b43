"""What a commissioning report says, gathered from a connected device, the journal and the
evidence stores; the Markdown and HTML writers only lay it out.

Gathering reads every mapped value once (a snapshot, not a live view) and the device clock; the
settings changed "this session" are the journal's entries for this device since a given time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from solartui import __version__
from solartui.devices.clock import ClockReading
from solartui.journal_view import JournalRow, matches, row
from solartui.report.handover import Handover
from solartui.registers.model import RUNGS
from solartui.trust.attestations import Attestation, AttestationStore
from solartui.trust.rungs import MISMATCH, model_and_firmware, point_evidence
from solartui.trust.verifications import run_summary

ALL_PI30_ROLES = ("identity", "live", "settings", "clock", "info")


@dataclass(frozen=True)
class ValueRow:
    group: str
    name: str
    doc: str
    value: str          # with its unit, or the label; "" when it could not be read
    rung: str
    problem: str = ""   # why there is no value


@dataclass(frozen=True)
class ClockChange:
    """A clock set from the journal: when, drift before and after (device minus host, s)."""

    time: str
    before: float | None
    after: float | None
    outcome: str
    detail: str


@dataclass
class CommissioningReport:
    made: datetime
    since: datetime | None
    target: str
    link: list[tuple[str, str]]
    vendor: str
    map_id: str
    map_name: str
    map_trust: str
    serial: str
    model: str
    firmware: str
    identity: list[tuple[str, str]]
    values: list[ValueRow]
    clock_now: ClockReading | None
    clock_changes: list[ClockChange]
    changes: list[JournalRow]
    attestations: list[Attestation]
    rung_counts: dict[str, int]
    verification: str
    version: str = __version__
    notes: list[str] = field(default_factory=list)     # paragraphs (the handover's notes)
    handover: Handover = field(default_factory=Handover)
    checks: list = field(default_factory=list)         # commissioning Verdicts (checks/)
    dump: "DumpRef | None" = None                      # the register dump attached


@dataclass(frozen=True)
class DumpRef:
    """A register dump the report attaches: its file name and checksum, so the file sent
    alongside can be proved to be the one the report means."""

    name: str
    sha256: str
    size: int


def _link_rows(device) -> list[tuple[str, str]]:
    link = device.link
    target = getattr(link, "target", None)
    rows = [("target", device.target_text), ("channel", link.description)]
    spec = device.map.link
    if target is not None and target.scheme in ("rtu", "pi30"):
        rows.append(("serial line", f"{target.baud or spec.baudrates[0]} baud, "
                                    f"parity {target.parity or spec.parity}, "
                                    f"{target.stopbits} stop bit(s)"))
    unit = getattr(device, "unit", None)
    if unit is not None and getattr(device, "kind", "") != "pi30":
        rows.append(("unit", str(unit)))
    rows.append(("pacing", f"{link.min_period * 1000:.0f} ms between commands"))
    timeout = getattr(link, "timeout", None)
    if timeout is not None:
        rows.append(("timeout", f"{timeout * 1000:.0f} ms"))
    s = link.stats
    rows.append(("link so far", f"{s.requests} requests, {s.replies} replies, {s.timeouts} "
                                f"timeouts, {s.errors} errors, {s.bad_frames} bad frames"))
    return rows


def _rung_text(evidence, name: str, declared: str) -> str:
    e = evidence.get(name)
    if e is None:
        return declared
    return f"{MISMATCH} ({e.rung})" if e.differs else e.rung


def snapshot_steps(device) -> list[tuple[str, list]]:
    """The snapshot in the device's own units of work, each with words for a progress line: one
    planned read (registers; the same reads one poll would make) or one query (PI30)."""
    if getattr(device, "kind", "") == "pi30":
        by_command: dict[str, list] = {}
        for f in device.fields(ALL_PI30_ROLES):
            by_command.setdefault(f.command, []).append(f)
        return [(f"{cmd} query", fields) for cmd, fields in by_command.items()]
    from solartui.registers.planner import plan_for_map
    points = [p for p in device.map.points if p.readable]
    return [(f"{r.table} {r.address}–{r.end}", [p for p in r.fields])
            for r in plan_for_map(device.map, points)]


async def _snapshot(device, evidence: dict, on_progress=None) -> list[ValueRow]:
    steps = snapshot_steps(device)
    total = len(steps) + (device.map.clock is not None)
    readings = []
    for i, (what, fields) in enumerate(steps, 1):
        if on_progress is not None:
            on_progress(i, total, f"reading {what}")
        readings += await device.poll(fields)
    wanted = (device.fields(ALL_PI30_ROLES) if getattr(device, "kind", "") == "pi30"
              else device.map.points)
    position = {id(f): i for i, f in enumerate(wanted)}     # the order one poll gives
    readings.sort(key=lambda r: position.get(id(r.point), len(position)))
    out = []
    for r in readings:
        p = r.point
        if r.ok:
            text, problem = r.decoded.text, ""
        else:
            text = ""
            problem = ("not reported by this unit" if getattr(r, "absent", False)
                       else r.error or getattr(r.decoded, "error", None) or "no value")
        out.append(ValueRow(p.group, p.name, p.doc, text, _rung_text(evidence, p.name, p.trust),
                            problem))
    return out


def _parse_time(text) -> datetime | None:
    try:
        t = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return t if t.tzinfo else t.astimezone()


def session_entries(entries: list[dict], serial: str, since: datetime | None) -> list[dict]:
    """The journal entries for this device (by any serial it carries) made since `since`."""
    out = []
    for e in entries:
        if not isinstance(e, dict) or not matches(e, serial):
            continue
        t = _parse_time(e.get("time"))
        if since is not None and (t is None or t < since):
            continue
        out.append(e)
    return out


def _clock_changes(entries: list[dict]) -> list[ClockChange]:
    out = []
    for e in entries:
        if e.get("point") != "clock" or e.get("action"):
            continue
        b, a = e.get("drift_before_s"), e.get("drift_after_s")
        out.append(ClockChange(str(e.get("time", ""))[:19].replace("T", " "),
                               b if isinstance(b, (int, float)) else None,
                               a if isinstance(a, (int, float)) else None,
                               str(e.get("outcome", "")), str(e.get("detail", ""))))
    return out


def _verification_text(device_map) -> str:
    v = run_summary(device_map)
    if v is None:
        return "No simulator verification of this map on this machine (solartui maps verify)"
    which = "" if v["current"] else " — of an older text of the map, so it earns nothing now"
    return (f"Simulator verification {v['time'][:19].replace('T', ' ')}: {v['pass']} pass, "
            f"{v['fail']} fail, {v['no_fixture']} without a fixture{which}")


async def gather(device, *, journal=None, since: datetime | None = None,
                 store: AttestationStore | None = None,
                 handover: Handover | None = None, on_progress=None) -> CommissioningReport:
    """Everything the report says about a connected, identified device (and, from `handover`,
    where it is and who hands it over to whom). `on_progress(step, steps, what)` is called
    before each read, so a person sees how far it is (a paced link takes seconds)."""
    handover = handover or Handover()
    ident = device.identity
    model, firmware = model_and_firmware(ident) if ident is not None else ("unknown", "unknown")
    store = store or AttestationStore()
    serial = ident.serial if ident is not None else "unknown"
    of_map = store.all(map_id=device.map.id)
    attested = [a for a in of_map if a.serial == serial]
    evidence = point_evidence(device.map, model, firmware, attestations=of_map)
    values = await _snapshot(device, evidence, on_progress)
    clock_now = None
    if device.map.clock is not None:
        if on_progress is not None:
            steps = len(snapshot_steps(device)) + 1
            on_progress(steps, steps, "reading the clock")
        clock_now = await device.read_clock()
    entries = session_entries(journal.entries() if journal is not None else [], serial, since)
    counts = {r: 0 for r in RUNGS}
    for v in values:
        rung = v.rung.rsplit("(", 1)[-1].rstrip(")")
        counts[rung] = counts.get(rung, 0) + 1
        if v.rung.startswith(MISMATCH):
            counts[MISMATCH] = counts.get(MISMATCH, 0) + 1
    return CommissioningReport(
        made=datetime.now(timezone.utc).astimezone(), since=since, target=device.target_text,
        link=_link_rows(device), vendor=device.map.vendor, map_id=device.map.id,
        map_name=device.map.name, map_trust=device.map.trust, serial=serial, model=model,
        firmware=firmware,
        identity=[(k, str(v)) for k, v in (ident.values.items() if ident else [])]
        + ([("identified", ident.reason)] if getattr(ident, "reason", "") else []),
        values=values, clock_now=clock_now, clock_changes=_clock_changes(entries),
        changes=[row(e) for e in entries], attestations=attested,
        rung_counts={k: v for k, v in counts.items() if v},
        verification=_verification_text(device.map), notes=handover.paragraphs(),
        handover=handover)

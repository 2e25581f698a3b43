"""The report as sections of plain text (paragraphs, key/value pairs, tables), decided once so the
Markdown and HTML pages say exactly the same things."""

from __future__ import annotations

from dataclasses import dataclass, field

from solartui.journal import INTERRUPTED
from solartui.report.content import CommissioningReport

RUNG_NOTE = {
    "generated": "text produced from a document; nothing checked",
    "structure-verified": "addresses, widths, types and units hold together",
    "interop-verified": "framing and transport work against an independent peer",
    "simulator-verified": "decodes known-true values from the simulator",
    "hardware-verified": "matches this model and firmware's own display, attested by a person",
    "✗ display differs": "a person saw another value on this model and firmware's display "
                         "(counted in its rung too)",
}


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    pairs: list[tuple[str, str]] = field(default_factory=list)
    headers: tuple[str, ...] = ()
    rows: list[tuple[str, ...]] = field(default_factory=list)
    subtables: list[tuple[str, list[tuple[str, ...]]]] = field(default_factory=list)
    kind: str = ""          # "signoff": rows left blank to be filled in by hand


def _drift(seconds: float | None) -> str:
    return "—" if seconds is None else f"{round(seconds):+d} s"


def title(r: CommissioningReport) -> str:
    site = f" — {r.handover.site}" if r.handover.site else ""
    return f"Commissioning report — {r.vendor} {r.serial}{site}"


def subtitle(r: CommissioningReport) -> str:
    since = (f"; session since {r.since.isoformat(sep=' ', timespec='seconds')}"
             if r.since else "; every journal entry for this device")
    return (f"Made {r.made.isoformat(sep=' ', timespec='seconds')} by solartui {r.version}"
            f"{since}.")


def _handover(r: CommissioningReport) -> Section:
    h = r.handover
    return Section("Handover", pairs=[("site", h.site), ("customer", h.customer),
                                      ("installer", h.installer),
                                      ("report made", r.made.strftime("%Y-%m-%d %H:%M"))])


def _notes(r: CommissioningReport) -> Section:
    return Section("Notes", paragraphs=r.notes or ["No notes were given."])


def _signoff(r: CommissioningReport) -> Section:
    h = r.handover
    return Section("Sign-off", paragraphs=[
        "The installer hands the system over as described in this report; the customer "
        "receives it. The values at the time of the report follow as an appendix."],
        headers=("", "installer", "customer"),
        rows=[("name", h.installer, h.customer), ("signature", "", ""), ("date", "", "")],
        kind="signoff")


def _device(r: CommissioningReport) -> Section:
    pairs = [("vendor", r.vendor), ("model", r.model), ("serial", r.serial),
             ("firmware", r.firmware), ("map", f"{r.map_id} — {r.map_name}")]
    pairs += [(f"reported {k}", v) for k, v in r.identity if k != "serial"]
    return Section("Device", pairs=pairs)


def _clock(r: CommissioningReport) -> Section:
    s = Section("Clock")
    s.paragraphs.append("Clock sets in this session, with the drift (device minus host) before "
                        "and after, are in the table below; at the time of the report:"
                        if r.clock_changes else
                        "The clock was not set in this session; at the time of the report:")
    c = r.clock_now
    if c is None:
        s.paragraphs.append("The map describes no clock.")
    elif c.device is None:
        s.paragraphs.append(f"At the time of the report the clock could not be read: {c.error}.")
    else:
        s.pairs = [("device clock", c.device.isoformat(sep=" ")),
                   ("host clock", c.host.isoformat(sep=" ", timespec="seconds") + " (local)"),
                   ("drift now", _drift(c.drift) + " (device minus host)")]
    if r.clock_changes:
        s.headers = ("time", "drift before", "drift after", "outcome", "detail")
        s.rows = [(ch.time, _drift(ch.before), _drift(ch.after), ch.outcome, ch.detail)
                  for ch in r.clock_changes]
    return s


def _changes(r: CommissioningReport) -> Section:
    s = Section("Settings changed in this session")
    writes = [c for c in r.changes if not c.what.startswith("clock")]
    if not writes:
        s.paragraphs.append("No setting was written.")
        return s
    s.headers = ("time", "setting", "old", "new", "raw", "outcome", "detail")
    s.rows = [(c.time, c.what, c.old, c.new, c.raw, c.outcome, c.detail) for c in writes]
    bad = [c for c in writes if c.outcome != "verified"]
    s.paragraphs.append(f"{len(writes)} write(s): {len(writes) - len(bad)} verified by read-back"
                        + (f", {len(bad)} not verified — see the outcome column." if bad else "."))
    unknown = [c for c in writes if c.outcome == INTERRUPTED]
    if unknown:
        s.paragraphs.append(
            f"{len(unknown)} write(s) interrupted before the outcome was known "
            f"({', '.join(c.what for c in unknown)}): the device may or may not hold the new "
            "value — read it back before handing over.")
    return s


def _trust(r: CommissioningReport) -> Section:
    s = Section("Trust")
    s.paragraphs.append(f"The map declares {r.map_trust}. Each value below shows the rung its "
                        "evidence has earned for this model and firmware; no rung is rounded up.")
    s.pairs = [(rung, f"{n} value(s) — {RUNG_NOTE.get(rung, '')}")
               for rung, n in r.rung_counts.items()]
    s.paragraphs.append(r.verification + ".")
    if r.attestations:
        s.headers = ("time", "person", "point", "solartui showed", "display showed", "verdict",
                     "model / firmware")
        s.rows = [(a.time[:19].replace("T", " "), a.person, a.point, a.shown, a.display,
                   a.verdict + (" (simulator)" if a.simulated else ""),
                   f"{a.model} / {a.firmware}") for a in r.attestations]
    else:
        s.paragraphs.append("No value of this device has been compared with its display.")
    return s


def _values(r: CommissioningReport) -> Section:
    s = Section("Values at the time of the report")
    groups: dict[str, list[tuple[str, ...]]] = {}
    for v in r.values:
        value = v.value if v.value else f"— ({v.problem})"
        groups.setdefault(v.group or "Other", []).append((v.name, v.doc, value, v.rung))
    s.headers = ("point", "document's name", "value", "rung")
    s.subtables = list(groups.items())
    unread = sum(1 for v in r.values if not v.value)
    s.paragraphs.append(f"{len(r.values)} mapped value(s), {unread} without a value.")
    return s


def _evidence(readings: dict) -> str:
    """A verdict's readings in one cell: name value; nested values flattened."""
    parts = []
    for k, v in readings.items():
        if isinstance(v, dict):
            v = ", ".join(f"{a} {b}" for a, b in v.items() if b is not None)
        elif isinstance(v, float):
            v = f"{v:.1f}"
        parts.append(f"{k} {v}")
    return "; ".join(parts)


def _checks(r: CommissioningReport) -> Section:
    s = Section("Commissioning checks")
    if r.checks:
        s.headers = ("check", "verdict", "reason", "readings used")
        s.rows = [(v.title, v.status, v.reason, _evidence(v.readings)) for v in r.checks]
        failed = [v for v in r.checks if v.status != "pass"]
        s.paragraphs.append(f"{len(r.checks)} check(s): {len(r.checks) - len(failed)} pass"
                            + (f", {len(failed)} not — see the verdict column." if failed
                               else "."))
    else:
        s.paragraphs.append("The commissioning checks were not run for this report "
                            "(solartui report --checks, or solartui check).")
    if r.dump is not None:
        s.pairs = [("register dump", r.dump.name), ("sha256", r.dump.sha256),
                   ("size", f"{r.dump.size} bytes")]
    return s


def sections(r: CommissioningReport) -> list[Section]:
    return [_handover(r), _notes(r), _device(r), Section("Link", pairs=r.link), _clock(r),
            _changes(r), _checks(r), _trust(r), _signoff(r), _values(r)]

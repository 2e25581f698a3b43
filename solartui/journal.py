"""The write journal: one JSON object per line, each fsynced before the call returns.

Every write and clock set from any part of the program lands here, so the record of a
commissioning survives a crash or a pulled plug. It is a write-ahead journal: an intent record
(device, point, old → new, words, origin, an id) is fsynced before the frame goes out, and the
outcome record, carrying the same id, after the read-back. Reading pairs them up: an outcome
stands for its intent, and an intent whose outcome never came — the program was killed, crashed
or lost power between the two — reads as "outcome unknown — interrupted": the device may or may
not have taken the value, and the person is told to read it back. Journals written before intents
existed (outcome records without an id) read as they always did.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from solartui.jsonl import append_record, read_records_noting
from solartui.paths import state_dir

INTENT = "intent"
OUTCOME = "outcome"
INTERRUPTED = "outcome unknown — interrupted"
PENDING = "outcome pending — being written"
INTERRUPTED_DETAIL = ("the program ended after this intent was recorded and before the outcome "
                      "was known (interrupted, killed, crashed or lost power): the device may or "
                      "may not have taken the value — read it back")
PENDING_SECONDS = 600   # an intent of a live process younger than this is still being written

# intents this process recorded whose outcome is still to come: its own readers leave them out
_pending_here: set[str] = set()


def default_journal_path() -> Path:
    env = os.environ.get("SOLARTUI_JOURNAL")
    return Path(env) if env else state_dir() / "journal.jsonl"


@dataclass
class JournalRead:
    """The journal as people read it (intents settled), and the lines that could not be read."""

    entries: list[dict] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    note: str = ""          # one line about skipped lines, '' when none


class Journal:
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else default_journal_path()

    def append(self, entry: dict) -> dict:
        record = {"time": datetime.now(timezone.utc).astimezone().isoformat(timespec="milliseconds"),
                  **entry}
        append_record(self.path, record, "journal")
        return record

    def intend(self, entry: dict) -> str:
        """Record (fsynced) that a write is about to go out; its id goes with the outcome.
        Raises SolartuiError when the journal cannot be written: then nothing may be sent."""
        wid = uuid.uuid4().hex[:16]
        _pending_here.add(wid)
        try:
            self.append({"id": wid, "phase": INTENT, **entry,
                         "pid": os.getpid(), "host": socket.gethostname()})
        except BaseException:
            _pending_here.discard(wid)
            raise
        return wid

    def outcome(self, wid: str | None, entry: dict) -> dict:
        """Record a write's outcome (with its intent's id, when it had one)."""
        try:
            return self.append({**({"id": wid, "phase": OUTCOME} if wid else {}), **entry})
        finally:
            forget(wid)

    def read(self) -> JournalRead:
        got = read_records_noting(self.path, "journal")
        return JournalRead(settle(got.records), got.skipped, got.skipped_note(self.path))

    def entries(self) -> list[dict]:
        return self.read().entries


def forget(wid: str | None) -> None:
    """This process stopped waiting for that write (its outcome is in, or it never will be)."""
    _pending_here.discard(wid)


def settle(records: list[dict]) -> list[dict]:
    """One entry per write: the outcome record for an intent that has one, the intent marked
    interrupted (or still being written, by a live process) for one that has not. Intents this
    process is still executing are left out: their outcome is moments away."""
    finished = {r.get("id") for r in records if r.get("id") and r.get("phase") != INTENT}
    out = []
    for r in records:
        if r.get("phase") != INTENT:
            out.append(r)
        elif r.get("id") not in finished and r.get("id") not in _pending_here:
            out.append(_unfinished(r))
    return out


def _unfinished(intent: dict) -> dict:
    if _running_elsewhere(intent):
        return {**intent, "outcome": PENDING,
                "detail": f"process {intent.get('pid')} is writing it now"}
    return {**intent, "outcome": INTERRUPTED, "detail": INTERRUPTED_DETAIL}


def _running_elsewhere(intent: dict) -> bool:
    """Another live process on this host recorded it recently: its outcome may still come."""
    pid = intent.get("pid")
    if not isinstance(pid, int) or pid == os.getpid() or intent.get("host") != socket.gethostname():
        return False
    try:
        t = datetime.fromisoformat(str(intent.get("time")))
    except ValueError:
        return False
    if t.tzinfo is None or time.time() - t.timestamp() > PENDING_SECONDS:
        return False
    return _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, OverflowError, ValueError):
        return False
    try:            # a killed process its parent has not reaped yet is a zombie: gone
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True

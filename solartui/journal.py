"""The write journal: one JSON object per line, flushed and fsynced before a write is 'done'.

Every write and clock set from any part of the program lands here with its outcome, so the record
of a commissioning survives a crash or a pulled plug.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from solartui.jsonl import append_record, read_records
from solartui.paths import state_dir


def default_journal_path() -> Path:
    env = os.environ.get("SOLARTUI_JOURNAL")
    return Path(env) if env else state_dir() / "journal.jsonl"


class Journal:
    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else default_journal_path()

    def append(self, entry: dict) -> dict:
        record = {"time": datetime.now(timezone.utc).astimezone().isoformat(timespec="milliseconds"),
                  **entry}
        append_record(self.path, record, "journal")
        return record

    def entries(self) -> list[dict]:
        return read_records(self.path, "journal")

"""The write journal: one JSON object per line, flushed and fsynced before a write is 'done'.

Every write and clock set from any part of the program lands here with its outcome, so the record
of a commissioning survives a crash or a pulled plug.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from solartui.errors import SolartuiError
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
        line = json.dumps(record, ensure_ascii=False, default=str)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise SolartuiError(f"cannot write the journal {self.path}: {exc.strerror}") from None
        return record

    def entries(self) -> list[dict]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise SolartuiError(f"cannot read the journal {self.path}: {exc.strerror}") from None
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line torn by a crash mid-write: the rest stays readable
        return out

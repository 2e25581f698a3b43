"""When each device of a site was last logged, kept in the user's state folder, and the gaps.

Why: `solartui log --once` runs from cron, one process per period. Only a file that outlives the
process can tell that a run was missed (machine off, cron stopped, a pass stuck) so the CSV can
say "gap" instead of silently jumping. The continuous mode keeps it too, so a restart after
downtime notes the gap as well. A lock next to it keeps two loggers off one site.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from solartui.errors import SolartuiError
from solartui.paths import state_dir
from solartui.site.csv_sink import iso

GAP_FACTOR = 1.5        # a pass later than 1.5 periods after the last one means one was missed


def state_path(site_name: str) -> Path:
    return state_dir() / "log" / f"{site_name}.json"


@dataclass(frozen=True)
class Gap:
    last: float             # the last completed pass (epoch seconds)
    missed: int             # about how many passes are missing
    first_missing: float    # when the first missing pass was due

    def note(self) -> str:
        return (f"gap: no pass since {iso(self.last)} (about {self.missed} "
                f"period{'s' * (self.missed != 1)} missed)")


def find_gap(last: float | None, now: float, period: float) -> Gap | None:
    """The gap between the last pass and now, if more than GAP_FACTOR periods passed."""
    if last is None or now - last <= GAP_FACTOR * period:
        return None
    missed = max(1, round((now - last) / period) - 1)
    return Gap(last, missed, last + period)


class LogState:
    """The last pass of each device of one site, saved atomically after every change."""

    def __init__(self, site_name: str, site_file: Path):
        self.site = site_name
        self.site_file = str(site_file)
        self.path = state_path(site_name)
        self.last: dict[str, float] = {}
        self._lock_fd: int | None = None

    def load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            devices = data.get("devices", {})
            self.last = {name: float(d["last"]) for name, d in devices.items()
                         if isinstance(d, dict) and isinstance(d.get("last"), (int, float))}
        except FileNotFoundError:
            self.last = {}
        except (OSError, ValueError, AttributeError, TypeError, RecursionError):
            self.last = {}          # unreadable: start afresh rather than refuse to log

    def lock(self) -> None:
        """One logger per site: a second one (cron overlapping a slow pass) is refused."""
        import fcntl
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise SolartuiError(f"cannot use the state folder {self.path.parent}: "
                                f"{exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise SolartuiError(f"another 'solartui log' is logging site {self.site} right now "
                                f"(lock {self.path.with_suffix('.lock')})") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def passed(self, device: str, when: float) -> None:
        """Record a completed pass of `device` and save the file."""
        self.last[device] = when
        self.save()

    def save(self) -> None:
        data = {"site": self.site, "site_file": self.site_file,
                "saved": iso(time.time()),
                "devices": {name: {"last": ts, "last_iso": iso(ts)}
                            for name, ts in sorted(self.last.items())}}
        tmp = self.path.with_suffix(f".tmp{os.getpid()}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=1)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            raise SolartuiError(f"cannot save the log state {self.path}: {exc.strerror}") from None

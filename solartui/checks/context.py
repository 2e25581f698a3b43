"""What every check is handed: the device, its map's checks section and the run's options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from solartui.registers.checks_spec import ChecksSpec

DEFAULT_WINDOW_S = 30.0
DEFAULT_SAMPLES = 6


@dataclass
class CheckOptions:
    window_s: float = DEFAULT_WINDOW_S  # how long the CT and export-limit checks watch
    samples: int = DEFAULT_SAMPLES      # how many reads in that window
    export_limit_w: float | None = None     # the site's limit (maps without a limit register)
    intended: dict[str, Any] = field(default_factory=dict)    # the site file's values
    sync: bool = False                  # set the clock (through the write gate) if it is off
    confirm: Callable[[list], Awaitable[bool]] | None = None  # the door's confirm step
    origin: str = "cli"                 # the write gate's door


@dataclass
class CheckContext:
    dev: Any
    spec: ChecksSpec
    options: CheckOptions
    samples: list = field(default_factory=list)     # shared by the CT and export checks


def fmt_w(v: float | None) -> str:
    return "unread" if v is None else f"{v:.0f} W"

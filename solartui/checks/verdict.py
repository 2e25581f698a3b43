"""What a commissioning check concludes: pass, fail or cannot tell, why, and the readings it used.

Why "cannot tell" is a verdict of its own: a CT check run at night has no evidence either way,
and a sign-off must say so rather than pass it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PASS, FAIL, CANNOT_TELL = "pass", "fail", "cannot tell"
STATUSES = (PASS, FAIL, CANNOT_TELL)
TITLES = {"identity": "identity and firmware", "clock": "clock", "ct_direction": "CT direction",
          "export_limit": "export limit", "battery": "battery communication",
          "settings": "settings"}


@dataclass(frozen=True)
class Verdict:
    check: str                          # identity | clock | ct_direction | ...
    status: str                         # pass | fail | cannot tell
    reason: str
    readings: dict[str, Any] = field(default_factory=dict)   # point/evidence -> value
    samples: tuple[dict, ...] = ()      # for sampling checks: every sample taken

    @property
    def title(self) -> str:
        return TITLES.get(self.check, self.check)

    def line(self) -> str:
        return f"{self.status.upper():<11}  {self.title}: {self.reason}"

    def as_json(self) -> dict:
        return {"check": self.check, "title": self.title, "status": self.status,
                "reason": self.reason, "readings": self.readings,
                "samples": list(self.samples)}


EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_CANNOT_TELL = 0, 1, 2, 4


def exit_code(verdicts: list[Verdict]) -> int:
    """0: every check passed; 1: one failed; 4: none failed but one could not tell (nothing to
    sign off yet: run it again while exporting); 2 is the CLI's (usage, cannot connect)."""
    if any(v.status == FAIL for v in verdicts):
        return EXIT_FAIL
    if not verdicts or any(v.status != PASS for v in verdicts):
        return EXIT_CANNOT_TELL
    return EXIT_PASS

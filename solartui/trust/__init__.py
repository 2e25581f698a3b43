"""Evidence behind the trust ladder: what `maps verify` proved against the simulator and what
people attested against real devices, kept in the user's state folder, and the rung each point
has earned from it (never more than the evidence shows)."""

from __future__ import annotations

from pathlib import Path

from solartui.paths import state_dir


def evidence_dir() -> Path:
    return state_dir() / "evidence"

"""Results of `maps verify`: which points decoded their known-true values from the simulator.

One JSON line per run in evidence/verifications.jsonl, keyed by the map id and a digest of the map
file's bytes: editing the map (a scale, an address) voids what the old text earned.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from solartui.jsonl import append_record, read_records
from solartui.trust import evidence_dir
from solartui.trust.attestations import now_text

PASS = "pass"


def default_path() -> Path:
    return evidence_dir() / "verifications.jsonl"


def map_digest(device_map) -> str:
    try:
        return hashlib.sha256(Path(device_map.path).read_bytes()).hexdigest()
    except OSError:
        return ""


def record_run(device_map, verdicts: dict[str, str], path: Path | None = None) -> dict:
    """`verdicts`: point (or field/setting) name -> "pass", "fail" or "no fixture"."""
    rec = {"time": now_text(), "map_id": device_map.id, "digest": map_digest(device_map),
           "points": dict(verdicts)}
    append_record(path or default_path(), rec, "verification store")
    return rec


def latest_run(device_map, path: Path | None = None) -> dict | None:
    """The newest run of this exact map text, or None."""
    digest = map_digest(device_map)
    runs = [r for r in read_records(path or default_path(), "verification store")
            if r.get("map_id") == device_map.id and r.get("digest") == digest and digest]
    return runs[-1] if runs else None


def verified_points(device_map, path: Path | None = None) -> frozenset[str]:
    run = latest_run(device_map, path)
    pts = run.get("points") if run else None
    if not isinstance(pts, dict):
        return frozenset()
    return frozenset(n for n, v in pts.items() if v == PASS)


def run_summary(device_map, path: Path | None = None) -> dict | None:
    """The newest run of this map id (any text): its time, pass / fail / no-fixture counts, and
    whether it was made on the map text as it is now (only then does it earn anything)."""
    runs = [r for r in read_records(path or default_path(), "verification store")
            if r.get("map_id") == device_map.id]
    if not runs:
        return None
    run = runs[-1]
    pts = run.get("points") if isinstance(run.get("points"), dict) else {}
    n_pass = sum(1 for v in pts.values() if v == PASS)
    n_fail = sum(1 for v in pts.values() if v == "fail")
    digest = map_digest(device_map)
    return {"time": str(run.get("time", "")), "pass": n_pass, "fail": n_fail,
            "no_fixture": len(pts) - n_pass - n_fail,
            "current": bool(digest) and run.get("digest") == digest}

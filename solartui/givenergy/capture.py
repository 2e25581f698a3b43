"""Read the GivEnergy wire-capture files (vectors/givenergy-captures/README.md, "Line formats").

Two formats, one socket read or write per line:

    2026-06-05T11:09:54.267655+00:00 rx 5959...      givenergy-cli log (time, direction, hex)
    tx: 5959...                                      Home Assistant integration (no time)

plus `#` comment lines and blank lines. `rx` is what the dongle sent (decode "to_client"), `tx`
what the capturing client sent ("to_dongle"). Why a parser of its own: the framer tests, the bench
and the simulator's `from_capture` all need the same lines; a line that fits neither format raises
GivCaptureError naming the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from solartui.givenergy.errors import GivCaptureError
from solartui.user_paths import PathRefused, read_text

STREAM_DIRECTION = {"rx": "to_client", "tx": "to_dongle"}
MAX_CAPTURE_BYTES = 64 << 20      # hours of one dongle's traffic as hex text


@dataclass(frozen=True)
class CaptureLine:
    line: int
    direction: str              # "rx" (from the dongle) or "tx" (to it)
    data: bytes
    time: datetime | None = None


def _hex(text: str, where: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise GivCaptureError(f"{where}: not hex bytes ({text[:24]!r}...)") from None


def parse_capture_text(text: str, name: str = "<capture>") -> list[CaptureLine]:
    out: list[CaptureLine] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{name}:{number}"
        if line[:3] in ("rx:", "tx:"):
            out.append(CaptureLine(number, line[:2], _hex(line[3:].strip(), where)))
            continue
        parts = line.split()
        if len(parts) not in (2, 3) or parts[1] not in ("rx", "tx"):
            raise GivCaptureError(f"{where}: expected '<time> rx|tx <hex>' or 'rx: <hex>'")
        try:
            stamp = datetime.fromisoformat(parts[0])
        except ValueError:
            raise GivCaptureError(f"{where}: {parts[0]!r} is not an ISO-8601 time") from None
        out.append(CaptureLine(number, parts[1], _hex(parts[2] if len(parts) == 3 else "", where),
                               stamp))
    return out


def parse_capture(path: str | Path) -> list[CaptureLine]:
    p = Path(path)
    try:
        text = read_text(p, MAX_CAPTURE_BYTES)
    except PathRefused as exc:
        raise GivCaptureError(f"cannot read capture {p}: {exc}") from None
    return parse_capture_text(text, p.name)


def chunks(lines: list[CaptureLine], direction: str) -> list[bytes]:
    """The reads (or writes) of one direction in order: feed them to a FrameStream."""
    return [c.data for c in lines if c.direction == direction]


def reassemble(lines: list[CaptureLine], direction: str) -> bytes:
    return b"".join(chunks(lines, direction))

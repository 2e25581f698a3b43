#!/usr/bin/env python3
"""Benchmark: how fast the two stream cutters get through garbage, and through good frames.

Garbage must be cheap (a hostile or broken peer can send it at line rate), so each cutter is fed
random bytes in 1,460-byte reads (one TCP segment) and in 64 KiB reads; then the same with valid
frames spliced in every ~2 KB, counting that every frame came out. Prints MB/s.

Run: .venv/bin/python bench/stream_garbage.py [--mb 4]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from solartui.givenergy import frame as G  # noqa: E402
from solartui.givenergy.stream import FrameStream as GivStream  # noqa: E402
from solartui.shine import frame as S  # noqa: E402
from solartui.shine.stream import FrameStream as ShineStream  # noqa: E402


def _shine_frame(i: int) -> bytes:
    return S.encode_frame(S.Frame(i & 0xFFFF, 6, 1, S.DATA, bytes(range(256))[: 100 + i % 150]))


def _giv_frame(i: int) -> bytes:
    return G.encode(G.ReadResponse(0x11, 4, "SA1234G567", 0, 60, tuple(range(i, i + 60)),
                                   "WF1234G567"))


def run(make, data: bytes, chunk: int) -> tuple[float, int]:
    s = make()
    n = 0
    t = time.perf_counter()
    for i in range(0, len(data), chunk):
        n += len(s.feed(data[i:i + chunk]))
    s.finish()
    return time.perf_counter() - t, n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=4.0, help="megabytes of garbage per run")
    args = ap.parse_args()
    rng = random.Random(21)
    size = int(args.mb * 1e6)
    garbage = rng.randbytes(size)
    zeros = bytes(size)
    cutters = {"shine": (ShineStream, _shine_frame),
               "givenergy": (lambda: GivStream("to_client"), _giv_frame)}
    print(f"{'cutter':<10} {'input':<22} {'read':>7} {'MB/s':>8} {'frames':>8}")
    for name, (make, frame) in cutters.items():
        mixed, want = bytearray(), 0
        for i in range(0, size, 2000):
            mixed += garbage[i:i + 2000] + frame(want)
            want += 1
        for label, data in (("random bytes", garbage), ("zero bytes", zeros),
                            (f"random + {want} frames", bytes(mixed))):
            for chunk in (1460, 65536):
                took, n = run(make, data, chunk)
                print(f"{name:<10} {label:<22} {chunk:>7} {len(data) / took / 1e6:>8.1f} {n:>8}")


if __name__ == "__main__":
    main()

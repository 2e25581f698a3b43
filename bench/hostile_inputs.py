"""Hostile inputs to the loaders and parsers (issue 21, parts 4 and 5): time, peak memory and
what each ends in. Every case runs in its own interpreter under a 1 GB address-space limit, so a
run against an older checkout (PYTHONPATH=/path/to/old/tree) shows the "before" column without
taking the machine down.

    .venv/bin/python bench/hostile_inputs.py [--limit-mb 1000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import textwrap

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))
MAP = ("schema: 1\ndevice: {id: t, vendor: T, name: T}\nprotocol: modbus\nlink: {unit: 1}\n"
       "points: []\n")
SITE = ("schema: 1\nsite: s\nperiod: 60\ndevices:\n  - name: g\n    target: tcp://127.0.0.1:5020\n"
        "    map: growatt-protocol-ii\n    unit: 1\n    points: [ppv]\n")

CASES = {
    "site file, 386-byte alias bomb": ("site", BOMB + "devices: *i\n"),
    "map file, alias bomb in device.trust": (
        "map", BOMB + MAP.replace("name: T}", "name: T, trust: *i}")),
    "map file, `schema: !!int x`": ("map", MAP.replace("schema: 1", "schema: !!int x")),
    "site file, `period: !!timestamp 2001-13-45`": (
        "site", SITE.replace("period: 60", "period: !!timestamp 2001-13-45")),
    "map file, 5,000-digit integer": ("map", MAP.replace("unit: 1", "unit: " + "9" * 5000)),
    "site file, csv: ~nosuchuser/x.csv": ("site", SITE + "    csv: ~nosuchuser/x.csv\n"),
    "site file, map of 256 characters": (
        "site", SITE.replace("growatt-protocol-ii", "m" * 256)),
    "PI30 reply, 5,000-digit int field": ("pi30", "9" * 5000),
    "shipped Growatt map (71 KB), parse": ("shipped", "growatt_protocol_ii.yaml"),
}

RUNNER = textwrap.dedent("""
    import resource, sys, time
    limit = int(sys.argv[3]) << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    kind, text = sys.argv[1], sys.argv[2]
    from pathlib import Path
    from solartui.errors import SolartuiError
    t0 = time.perf_counter()
    try:
        if kind == "map":
            from solartui.registers.loader import parse_map
            parse_map(text, "m.yaml"); out = "loaded"
        elif kind == "site":
            from solartui.site.site_file import parse_site
            parse_site(text, Path("/tmp/bench-site.yaml")); out = "loaded"
        elif kind == "pi30":
            from solartui.registers import catalog
            from solartui.registers.command_codec import decode_fields
            m = catalog.resolve_command_map(None)
            q = next(c for c in m.commands if c.command == "QPIGS")
            got = decode_fields(q, tuple([text] * 21))
            bad = [d for d in got.values() if d.error]
            out = f"{len(bad)} field errors: {bad[0].error[:60]}" if bad else "decoded"
        else:
            from solartui.registers.catalog import maps_dir
            from solartui.registers.loader import parse_map
            body = (maps_dir() / text).read_text()
            t0 = time.perf_counter()
            for _ in range(10):
                parse_map(body, text)
            out = f"loaded ({(time.perf_counter() - t0) * 100:.1f} ms each)"
    except MemoryError:
        out = "MemoryError"
    except SolartuiError as exc:
        out = f"{type(exc).__name__}: {str(exc).splitlines()[0][:70]}"
    except Exception as exc:
        out = f"CRASH {type(exc).__name__}: {str(exc)[:50]}"
    took = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"{took:.3f}\\t{rss}\\t{out}")
""")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit-mb", type=int, default=1000)
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()
    print("| input | time | peak RSS | outcome |")
    print("|---|---|---|---|")
    for name, (kind, text) in CASES.items():
        try:
            proc = subprocess.run([sys.executable, "-c", RUNNER, kind, text, str(args.limit_mb)],
                                  capture_output=True, text=True, timeout=args.timeout,
                                  env=dict(os.environ))
            took, rss, out = (proc.stdout.strip().split("\t") + ["", "", ""])[:3]
            if not out:
                out = f"died: {proc.stderr.strip().splitlines()[-1:]}"
            print(f"| {name} | {float(took or 0):.2f} s | {rss} MB | {out.replace('|', '/')} |")
        except subprocess.TimeoutExpired:
            print(f"| {name} | > {args.timeout:.0f} s | ? | still running |")


if __name__ == "__main__":
    main()

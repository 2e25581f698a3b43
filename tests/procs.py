"""Running solartui as a person or a script does: real processes, for the CLI tests.

`run_cli(*args)` runs one command to its end; `one_line_error` checks a refusal's shape;
`simulator(*args)` starts `solartui simulate ...`
in the background, yields the target URL it prints, and stops it afterwards.
"""

from __future__ import annotations

import asyncio
import sys
from contextlib import asynccontextmanager

from conftest import ROOT


async def run_cli(*args, stdin=None, timeout=90):
    """(exit code, stdout, stderr) of `solartui ARGS` (stdin: a pipe, or nothing)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "solartui", *args, cwd=ROOT,
        stdin=asyncio.subprocess.DEVNULL if stdin is None else stdin,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode, out.decode(), err.decode()


def one_line_error(code, err) -> str:
    """A refusal as the CLI promises it: non-zero exit, one `solartui: ...` line, no traceback."""
    assert code not in (0, None)
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("solartui: "), err
    return lines[0]


@asynccontextmanager
async def simulator(*args, timeout=20):
    """`solartui simulate ARGS` running; yields the URL of its `target: ...` line."""
    sim = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "solartui", "simulate", *args, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        target = None
        while target is None:
            line = (await asyncio.wait_for(sim.stdout.readline(), timeout)).decode()
            assert line, (await sim.stderr.read()).decode()
            if line.startswith("target: "):
                target = line.split(" ", 1)[1].strip()
        yield target
    finally:
        sim.terminate()
        await sim.wait()

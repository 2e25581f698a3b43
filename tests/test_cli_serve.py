"""`solartui serve` as systemd runs it: a real process, a simulated datalogger connecting to it,
the HTTP API answering, SIGTERM ending it cleanly; bad options end in one line."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
import urllib.request

import pytest

from conftest import ROOT
from test_cli import cli, one_line_error


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str):
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, json.loads(r.read())


async def test_serve_with_a_simulated_datalogger_then_sigterm():
    dport, hport = free_port(), free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "solartui", "serve", "--device-host", "127.0.0.1", "--port", str(dport),
        "--http-port", str(hport), "--tz", "UTC", "--command-gap", "0.05", cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    sim = None
    try:
        banner = b""
        while b"http://" not in banner:
            banner = await asyncio.wait_for(server.stderr.readline(), 20)
        assert banner.startswith(b"dataloggers: 127.0.0.1:") and b"clock: UTC" in banner
        sim = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "solartui", "simulate", "shine", "--server", f"127.0.0.1:{dport}",
            "--protocol", "05", "--interval", "1", cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        base = f"http://127.0.0.1:{hport}"
        for _ in range(200):
            status, registry = await asyncio.to_thread(http_get, base + "/datalogger")
            if "SIMINV0001" in registry.get("SIMLOG0001", {}):
                break
            await asyncio.sleep(0.05)
        assert registry["SIMLOG0001"]["protocol"] == "05"
        status, body = await asyncio.to_thread(
            http_get, base + "/datalogger?command=register&datalogger=SIMLOG0001&register=21")
        assert status == 200 and body == {"value": "3.1.0.5"}
    finally:
        if sim is not None:
            sim.terminate()
            await sim.wait()
        server.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(server.wait(), 10)
        err = (await server.stderr.read()).decode()
    assert code == 0, err
    assert "Traceback" not in err
    assert "datalogger SIMLOG0001 (protocol 05)" in err and "stopping" in err


@pytest.mark.parametrize("args, says", [
    (["--host", "0.0.0.0"], "needs a token"),
    (["--tz", "Mars/Olympus"], "unknown time zone"),
    (["--port", "70000"], "outside 0-65535"),
    (["--map", "nosuchmap"], "no map"),
    (["--allow", "LOG1,10.0.0.0/33"], "neither a network (CIDR) nor a datalogger serial"),
])
async def test_serve_refuses_bad_options_in_one_line(args, says):
    code, out, err = await cli("serve", "--device-host", "127.0.0.1", "--port", "0",
                               "--http-port", "0", *args, timeout=30)
    assert says in one_line_error(code, err)

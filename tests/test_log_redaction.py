"""No token in any log line, and a malformed HTTP request is one line.

The attacks: a non-ASCII query or an over-long request line made aiohttp log a traceback with
the whole request line, `?token=` included; a non-UTF-8 Authorization header gave 500. Here they
are sent to the HTTP API on loopback (in this process, and to a real `solartui serve` given its
token through SOLARTUI_TOKEN), and every log line is checked."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

import pytest

from solartui import log_redact
from solartui.log_redact import OneLineLog, redact
from solartui.shine.http_api import HttpApi
from solartui.shine.server import ShineServer

from conftest import ROOT

TOKEN = "Tk-9f8e7d6c5b4a"


@pytest.mark.parametrize("text", [
    f"GET /datalogger?token={TOKEN}&x=1",
    f"b'PUT /inverter?command=register&token={TOKEN}\\xff HTTP/1.1'",
    f"/datalogger?a=1&TOKEN={TOKEN}",
    f"/datalogger?tok%65n={TOKEN}&a=1",
    f"/datalogger?token%3D{TOKEN}",
    f"Authorization: Bearer {TOKEN}",
    f"{{'Authorization': '{TOKEN}'}}",
    f"headers=<CIMultiDict('Authorization': 'Bearer {TOKEN}')>",
    f"solartui serve --token {TOKEN}",
    f"solartui serve --token={TOKEN}",
])
def test_patterns_mask_the_token(text):
    out = redact(text)
    assert TOKEN not in out and "***" in out


def test_ordinary_text_is_left_alone():
    for text in ("PUT needs the token", "tokens: 21", "GET /datalogger?command=register&x=1",
                 "mytoken=3 is a field name"):
        assert redact(text) == text


def test_a_known_secret_is_masked_anywhere():
    log_redact.install("zz-literal-secret-42")
    assert "zz-literal-secret-42" not in redact("weird: zz-literal-secret-42!")
    log_redact.install("abc")                   # too short to mask safely: ignored
    assert redact("abc def") == "abc def"


def test_records_and_tracebacks_are_redacted(caplog):
    log_redact.install()
    caplog.set_level(logging.INFO)
    log = logging.getLogger("solartui.test.redact")
    log.info("GET %s", f"/x?token={TOKEN}")
    try:
        raise ValueError(f"bad line b'GET /?token={TOKEN}'")
    except ValueError:
        log.exception("failed")
    text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert TOKEN not in text and text.count("***") >= 2


def test_one_line_log_drops_the_traceback(caplog):
    caplog.set_level(logging.DEBUG)
    one = OneLineLog(logging.getLogger("solartui.test.oneline"))
    try:
        raise RuntimeError(f"first line ?token={TOKEN}\nsecond line")
    except RuntimeError as exc:
        one.exception("Error handling request from %s", "127.0.0.1", exc_info=exc)
    [rec] = caplog.records
    assert rec.exc_info is None and rec.levelno == logging.ERROR
    assert rec.getMessage() == "Error handling request from 127.0.0.1: RuntimeError: first " \
                               "line ?token=***"


BAD_REQUESTS = [
    b"GET /datalogger?token=" + TOKEN.encode() + b"&x=\xff\xfe HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /datalogger?token=" + TOKEN.encode() + b"&x=" + b"a" * 9000 + b" HTTP/1.1\r\n"
    b"Host: a\r\n\r\n",
    b"GET /datalogger?token=" + TOKEN.encode() + b" HTTP/1.1\r\nHost: a\r\nX-Pad: "
    + b"b" * 9000 + b"\r\n\r\n",
    b"GET /datalogger?token=" + TOKEN.encode() + b" HTTP/1.1\r\nHost: a\r\nAuthorization: "
    b"Bearer " + TOKEN.encode() + b"\r\nBroken header\r\n\r\n",
]
NON_UTF8_AUTH = (b"PUT /datalogger?command=datetime&datalogger=X HTTP/1.1\r\nHost: a\r\n"
                 b"Authorization: Bearer \xff\xfe" + TOKEN.encode() + b"\r\n"
                 b"Content-Length: 0\r\nConnection: close\r\n\r\n")


async def exchange(port: int, raw: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        return await asyncio.wait_for(reader.read(4096), 10)
    finally:
        writer.close()


async def test_bad_requests_are_one_line_without_the_token(caplog):
    log_redact.install()
    caplog.set_level(logging.DEBUG)
    server = ShineServer(sync_on_announce=False)
    await server.start("127.0.0.1", 0)
    api = HttpApi(server, token=TOKEN)
    port = await api.start("127.0.0.1", 0)
    try:
        for raw in BAD_REQUESTS:
            assert (await exchange(port, raw)).startswith(b"HTTP/1.0 400 ")
        reply = await exchange(port, NON_UTF8_AUTH)
        assert reply.startswith(b"HTTP/1.1 401 ") and reply.endswith(b"wrong API token")
    finally:
        await api.stop()
        await server.stop()
    records = [r for r in caplog.records if r.name.startswith(("aiohttp", "solartui", "asyncio"))]
    for r in records:
        assert r.exc_info is None and not r.exc_text, r.getMessage()
        assert TOKEN not in r.getMessage() and "\n" not in r.getMessage()
    bad = [r for r in records if "Error handling request" in r.getMessage()]
    assert len(bad) == len(BAD_REQUESTS) and all(r.levelno == logging.WARNING for r in bad)


async def test_serve_takes_the_token_from_the_environment_and_never_logs_it(tmp_path):
    env = dict(os.environ, SOLARTUI_TOKEN=TOKEN, SOLARTUI_HOME=str(tmp_path))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "solartui", "serve", "--port", "0", "--http-port", "0",
        "--host", "127.0.0.1", "-v", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    lines: list[str] = []
    try:
        port = None
        while port is None:
            line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
            assert line, "".join(lines)
            lines.append(line)
            if line.startswith("dataloggers: "):
                port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
        assert "PUT needs the token" in "".join(lines)           # the env var was taken
        for raw in BAD_REQUESTS:
            await exchange(port, raw)
        assert (await exchange(port, NON_UTF8_AUTH)).startswith(b"HTTP/1.1 401 ")
        ok = (b"PUT /datalogger?command=datetime&datalogger=X&token=" + TOKEN.encode()
              + b" HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        assert (await exchange(port, ok)).startswith(b"HTTP/1.1 404 ")   # authorised: no such logger
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(proc.stderr.read(), 30)
        await proc.wait()
    err = "".join(lines) + rest.decode()
    assert TOKEN not in err and "Traceback" not in err, err
    assert err.count("Error handling request from 127.0.0.1: 400 ") == len(BAD_REQUESTS), err
    assert " 401 " in err and proc.returncode == 0


async def test_an_exception_in_a_protocol_callback_is_one_line(caplog):
    """What the CLI's event loop does with an exception escaping data_received (pymodbus's used
    to print 17 lines): one error record, asyncio's words and the reason, no traceback."""
    log_redact.install()
    caplog.set_level(logging.DEBUG)
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    log_redact.one_line_loop_errors(loop)

    class Brittle(asyncio.Protocol):
        def data_received(self, data):
            raise ValueError(f"cannot decode {data!r} ?token={TOKEN}")

    server = await loop.create_server(Brittle, "127.0.0.1", 0)
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", server.sockets[0].getsockname()[1])
        writer.write(b"\x00\x01junk")
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 10) == b""     # the server side closed
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
        loop.set_exception_handler(previous)
    [rec] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert rec.exc_info is None and rec.name == "solartui"
    assert rec.getMessage() == ("Fatal error: protocol.data_received() call failed: ValueError: "
                                "cannot decode b'\\x00\\x01junk' ?token=***")

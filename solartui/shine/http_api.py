"""grottserver's HTTP API on top of the embedded Shine server (growatt-shine.md §4).

Why: scripts and Home Assistant automations written for grottserver must keep working unchanged, so
the routes, query parameters, success statuses and success bodies are grottserver's, byte for byte.
What grottserver got wrong (§4.8) is not copied: requests are served concurrently and each completes
as soon as its own reply arrives; every answer has a Content-Length and a real MIME type; bad input
always gets a 400 with one line of text; an unknown device is a 404, silence a 504, a NACK a 502;
non-loopback binds need a token, which every PUT must then carry, and every GET that lists or
reads dataloggers and inverters (their serials are what a hijack needs). A datalogger whose
command queue is full answers 503; a GET whose caller hangs up is cancelled, and its read, if
still queued, is never sent; a PUT runs to its outcome whoever waits for it. Inverter register PUTs go
through the one write gate (a guarded register: 403; outside the map's range or step: 400;
nothing sent). Query validation lives in http_params; this module routes requests and turns
device outcomes into statuses.

Slow clients: a client must complete a request within the server's `http_header_timeout`
(aiohttp's keep-alive timer, which 3.14 runs from the connection's start and between requests
and which partial headers do not reset), so a slow-loris connection is closed, and at most
`http_connections` are open at once (one more is closed as it comes, and counted). Stopping
(shine/shutdown.py): new requests and pending reads get 503 at once; a PUT whose write is on the
wire gets its real answer if the write ends within the grace, else 503.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import time

from aiohttp import web

from solartui.devices import gate
from solartui.devices.gate import WriteRequest
from solartui.devices.writes import MISMATCHED, NO_ANSWER, NOT_SENT, REJECTED
from solartui.errors import (CommandRejected, ConnectionFailed, LinkBusy, NoAnswer,
                             RegisterUnavailable, ShineError, SolartuiError, UnknownDevice,
                             ValueRejected, WriteForbidden)
from solartui.log_redact import OneLineLog
from solartui.shine import http_params as P
from solartui.shine.http_params import ApiError
from solartui.shine.server import ShineServer

log = logging.getLogger("solartui.shine.http")

DEFAULT_HTTP_PORT = 5782
WELCOME = ("<h2>Welcome to Grott the growatt inverter monitor</h2><br>"
           "<h3>Made by Ledidobe, Johan Meijer</h3>")
INFO = "<h2>Grottserver info generated, see log for details</h2>"
HELP = "No help available yet"
OK = "OK"
BUSY = "datalogger busy: too many commands wait for it; try again later"
RETRY_AFTER = "2"
STOPPING = "server is stopping: try again when it is back"
STOPPING_WRITE = ("server is stopping: this write did not reach its outcome in time; "
                  "`solartui journal` shows what is known of it")

# a write's outcome that is not grottserver's "OK": the device refused it (NACK), said something
# else on read-back, or never answered. "unverified" (ACKed, read-back failed: older inverters do
# not answer 0x05) stays "OK", as grottserver answers an ACK.
WRITE_STATUS = {REJECTED: 502, MISMATCHED: 502, NOT_SENT: 502}


def _retrieve(task: asyncio.Task) -> None:
    """A PUT whose caller left still ends; its outcome is journalled, its error needs no one."""
    if not task.cancelled():
        task.exception()


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and "localhost": the only binds allowed without a token."""
    if not host:
        return False                   # None or "": every interface
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def json_response(obj) -> web.Response:
    # json.dumps with its default separators: the same bytes grottserver sends
    return web.Response(body=json.dumps(obj).encode("utf-8"), content_type="application/json")


def text_response(text: str, status: int = 200, *, html: bool = False,
                  headers: dict | None = None) -> web.Response:
    return web.Response(text=text, status=status, headers=headers,
                        content_type="text/html" if html else "text/plain", charset="utf-8")


def _cap_connections(web_server: web.Server, shine: ShineServer) -> None:
    """Close an HTTP connection that would be one too many (ServerLimits.http_connections), and
    count the slow clients aiohttp closes itself (keepalive_timeout = http_header_timeout).

    aiohttp has no such limit and tells nobody whom it timed out; its Server hears of every
    connection (connection_made / connection_lost, called by each RequestHandler), so ours are
    wrapped around that one object's methods. A connection that never got a request answered and
    lived as long as the header timeout was closed for being slow: `http_slow_closed`."""
    made, lost = web_server.connection_made, web_server.connection_lost
    opened: dict[object, float] = {}
    served = shine.http_served = set()      # ids of handlers that have had a request to answer

    def connection_made(handler, transport) -> None:
        made(handler, transport)
        if len(web_server._connections) > shine.limits.http_connections:
            shine.counters["http_refused"] += 1
            shine.ratelog.warning("http-connections", "HTTP connection refused: %d open (limit)",
                                  len(web_server._connections) - 1)
            transport.abort()
            return
        opened[handler] = time.monotonic()

    def connection_lost(handler, exc=None) -> None:
        since = opened.pop(handler, None)
        if (since is not None and id(handler) not in served
                and time.monotonic() - since >= 0.9 * shine.limits.http_header_timeout):
            shine.counters["http_slow_closed"] += 1
            shine.ratelog.warning("http-slow", "HTTP client closed: no complete request within "
                                  "%g s (slow client)", shine.limits.http_header_timeout)
        served.discard(id(handler))
        lost(handler, exc)

    web_server.connection_made = connection_made
    web_server.connection_lost = connection_lost


class HttpApi:
    """The HTTP API of one ShineServer; `start()` it, `stop()` it."""

    def __init__(self, server: ShineServer, *, token: str | None = None):
        self.server = server
        self.token = token or None
        self.host: str | None = None
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self.stopping = False
        self._active: dict[asyncio.Task, str] = {}   # handler task -> method, while it runs
        self._refused: set[asyncio.Task] = set()     # handlers cancelled to answer 503
        self.refused_stopping = 0

    @property
    def running(self) -> bool:
        return self._runner is not None

    async def start(self, host: str = "127.0.0.1", port: int = DEFAULT_HTTP_PORT) -> int:
        """Listen on host:port (0 picks a free port); returns the port."""
        if not is_loopback(host) and self.token is None:
            raise ShineError(f"binding the HTTP API to {host or '0.0.0.0'} needs a token (--token)")
        if self._runner is not None:
            raise ShineError("the HTTP API is already running")
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # a request aiohttp cannot parse is one line in our log, never its traceback (which
        # carried the whole request line, ?token= included); handler_cancellation: a caller
        # that hangs up cancels its handler, so a read still waiting in a datalogger's queue is
        # dropped, not sent (PUTs shield themselves)
        # keepalive_timeout: a request must be complete this long after the connection opened
        # (or after the last answer), else aiohttp closes it: slow-loris
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5,
                               logger=OneLineLog(log), handler_cancellation=True,
                               keepalive_timeout=self.server.limits.http_header_timeout)
        await runner.setup()
        _cap_connections(runner.server, self.server)
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ShineError(f"cannot listen for HTTP on {host}:{port}: "
                             f"{exc.strerror or exc}") from None
        self._runner = runner
        self.host = host
        self.port = runner.addresses[0][1]
        log.info("HTTP API on %s:%d%s", host, self.port,
                 "; PUT needs the token" if self.token else "")
        return self.port

    async def stop_accepting(self) -> None:
        """Close the listening socket and answer every new request 503 (shutdown's first step)."""
        self.stopping = True
        if self._runner is not None:
            for site in list(self._runner.sites):
                await site.stop()

    def active(self, methods=("GET", "PUT")) -> list[asyncio.Task]:
        """The handlers of these methods still running."""
        return [t for t, m in self._active.items() if m in methods and not t.done()]

    def refuse(self, methods=("GET",)) -> int:
        """Answer the requests of these methods still being handled 503 now (their handlers are
        cancelled; a PUT's write itself is shielded and runs on). Returns how many."""
        n = 0
        for task, method in list(self._active.items()):
            if method in methods and not task.done():
                self._refused.add(task)
                task.cancel()
                n += 1
        return n

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
            log.info("HTTP API on %s:%s stopped", self.host, self.port)

    # --- every request -------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        getattr(self.server, "http_served", set()).add(id(request.protocol))  # not slow
        raw_query = request.rel_url.raw_query_string
        task = asyncio.current_task()
        try:
            if self.stopping:
                self.refused_stopping += 1
                raise ApiError(503, STOPPING)
            self._active[task] = request.method
            try:
                response = await self._dispatch(request, raw_query)
            finally:
                self._active.pop(task, None)
        except asyncio.CancelledError:
            if task not in self._refused:
                raise                            # the caller left: nobody to answer
            self._refused.discard(task)
            task.uncancel()
            self.refused_stopping += 1
            response = text_response(STOPPING_WRITE if request.method == "PUT" else STOPPING,
                                     503, headers={"Retry-After": RETRY_AFTER})
        except ApiError as exc:
            headers = ({"WWW-Authenticate": "Bearer"} if exc.status == 401
                       else {"Retry-After": RETRY_AFTER} if exc.status == 503 else None)
            response = text_response(exc.text, exc.status, headers=headers)
        except Exception as exc:  # a bug must still get an answer, never a dropped connection
            log.exception("HTTP %s %s failed", request.method, request.rel_url.raw_path)
            response = text_response(P.one_line(f"internal error: {type(exc).__name__}: {exc}"), 500)
        query = P.loggable_query(raw_query)
        log.info("%s %s%s %d %.0f ms", request.method, request.rel_url.raw_path,
                 f"?{query}" if query else "", response.status,
                 (time.monotonic() - started) * 1000)
        return response

    async def _dispatch(self, request: web.Request, raw_query: str) -> web.StreamResponse:
        method = request.method
        if method not in ("GET", "PUT"):
            raise ApiError(501, f"Unsupported method ('{method}')")
        q, token = P.parse_query(raw_query)
        path = request.path
        name = path.removeprefix("/")
        if method == "PUT" or name.startswith(("datalogger", "inverter")):
            self._authorize(request, token, method)
        if method == "PUT":
            # a write runs to its outcome (sent, read back, journalled) even if the caller
            # hangs up: the handler's cancellation must not cut it in half
            put = asyncio.ensure_future(self._dispatch_put(name, q))
            put.add_done_callback(_retrieve)
            return await asyncio.shield(put)
        if method == "GET":
            if name in ("", "grott.html"):
                return text_response(WELCOME, html=True)
            if name.startswith("datalogger"):
                return await self._get_logger(q)
            if name.startswith("inverter"):
                return await self._get_inverter(q)
            if name.startswith("info"):
                self._log_info()
                return text_response(INFO, html=True)
            if name == "help":
                return text_response(HELP)
        raise ApiError(400, P.BAD_REQUEST)

    async def _dispatch_put(self, name: str, q: dict[str, str]) -> web.StreamResponse:
        if name.startswith("datalogger"):
            return await self._put_logger(q)
        if name.startswith("inverter"):
            return await self._put_inverter(q)
        raise ApiError(400, P.BAD_REQUEST)

    def _authorize(self, request: web.Request, query_token: str | None,
                   method: str = "PUT") -> None:
        if self.token is None:
            return
        offered = [query_token] if query_token is not None else []
        scheme, _, credential = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() == "bearer" and credential.strip():
            offered.append(credential.strip())
        if not offered:
            what = "PUT" if method == "PUT" else "listing or reading devices"
            raise ApiError(401, f"{what} needs the API token: add ?token=... or "
                                "an 'Authorization: Bearer ...' header")
        expected = self.token.encode("utf-8")
        # every offered token is compared (no short cut), each in constant time; a header that
        # is not UTF-8 (aiohttp keeps its bytes as surrogates) is just a wrong token: 401
        matches = [hmac.compare_digest(t.encode("utf-8", "surrogateescape"), expected)
                   for t in offered]
        if not any(matches):
            raise ApiError(401, "wrong API token")

    # --- device calls --------------------------------------------------------------------------

    @staticmethod
    async def _call(coro, unknown: str):
        """Await one server command, turning its failure into the status the client gets."""
        try:
            return await coro
        except UnknownDevice:
            raise ApiError(404, unknown) from None
        except LinkBusy:
            raise ApiError(503, BUSY) from None
        except RegisterUnavailable:
            raise ApiError(400, P.NO_RESPONSE) from None
        except CommandRejected as exc:
            raise ApiError(502, str(exc)) from None
        except (NoAnswer, ConnectionFailed):
            raise ApiError(504, P.NO_RESPONSE) from None
        except SolartuiError as exc:
            raise ApiError(400, str(exc)) from None

    def _logger(self, q: dict[str, str]) -> str:
        serial = q.get("datalogger")
        if serial is None:
            raise ApiError(400, P.NO_LOGGER)
        if serial not in self.server.loggers:
            raise ApiError(404, P.UNKNOWN_LOGGER)
        return serial

    def _inverter(self, q: dict[str, str], unknown: str):
        serial = q.get("inverter")
        if serial is None:
            raise ApiError(400, unknown)
        try:
            _logger, inverter = self.server.find_inverter(serial)
        except UnknownDevice:
            raise ApiError(404, unknown) from None
        return serial, inverter

    # --- GET -----------------------------------------------------------------------------------

    async def _get_logger(self, q: dict[str, str]) -> web.Response:
        if not q:
            return json_response(self.server.registry_json())
        command = P.command(q, ("register", "regall", "status"))
        serial = self._logger(q)
        if command == "regall":
            return json_response(P.logger_regall(self.server.loggers[serial].registers))
        if command == "status":            # ours, not grottserver's: address and moves
            return json_response(self.server.loggers[serial].status_json())
        register = P.register(q)
        data = await self._call(self.server.read_logger_register(serial, register), P.UNKNOWN_LOGGER)
        return json_response({"value": data.decode("latin-1")})

    async def _get_inverter(self, q: dict[str, str]) -> web.Response:
        if not q:
            return json_response(self.server.registry_json())
        command = P.command(q, ("register", "regall", "values"))
        serial, inverter = self._inverter(q, P.UNKNOWN_INVERTER_GET)
        fmt = P.value_format(q)
        if command == "regall":
            return json_response(P.inverter_regall(inverter.holding))
        if command == "values":            # ours: the latest record decoded, and with which map
            return json_response(inverter.as_json())
        register = P.register(q)
        words = await self._call(self.server.read_inverter_registers(serial, register),
                                 P.UNKNOWN_INVERTER_GET)
        return json_response({"value": P.render_word(words[0], fmt)})

    # --- PUT -----------------------------------------------------------------------------------

    async def _put_logger(self, q: dict[str, str]) -> web.Response:
        command = P.command(q, ("register", "multiregister", "datetime"))
        serial = self._logger(q)
        if command == "multiregister":
            raise ApiError(400, P.NO_MULTI_LOGGER)
        if command == "datetime":
            await self._call(self.server.sync_clock(serial, "http"), P.UNKNOWN_LOGGER)
            return text_response(OK)
        register = P.register(q)
        data = P.logger_value(P.value(q))
        await self._call(self.server.write_logger_register(serial, register, data, "http"),
                         P.UNKNOWN_LOGGER)
        return text_response(OK)

    async def _put_inverter(self, q: dict[str, str]) -> web.Response:
        command = P.command(q, ("register", "multiregister", "datetime"))
        serial, _inverter = self._inverter(q, P.UNKNOWN_INVERTER_PUT)
        if command == "datetime":
            raise ApiError(400, P.NO_DATETIME)
        if command == "multiregister":
            first, words = P.multiregister(q)
            request = WriteRequest.raw(first, words)
        else:
            register = P.register(q)
            request = WriteRequest.raw(register, [P.inverter_value(P.value(q), P.value_format(q))])
        await self._write(serial, request)
        return text_response(OK)

    async def _write(self, serial: str, request: WriteRequest) -> None:
        """An inverter register PUT goes through the one write gate like every other door: the
        map's guard answers 403, its range/step/enum 400, and nothing is sent; registers the map
        does not know stay writable (grottserver scripts rely on them), journalled as unmapped.
        The authorised PUT is the confirmation."""
        if self.server.queue_full(serial):
            self.server.counters["commands_refused"] += 1
            raise ApiError(503, BUSY)
        try:
            device = self.server.inverter_device(serial)
            [outcome] = await gate.run(device, request, gate.confirmed, "http")
        except UnknownDevice:
            raise ApiError(404, P.UNKNOWN_INVERTER_PUT) from None
        except WriteForbidden as exc:
            raise ApiError(403, f"refused, nothing sent: {exc}") from None
        except ValueRejected as exc:
            raise ApiError(400, f"refused, nothing sent: {exc}") from None
        except SolartuiError as exc:
            raise ApiError(400, str(exc)) from None
        if outcome.status == NO_ANSWER:
            raise ApiError(504, P.NO_RESPONSE)
        status = WRITE_STATUS.get(outcome.status)
        if status is not None:
            raise ApiError(status, P.one_line(outcome.detail))

    # --- GET /info -----------------------------------------------------------------------------

    def _log_info(self) -> None:
        """grottserver writes its state to the log on GET /info; so do we, at most once per
        log interval (the page is open to anyone, and one call writes a line per datalogger)."""
        server = self.server
        if not server.ratelog.info("info", "info: GET /info (state follows)"):
            return
        log.info("info: device port %s, %d datalogger(s), counters %s", server.port,
                 len(server.loggers), server.counters)
        for serial, state in server.loggers.items():
            log.info("info: datalogger %s at %s:%d protocol %s, %d record(s), inverters %s",
                     serial, state.ip, state.port, state.protocol_text, state.records,
                     ", ".join(f"{s} (unit {i.unit:02x})" for s, i in state.inverters.items())
                     or "none")

"""The grottserver-compatible HTTP API (growatt-shine.md §4): every route's success shape and every
error status, against a real ShineServer with simulated dataloggers connected over TCP, called over
real HTTP on 127.0.0.1 (aiohttp and, as a grottserver script would, urllib)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.error
import urllib.request
from datetime import datetime

import aiohttp
import pytest

from solartui.errors import ShineError
from solartui.registers import catalog
from solartui.shine.http_api import HttpApi, is_loopback
from solartui.shine.server import ShineServer
from solartui.sim.register_bank import RegisterBank
from solartui.sim.shine_logger import LoggerFaults, SimulatedDatalogger

TIMEOUT = 1.0          # the server's logger and inverter timeouts: silence costs this much
PROMPT = 0.4           # "answers promptly": well under TIMEOUT
TOKEN = "s3cret-token"
WELCOME = ("<h2>Welcome to Grott the growatt inverter monitor</h2><br>"
           "<h3>Made by Ledidobe, Johan Meijer</h3>")
NO_RESPONSE = "no or invalid response received"


class Rig:
    """A ShineServer, its HttpApi and the simulated dataloggers connected to it."""

    def __init__(self, server: ShineServer, api: HttpApi, session: aiohttp.ClientSession):
        self.server = server
        self.api = api
        self.session = session
        self.sims: dict[str, SimulatedDatalogger] = {}

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.api.port}"

    async def add(self, datalogger: str, inverter: str, *, unit: int = 1,
                  faults: LoggerFaults | None = None, holding: dict[int, int] | None = None):
        bank = RegisterBank(catalog.resolve("growatt-protocol-ii"), identity={"serial": inverter})
        for reg, word in (holding or {}).items():
            bank.set_raw("holding", reg, [word])
        sim = SimulatedDatalogger(bank, datalogger=datalogger, inverter=inverter, unit=unit,
                                  faults=faults, interval=3600.0, ping_every=3600.0)
        self.sims[datalogger] = sim
        await sim.start("127.0.0.1", self.server.port)
        await asyncio.wait_for(sim.announced.wait(), 5)
        assert inverter in self.server.loggers[datalogger].inverters
        return sim

    async def call(self, method: str, path: str, **kw) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.session.request(method, self.base + path, **kw) as resp:
            body = await resp.text()
            return resp.status, body, resp

    async def get(self, path: str, **kw):
        return await self.call("GET", path, **kw)

    async def put(self, path: str, **kw):
        return await self.call("PUT", path, **kw)


async def make_rig(token: str | None = None, server_class=ShineServer):
    server = server_class(logger_timeout=TIMEOUT, inverter_timeout=TIMEOUT, command_gap=0.01,
                          sync_on_announce=False)
    await server.start("127.0.0.1", 0)
    api = HttpApi(server, token=token)
    session = None
    try:
        await api.start("127.0.0.1", 0)
        session = aiohttp.ClientSession()
    except BaseException:
        await api.stop()
        await server.stop()
        raise
    return Rig(server, api, session)


async def close_rig(rig: Rig) -> None:
    for sim in rig.sims.values():
        await sim.stop()
    await rig.session.close()
    await rig.api.stop()
    await rig.server.stop()


@pytest.fixture
async def empty():
    rig = await make_rig()
    try:
        yield rig
    finally:
        await close_rig(rig)


@pytest.fixture
async def rig():
    """Two healthy dataloggers with different inverters (unit 01 and 51)."""
    rig = await make_rig()
    try:
        await rig.add("SIMLOG0001", "SIMINV0001", holding={3: 100})
        await rig.add("SIMLOG0002", "SIMINV0002", unit=0x51, holding={3: 77})
        yield rig
    finally:
        await close_rig(rig)


@pytest.fixture
async def faulty():
    """One healthy, one silent and one NACKing datalogger."""
    rig = await make_rig()
    try:
        await rig.add("SIMLOG0001", "SIMINV0001")
        await rig.add("SILENT0001", "SILINV0001", faults=LoggerFaults(silent=True))
        await rig.add("NACKLOG001", "NACKINV001", faults=LoggerFaults(nack=True))
        yield rig
    finally:
        await close_rig(rig)


@pytest.fixture
async def guarded():
    rig = await make_rig(token=TOKEN)
    try:
        await rig.add("SIMLOG0001", "SIMINV0001")
        yield rig
    finally:
        await close_rig(rig)


def is_json(resp: aiohttp.ClientResponse) -> bool:
    return (resp.headers["Content-Type"] == "application/json"
            and int(resp.headers["Content-Length"]) > 0)


def is_text(resp: aiohttp.ClientResponse) -> bool:
    return (resp.headers["Content-Type"] == "text/plain; charset=utf-8"
            and "Content-Length" in resp.headers)


# --- plain pages ---------------------------------------------------------------------------------

async def test_root_help_info(empty):
    status, body, resp = await empty.get("/")
    assert (status, body) == (200, WELCOME)
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    status, body, resp = await empty.get("/help")
    assert (status, body) == (200, "No help available yet") and is_text(resp)
    status, body, resp = await empty.get("/info")
    assert (status, body) == (200, "<h2>Grottserver info generated, see log for details</h2>")


async def test_unknown_path_and_method(empty):
    for method, path in (("GET", "/nothing"), ("GET", "/help/me"), ("PUT", "/nothing"),
                         ("PUT", "/help")):
        status, body, resp = await empty.call(method, path)
        assert (status, body) == (400, "Bad request") and is_text(resp)
    status, body, resp = await empty.call("POST", "/datalogger")
    assert (status, body) == (501, "Unsupported method ('POST')") and is_text(resp)
    status, body, _ = await empty.call("DELETE", "/inverter")
    assert status == 501


# --- registry ------------------------------------------------------------------------------------

async def test_registry_empty(empty):
    for path in ("/datalogger", "/inverter", "/datalogger?", "/inverter?token=x"):
        status, body, resp = await empty.get(path)
        assert (status, body) == (200, "{}") and is_json(resp)


async def test_registry_same_object_from_both_paths(rig):
    status, body, resp = await rig.get("/datalogger")
    assert status == 200 and is_json(resp)
    assert body == json.dumps(rig.server.registry_json())       # grottserver's exact bytes
    assert (await rig.get("/inverter"))[1] == body
    reg = json.loads(body)
    assert set(reg) == {"SIMLOG0001", "SIMLOG0002"}
    one = reg["SIMLOG0001"]
    assert one["ip"] == "127.0.0.1" and isinstance(one["port"], int) and one["protocol"] == "06"
    assert one["SIMINV0001"] == {"inverterno": "01", "power": 0}
    assert reg["SIMLOG0002"]["SIMINV0002"] == {"inverterno": "51", "power": 0}


# --- GET /datalogger -----------------------------------------------------------------------------

async def test_get_datalogger_register(rig):
    status, body, resp = await rig.get(
        "/datalogger?command=register&datalogger=SIMLOG0002&register=8")
    assert (status, body) == (200, '{"value": "SIMLOG0002"}') and is_json(resp)
    status, body, _ = await rig.get("/datalogger?command=register&datalogger=SIMLOG0001&register=21")
    assert json.loads(body) == {"value": "3.1.0.5"}


async def test_get_datalogger_regall_lists_only_that_datalogger(rig):
    await rig.get("/datalogger?command=register&datalogger=SIMLOG0001&register=8")
    await rig.get("/datalogger?command=register&datalogger=SIMLOG0002&register=21")
    status, body, resp = await rig.get("/datalogger?command=regall&datalogger=SIMLOG0001")
    assert status == 200 and is_json(resp)
    assert json.loads(body) == {"0008": {"value": "SIMLOG0001"}}
    status, body, _ = await rig.get("/datalogger?command=regall&datalogger=SIMLOG0002")
    assert json.loads(body) == {"0015": {"value": "3.1.0.5"}}
    assert rig.sims["SIMLOG0001"].stats["commands"] == 1    # regall sent nothing


# --- GET /inverter -------------------------------------------------------------------------------

@pytest.mark.parametrize("query, raw", [
    ("", b'{"value": 100}'),
    ("&format=dec", b'{"value": 100}'),
    ("&format=hex", b'{"value": "0064"}'),
    ("&format=text", b'{"value": "\\u0000d"}'),
])
async def test_get_inverter_register_formats(rig, query, raw):
    url = f"{rig.base}/inverter?command=register&inverter=SIMINV0001&register=3{query}"
    async with rig.session.get(url) as resp:
        assert resp.status == 200 and is_json(resp)
        assert await resp.read() == raw


async def test_get_inverter_register_behind_unit_51(rig):
    status, body, _ = await rig.get("/inverter?command=register&inverter=SIMINV0002&register=3")
    assert (status, json.loads(body)) == (200, {"value": 77})


async def test_get_inverter_regall_lists_only_that_inverter(rig):
    await rig.get("/inverter?command=register&inverter=SIMINV0001&register=3")
    status, body, resp = await rig.get("/inverter?command=regall&inverter=SIMINV0002&format=dec")
    assert status == 200 and is_json(resp)
    got = json.loads(body)
    holding = rig.server.loggers["SIMLOG0002"].inverters["SIMINV0002"].holding
    assert got == {f"{r:04x}": {"value": f"{w:04x}"} for r, w in holding.items()}
    assert got["0003"] == {"value": "004d"}                   # 77: this inverter's, not 100
    assert all(len(k) == 4 and k == k.lower() for k in got)
    assert all(isinstance(v["value"], str) and len(v["value"]) == 4 for v in got.values())
    status, body, _ = await rig.get("/inverter?command=regall&inverter=SIMINV0001")
    assert json.loads(body)["0003"] == {"value": "0064"}


# --- PUT /datalogger -----------------------------------------------------------------------------

async def test_put_datalogger_register(rig):
    status, body, resp = await rig.put(
        "/datalogger?command=register&datalogger=SIMLOG0001&register=30&value=GMT%2B1")
    assert (status, body) == (200, "OK") and is_text(resp)
    assert rig.sims["SIMLOG0001"].registers[30] == b"GMT+1"
    assert rig.sims["SIMLOG0002"].registers[30] != b"GMT+1"
    status, body, _ = await rig.get("/datalogger?command=regall&datalogger=SIMLOG0001")
    assert json.loads(body) == {"001e": {"value": "GMT+1"}}


async def test_put_datalogger_datetime(rig):
    status, body, resp = await rig.put("/datalogger?command=datetime&datalogger=SIMLOG0002")
    assert (status, body) == (200, "OK") and is_text(resp)
    sent = rig.server.loggers["SIMLOG0002"].clock_sent
    assert abs((datetime.strptime(sent, "%Y-%m-%d %H:%M:%S") - datetime.now()).total_seconds()) < 5
    assert abs(rig.sims["SIMLOG0002"].clock_offset) < 5


# --- PUT /inverter -------------------------------------------------------------------------------

@pytest.mark.parametrize("query, word", [
    ("value=50", 50), ("value=60&format=dec", 60), ("value=3c&format=hex", 0x3C),
    ("value=d&format=text", 0x64), ("value=%00Z&format=text", 0x5A),
])
async def test_put_inverter_register_formats(rig, query, word):
    status, body, resp = await rig.put(
        f"/inverter?command=register&inverter=SIMINV0002&register=3&{query}")
    assert (status, body) == (200, "OK") and is_text(resp)
    assert rig.sims["SIMLOG0002"].bank.get_raw("holding", 3, 1) == [word]
    assert rig.sims["SIMLOG0001"].bank.get_raw("holding", 3, 1) == [100]


async def test_put_inverter_multiregister(rig):
    status, body, resp = await rig.put(
        "/inverter?command=multiregister&inverter=SIMINV0001&startregister=17&endregister=18"
        "&value=0064000A")
    assert (status, body) == (200, "OK") and is_text(resp)
    assert rig.sims["SIMLOG0001"].bank.get_raw("holding", 17, 2) == [100, 10]
    status, body, _ = await rig.get("/inverter?command=regall&inverter=SIMINV0001")
    got = json.loads(body)
    assert got["0011"] == {"value": "0064"} and got["0012"] == {"value": "000a"}


# --- bad input: 400, one line, nothing sent ------------------------------------------------------

L1, I1 = "datalogger=SIMLOG0001", "inverter=SIMINV0001"
BAD_INPUT = [
    ("GET", "/datalogger?foo=1", "no command entered"),
    ("GET", "/datalogger?command=nope&" + L1, "no valid command entered"),
    ("GET", "/datalogger?command=register", "no datalogger or inverterid specified"),
    ("GET", f"/datalogger?command=register&{L1}", "invalid reg value specified"),
    ("GET", f"/datalogger?command=register&{L1}&register=abc", "invalid reg value specified"),
    ("GET", f"/datalogger?command=register&{L1}&register=4096", "invalid reg value specified"),
    ("GET", f"/datalogger?command=register&{L1}&register=-1", "invalid reg value specified"),
    ("GET", "/inverter?command=register", "no or no valid invertid specified"),
    ("GET", "/inverter?inverter=SIMINV0001", "no command entered"),
    ("GET", f"/inverter?command=regall&{I1}&format=bin", "invalid format specified"),
    ("GET", f"/inverter?command=register&{I1}&register=3&format=oct", "invalid format specified"),
    ("GET", f"/inverter?command=register&{I1}&register=x3", "invalid reg value specified"),
    ("PUT", "/datalogger", "no command entered"),
    ("PUT", "/datalogger?command=reboot&" + L1, "no valid command entered"),
    ("PUT", "/datalogger?command=register&register=4&value=1", "no datalogger or inverterid specified"),
    ("PUT", f"/datalogger?command=register&{L1}&value=1", "invalid reg value specified"),
    ("PUT", f"/datalogger?command=register&{L1}&register=4", "no value specified"),
    ("PUT", f"/datalogger?command=register&{L1}&register=4&value=", "no value specified"),
    ("PUT", f"/datalogger?command=register&{L1}&register=4&value=" + "x" * 256,
     "invalid value specified (at most 255 bytes)"),
    ("PUT", f"/datalogger?command=register&{L1}&register=4&value=%E2%82%AC",
     "invalid value specified (ISO-8859-1 text only)"),
    ("PUT", f"/datalogger?command=multiregister&{L1}", "multiregister command not allowed for datalogger"),
    ("PUT", "/inverter?command=register&register=3&value=1", "no or invalid invertid specified"),
    ("PUT", f"/inverter?command=datetime&{I1}", "datetime command not allowed for inverter"),
    ("PUT", f"/inverter?command=register&{I1}&register=3", "no value specified"),
    ("PUT", f"/inverter?command=register&{I1}&value=3", "invalid reg value specified"),
    ("PUT", f"/inverter?command=register&{I1}&register=5000&value=3", "invalid reg value specified"),
    ("PUT", f"/inverter?command=register&{I1}&register=3&value=abc", "invalid value specified"),
    ("PUT", f"/inverter?command=register&{I1}&register=3&value=-1", "invalid value specified (0-65535)"),
    ("PUT", f"/inverter?command=register&{I1}&register=3&value=65536",
     "invalid value specified (0-65535)"),
    ("PUT", f"/inverter?command=register&{I1}&register=3&value=1ffff&format=hex",
     "invalid value specified (0-65535)"),
    ("PUT", f"/inverter?command=register&{I1}&register=3&value=xyz&format=hex",
     "invalid value specified"),
    ("PUT", f"/inverter?command=register&{I1}&register=3&value=abc&format=text",
     "invalid value specified (format=text takes at most 2 bytes)"),
    ("PUT", f"/inverter?command=register&{I1}&register=3&value=%C3%A9%C3%A9&format=text",
     "invalid value specified (format=text takes at most 2 bytes)"),
    ("PUT", f"/inverter?command=register&{I1}&register=3&value=1&format=bcd", "invalid format specified"),
]
MULTI = f"/inverter?command=multiregister&{I1}"
BAD_MULTI = [
    ("&endregister=18&value=00640064", "invalid start register value specified"),
    ("&startregister=a&endregister=18&value=00640064", "invalid start register value specified"),
    ("&startregister=4096&endregister=18&value=00640064", "invalid start register value specified"),
    ("&startregister=17&value=00640064", "invalid end register value specified"),
    ("&startregister=17&endregister=4096&value=0064", "invalid end register value specified"),
    ("&startregister=18&endregister=17&value=00640064",
     "invalid end register value specified (end register 17 before start register 18)"),
    ("&startregister=0&endregister=123&value=" + "0000" * 124,
     "invalid end register value specified (at most 123 registers, not 124)"),
    ("&startregister=17&endregister=18", "no value specified"),
    ("&startregister=17&endregister=18&value=006400",
     "invalid value specified (registers 17-18 take 8 hex digits, not 6)"),
    ("&startregister=17&endregister=18&value=0064006400",
     "invalid value specified (registers 17-18 take 8 hex digits, not 10)"),
    ("&startregister=17&endregister=18&value=0064006g", "invalid value specified (hex digits only)"),
    ("&startregister=17&endregister=18&value=0x640064", "invalid value specified (hex digits only)"),
]


async def test_bad_input_is_400_with_one_line(rig):
    for method, path, text in BAD_INPUT + [("PUT", MULTI + q, t) for q, t in BAD_MULTI]:
        status, body, resp = await rig.call(method, path)
        assert (status, body) == (400, text), (method, path)
        assert is_text(resp)
    assert rig.sims["SIMLOG0001"].stats["commands"] == 0         # nothing reached the device


async def test_unknown_device_is_404(rig):
    cases = [
        ("GET", "/datalogger?command=register&datalogger=NOSUCHLOG&register=8", "invalid datalogger id "),
        ("GET", "/datalogger?command=regall&datalogger=NOSUCHLOG", "invalid datalogger id "),
        ("PUT", "/datalogger?command=register&datalogger=NOSUCHLOG&register=4&value=1",
         "invalid datalogger id "),
        ("PUT", "/datalogger?command=datetime&datalogger=NOSUCHLOG", "invalid datalogger id "),
        ("GET", "/inverter?command=register&inverter=NOSUCHINV&register=3",
         "no or no valid invertid specified"),
        ("GET", "/inverter?command=regall&inverter=NOSUCHINV", "no or no valid invertid specified"),
        ("PUT", "/inverter?command=register&inverter=NOSUCHINV&register=3&value=1",
         "no or invalid invertid specified"),
        ("PUT", ("/inverter?command=multiregister&inverter=NOSUCHINV&startregister=3&endregister=3"
                 "&value=0001"), "no or invalid invertid specified"),
    ]
    for method, path, text in cases:
        status, body, resp = await rig.call(method, path)
        assert (status, body) == (404, text), (method, path)
        assert is_text(resp)


async def test_disconnected_datalogger_is_404_at_once(rig):
    await rig.sims["SIMLOG0002"].stop()
    for _ in range(100):
        if "SIMLOG0002" not in rig.server.loggers:
            break
        await asyncio.sleep(0.01)
    started = time.monotonic()
    status, body, _ = await rig.get("/inverter?command=register&inverter=SIMINV0002&register=3")
    assert (status, body) == (404, "no or no valid invertid specified")
    status, body, _ = await rig.get("/datalogger?command=register&datalogger=SIMLOG0002&register=8")
    assert (status, body) == (404, "invalid datalogger id ")
    assert time.monotonic() - started < PROMPT
    assert "SIMLOG0002" not in json.loads((await rig.get("/datalogger"))[1])


async def test_unavailable_register_is_400_at_once(rig):
    started = time.monotonic()
    status, body, resp = await rig.get("/inverter?command=register&inverter=SIMINV0001&register=2000")
    assert (status, body) == (400, NO_RESPONSE) and is_text(resp)
    assert time.monotonic() - started < PROMPT


# --- device failures -----------------------------------------------------------------------------

async def test_silent_datalogger_is_504(faulty):
    for method, path in (
            ("GET", "/datalogger?command=register&datalogger=SILENT0001&register=8"),
            ("PUT", "/inverter?command=register&inverter=SILINV0001&register=3&value=5")):
        started = time.monotonic()
        status, body, resp = await faulty.call(method, path)
        assert (status, body) == (504, NO_RESPONSE) and is_text(resp)
        # a PUT goes through the write gate, which reads the old value first: two timeouts
        waits = 2 if method == "PUT" else 1
        assert TIMEOUT * 0.9 <= time.monotonic() - started < waits * TIMEOUT + 1


async def test_nack_is_502(faulty):
    cases = [
        ("/datalogger?command=register&datalogger=NACKLOG001&register=30&value=GMT",
         "write of datalogger register 30 rejected by datalogger (status 03)"),
        ("/datalogger?command=datetime&datalogger=NACKLOG001",
         "write of datalogger register 31 rejected by datalogger (status 03)"),
        ("/inverter?command=register&inverter=NACKINV001&register=3&value=5",
         "write of inverter register 3 rejected by datalogger (status 03)"),
        (("/inverter?command=multiregister&inverter=NACKINV001&startregister=17&endregister=18"
          "&value=00640005"),
         "write of inverter registers 17-18 rejected by datalogger (status 03)"),
    ]
    for path, text in cases:
        status, body, resp = await faulty.put(path)
        assert (status, body) == (502, text), path
        assert is_text(resp)
    # a value the map refuses (active power rate above 100 %) never reaches the inverter: 400
    status, body, _ = await faulty.put("/inverter?command=register&inverter=SIMINV0001&register=3&value=101")
    assert status == 400 and "outside 0..100" in body and "nothing sent" in body


async def test_requests_are_served_concurrently(faulty):
    slow = asyncio.create_task(faulty.get(
        "/datalogger?command=register&datalogger=SILENT0001&register=8"))
    await asyncio.sleep(0.05)                      # the silent request is now waiting
    started = time.monotonic()
    status, body, _ = await faulty.get("/datalogger")
    assert status == 200 and "SILENT0001" in json.loads(body)
    status, body, _ = await faulty.get("/datalogger?command=register&datalogger=SIMLOG0001&register=8")
    assert (status, json.loads(body)) == (200, {"value": "SIMLOG0001"})
    status, _, _ = await faulty.get("/inverter?command=register&inverter=SIMINV0001&register=3")
    assert status == 200
    assert time.monotonic() - started < PROMPT
    assert not slow.done()
    status, body, _ = await slow
    assert (status, body) == (504, NO_RESPONSE)


# --- token ---------------------------------------------------------------------------------------

async def test_token_guards_puts_only(guarded, caplog):
    caplog.set_level(logging.INFO, logger="solartui.shine.http")
    put = "/datalogger?command=register&datalogger=SIMLOG0001&register=30&value=GMT"
    status, body, resp = await guarded.put(put)
    assert status == 401 and is_text(resp) and "token" in body and "\n" not in body
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    status, body, _ = await guarded.put(put + "&token=wrong")
    assert (status, body) == (401, "wrong API token")
    status, body, _ = await guarded.put(put, headers={"Authorization": "Bearer wrong"})
    assert (status, body) == (401, "wrong API token")
    status, _, _ = await guarded.put("/nothing")
    assert status == 401
    assert guarded.sims["SIMLOG0001"].stats["commands"] == 0
    assert (await guarded.put(put + f"&token={TOKEN}"))[:2] == (200, "OK")
    assert (await guarded.put(put, headers={"Authorization": f"Bearer {TOKEN}"}))[:2] == (200, "OK")
    # listing needs it too (issue 21); a token in a GET query does not count as a parameter
    status, body, _ = await guarded.get("/datalogger")
    assert status == 401 and "SIMLOG0001" not in body
    status, body, _ = await guarded.get(f"/datalogger?token={TOKEN}")
    assert status == 200 and "SIMLOG0001" in json.loads(body)
    logged = [r.getMessage() for r in caplog.records if r.name == "solartui.shine.http"]
    assert any(line.startswith("PUT /datalogger?command=register&datalogger=SIMLOG0001&register=30"
                               "&value=GMT 200 ") for line in logged)
    assert not any(TOKEN in line for line in logged)


async def test_non_loopback_bind_needs_a_token():
    server = ShineServer()
    for host in ("0.0.0.0", "192.168.1.10", "::", "example.com"):
        with pytest.raises(ShineError, match=f"binding the HTTP API to {host} needs a token"):
            await HttpApi(server).start(host, 0)
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "localhost", "LOCALHOST"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "", "10.0.0.1", "::"))


async def test_loopback_without_token_and_port_in_use(empty):
    status, _, _ = await empty.put("/datalogger?command=datetime&datalogger=NOSUCHLOG")
    assert status == 404                               # no token configured: PUT needs none
    with pytest.raises(ShineError, match="cannot listen for HTTP"):
        await HttpApi(empty.server).start("127.0.0.1", empty.api.port)


# --- a grottserver script, verbatim stdlib -------------------------------------------------------

def grott_script(base: str) -> dict:
    """What a grottserver script does: urllib, parse the JSON, check the status."""
    out = {}
    with urllib.request.urlopen(f"{base}/datalogger", timeout=5) as resp:
        reg = json.loads(resp.read())
        out["registry_status"] = resp.status
    logger = next(iter(reg))
    inverter = next(k for k in reg[logger] if k not in ("ip", "port", "protocol"))
    with urllib.request.urlopen(f"{base}/inverter?command=register&inverter={inverter}"
                                f"&register=3&format=dec", timeout=5) as resp:
        out["value"] = json.loads(resp.read())["value"]
    req = urllib.request.Request(f"{base}/inverter?command=register&inverter={inverter}"
                                 f"&register=3&value=42", method="PUT")
    with urllib.request.urlopen(req, timeout=5) as resp:
        out["put"] = (resp.status, resp.read().decode())
    try:
        urllib.request.urlopen(f"{base}/inverter?command=register&inverter=NOPE&register=3", timeout=5)
    except urllib.error.HTTPError as exc:
        out["error"] = (exc.code, exc.read().decode())
    return out


async def test_grottserver_script_with_urllib(rig):
    await rig.sims["SIMLOG0002"].stop()
    for _ in range(100):
        if len(rig.server.loggers) == 1:
            break
        await asyncio.sleep(0.01)
    out = await asyncio.to_thread(grott_script, rig.base)
    assert out == {"registry_status": 200, "value": 100, "put": (200, "OK"),
                   "error": (404, "no or no valid invertid specified")}
    assert rig.sims["SIMLOG0001"].bank.get_raw("holding", 3, 1) == [42]


# --- a bug still gets an answer ------------------------------------------------------------------

class BrokenServer(ShineServer):
    def registry_json(self) -> dict:
        raise RuntimeError("registry exploded")


async def test_unexpected_exception_is_500():
    rig = await make_rig(server_class=BrokenServer)
    try:
        status, body, resp = await rig.get("/datalogger")
        assert status == 500 and is_text(resp)
        assert body == "internal error: RuntimeError: registry exploded"
        assert (await rig.get("/help"))[0] == 200          # the server lives on
    finally:
        await close_rig(rig)

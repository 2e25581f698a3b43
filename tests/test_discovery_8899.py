"""Discovery on a logger port (8899) tells apart a Solarman V5 logger (identified through the
SolarmanLink, its serial learnt from the "not my serial" answer), a GivEnergy dongle, a logger in
Modbus TCP mode and other listeners (echo, garbage, silence). Loopback 127.0.0.x only."""

from __future__ import annotations


from solartui.discovery.logger_port import classify, identify_logger_port, probe_frame
from solartui.discovery.network import LOGGER_DETAIL, scan_network
from solartui.links import solarman_frame as F
from solartui.sim.modbus_server import ModbusSimulator
from solartui.sim.register_bank import RegisterBank
from solartui.sim.solarman_logger import LoggerFaults, SolarmanLogger

from test_discovery_net import CONNECT, _listen, _port_free_everywhere, _silent

SERIAL = 3141592653


async def _echo(reader, writer):
    try:
        while data := await reader.read(4096):
            writer.write(data)
    finally:
        writer.close()


async def _garbage(reader, writer):
    try:
        await reader.read(10)
        writer.write(b"HTTP/1.0 400 Bad Request\r\n\r\n")
        await writer.drain()
        await reader.read()
    finally:
        writer.close()


async def test_a_scan_of_8899_tells_every_listener_apart(growatt_map):
    from solartui.sim.givenergy_dongle import GivEnergyDongle

    port = _port_free_everywhere()
    logger = SolarmanLogger(RegisterBank(growatt_map, unit=1, identity={"serial": "GRWSOL0001"}),
                            "127.0.0.33", port, serial=SERIAL)
    await logger.start()
    dongle = GivEnergyDongle("127.0.0.34", port, inverter_serial="SA2203G123")
    await dongle.start()
    modbus = ModbusSimulator(RegisterBank(growatt_map, unit=1, identity={"serial": "GRWTCP0001"}))
    await modbus.start_tcp("127.0.0.35", port)
    others = [await _listen("127.0.0.36", port, _echo),
              await _listen("127.0.0.37", port, _garbage),
              await _listen("127.0.0.38", port, _silent)]
    try:
        found = await scan_network("127.0.0.32/28", ports=(port,), logger_ports=(port,),
                                   connect_timeout=CONNECT)
    finally:
        for s in others:
            s.close()
        await modbus.stop()
        await dongle.stop()
        await logger.stop()
    by_host = {f.link.split(":")[0]: f for f in found}
    assert sorted(by_host) == [f"127.0.0.{n}" for n in range(33, 39)]
    sol = by_host["127.0.0.33"]
    assert (sol.kind, sol.target, sol.map_id, sol.serial) == (
        "solarman", f"solarman://127.0.0.33:{port}?serial={SERIAL}&unit=1",
        "growatt-protocol-ii", "GRWSOL0001")
    assert f"Solarman V5 logger {SERIAL}" in sol.detail
    giv = by_host["127.0.0.34"]
    assert (giv.kind, giv.target, giv.serial) == (
        "givenergy", f"givenergy://127.0.0.34:{port}", "SA2203G123")
    mb = by_host["127.0.0.35"]
    assert (mb.kind, mb.target, mb.serial) == (
        "modbus-tcp", f"tcp://127.0.0.35:{port}?unit=1", "GRWTCP0001")
    echo, junk, silent = by_host["127.0.0.36"], by_host["127.0.0.37"], by_host["127.0.0.38"]
    assert (echo.kind, echo.target) == ("tcp-port", "")
    assert echo.detail == f"unknown service on port {port} (it echoes what it is sent)"
    assert junk.kind == "tcp-port" and junk.detail.startswith(f"unknown service on port {port} (")
    assert "neither Solarman V5 nor GivEnergy" in junk.detail
    assert (silent.kind, silent.detail) == ("tcp-port", LOGGER_DETAIL)
    # the probe was a read: nothing was written anywhere
    assert logger.bank(1).writes == 0 and not dongle.writes


async def test_a_logger_with_a_silent_inverter_is_still_a_solarman_logger(growatt_map):
    logger = SolarmanLogger(RegisterBank(growatt_map, unit=1), serial=SERIAL,
                            faults=LoggerFaults(inverter_silent=True))
    port = await logger.start()
    try:
        f = await identify_logger_port("127.0.0.1", port, timeout=1.0)
    finally:
        await logger.stop()
    assert f.kind == "solarman" and f.map_id is None
    assert f.target == f"solarman://127.0.0.1:{port}?serial={SERIAL}&unit=1"
    assert "did not answer at unit 1" in f.detail and str(SERIAL) in f.title()


def test_classify_table():
    probe = probe_frame(7)
    reply = F.response_frame(SERIAL, 7, 1, bytes([6, 0]))
    assert classify(reply, probe)[0] == "solarman"
    assert classify(reply, probe)[1].serial == SERIAL
    assert classify(b"AT+YZCMPVER=x\r\n" + reply, probe)[0] == "solarman"
    heartbeat = bytes.fromhex("a5010010478d69b5b50aa2006415")
    assert classify(heartbeat, probe)[1].serial == 2718610869
    assert classify(bytes.fromhex("59590001000d0102"), probe)[0] == "givenergy"
    assert classify(probe, probe)[0] == "echo"
    assert classify(probe[:10], probe)[0] == ""             # an echo still arriving
    # a stick in Modbus TCP mode parsing our probe as MBAP (§9): five bytes back, a count
    assert classify(probe[:5] + bytes([3, 0, 0x80, 2]), probe)[0] == "modbus-tcp"
    assert classify(b"", probe)[0] == "silent"
    assert classify(b"\xff" * 40, probe)[0] == ""


async def test_the_probe_is_one_read_and_nothing_else(growatt_map):
    seen: list[bytes] = []

    async def record(reader, writer):
        try:
            seen.append(await reader.read(4096))
        finally:
            writer.close()

    server = await _listen("127.0.0.1", 0, record)
    port = server.sockets[0].getsockname()[1]
    try:
        from solartui.discovery.logger_port import probe_v5
        kind, _, _ = await probe_v5("127.0.0.1", port, 1.0)
    finally:
        server.close()
    frame = F.decode(seen[0])
    assert kind == "silent" or kind == "unknown"
    assert (frame.control, frame.serial) == (F.REQUEST, 0)
    assert F.parse_rtu_request(F.parse_request(frame)) == (1, 3, 0, 1)

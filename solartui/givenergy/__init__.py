"""GivEnergy inverters over the dongle's TCP port 8899: Modbus inside a proprietary envelope.

Why a package of its own: the envelope (heartbeats, fan-out of every reply to every client, replies
matched by shape rather than by transaction id) differs enough from Modbus TCP that pymodbus cannot
carry it. No I/O here: `frame` and `stream` are pure codecs; the socket lives in
`solartui.links.givenergy` and the simulated dongle in `solartui.sim.givenergy_dongle`.
"""

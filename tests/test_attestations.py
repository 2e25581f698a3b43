"""Hardware attestations and the rung each point shows: the store, the rules of effective_rungs
(one model and firmware only, the latest word wins, simulators earn nothing, verification
raises to simulator-verified), and `maps evidence` / `read` as a person runs them."""

from __future__ import annotations

import json

import pytest

from solartui.devices.readings import Identity
from solartui.registers import catalog
from solartui.sim.modbus_server import ModbusSimulator
from solartui.sim.register_bank import RegisterBank
from solartui.trust.attestations import Attestation, AttestationStore
from solartui.trust.rungs import (
    HARDWARE, MISMATCH, SIMULATOR, effective_rungs, model_and_firmware, point_evidence,
    point_verdicts,
)
from solartui.trust.verifications import record_run

from procs import one_line_error, run_cli

MAP = "growatt-protocol-ii"


def att(point="vac1", model="A", firmware="1", matches=True, simulated=False, **kw):
    return Attestation(MAP, point, model, kw.pop("serial", "SN1"), firmware, "230.1 V",
                       kw.pop("display", "230.1 V" if matches else "229.0 V"), matches,
                       kw.pop("person", "Ann"), simulated=simulated, **kw)


def test_store_round_trip_skips_a_torn_line(tmp_path):
    store = AttestationStore(tmp_path / "a.jsonl")
    first = store.add(att())
    store.add(att(point="fac", serial="SN2", matches=False, person="Bo Ø"))
    with open(store.path, "a", encoding="utf-8") as fh:
        fh.write('{"map_id": "growatt-protocol-ii", "point": "vac2", "mod')     # torn by a crash
        fh.write("\n" + json.dumps({"map_id": MAP, "point": "x"}) + "\n")      # an older shape
    store.add(att(point="vac3"))
    got = store.all()
    assert [a.point for a in got] == ["vac1", "fac", "vac3"]
    assert got[0] == first and first.time and first.time[:4].isdigit()
    assert got[1].person == "Bo Ø" and got[1].verdict == "does not match"
    assert got[1].display == "229.0 V" and got[1].shown == "230.1 V"
    assert [a.point for a in store.all(serial="SN2")] == ["fac"]
    assert store.all(map_id="voltronic-pi30") == []
    assert AttestationStore(tmp_path / "none.jsonl").all() == []


def test_model_and_firmware_for_each_kind_of_device():
    growatt = Identity(MAP, {"firmware": "DH1.0", "control_firmware": "ZB2.1", "serial": "S",
                             "model": "0x00102231", "device_type": 5100})
    assert model_and_firmware(growatt) == ("0x00102231 type 5100", "DH1.0 control ZB2.1")
    give = Identity("givenergy-hybrid", {"device_type": 0x2001, "dsp_firmware": 449,
                                         "arm_firmware": 449, "serial": "SA1"})
    assert model_and_firmware(give) == ("2001 single-phase hybrid Gen1", "D0.449-A0.449")
    pi30 = Identity("voltronic-pi30", {"protocol": "PI30", "serial": "9", "firmware": "00072.70",
                                       "model": "MKS2-5000"})
    assert model_and_firmware(pi30) == ("MKS2-5000", "00072.70")
    assert model_and_firmware(Identity("voltronic-pi30", {"firmware": "00072.70"})) == (
        "unknown", "00072.70")                                 # an older unit: QMN answered NAK
    assert model_and_firmware(Identity("modbus-generic")) == ("unknown", "unknown")
    assert model_and_firmware(None) == ("unknown", "unknown")


def test_a_match_earns_hardware_verified_for_that_model_and_firmware_only():
    m = catalog.resolve(MAP)
    declared = m.point("vac1").trust
    atts = [att(model="A", firmware="1")]
    assert effective_rungs(m, "A", "1", attestations=atts, verified=frozenset())["vac1"] == HARDWARE
    for model, fw in (("A", "2"), ("B", "1")):
        rungs = effective_rungs(m, model, fw, attestations=atts, verified=frozenset())
        assert rungs["vac1"] == declared
    rungs = effective_rungs(m, "A", "1", attestations=atts, verified=frozenset())
    assert rungs["fac"] == declared                            # only the point attested
    assert set(rungs) == {p.name for p in m.points}
    # another map's attestation of the same point name earns nothing here
    other = [Attestation("givenergy-hybrid", "vac1", "A", "S", "1", "1", "1", True, "Ann")]
    assert effective_rungs(m, "A", "1", attestations=other, verified=frozenset())["vac1"] == declared


def test_a_newer_does_not_match_takes_it_away_and_shows():
    m = catalog.resolve(MAP)
    atts = [att(matches=True), att(matches=False)]
    ev = point_evidence(m, "A", "1", attestations=atts, verified=frozenset())["vac1"]
    assert ev.rung == m.point("vac1").trust and ev.differs and ev.label == MISMATCH
    assert "229.0 V" in ev.why and "Ann" in ev.why
    assert not point_verdicts(m, "A", "1", attestations=atts)["vac1"].matches
    # and a match made after the mismatch earns it back
    atts.append(att(matches=True, person="Cy"))
    ev = point_evidence(m, "A", "1", attestations=atts, verified=frozenset())["vac1"]
    assert ev.rung == HARDWARE and ev.label == HARDWARE and "Cy" in ev.why
    # the mismatch shows for its own model and firmware only
    assert point_evidence(m, "A", "2", attestations=atts[:2],
                          verified=frozenset())["vac1"].label == m.point("vac1").trust


def test_simulated_and_unidentified_attestations_never_earn():
    m = catalog.resolve(MAP)
    declared = m.point("vac1").trust
    sim = [att(simulated=True), att(point="fac", matches=False, simulated=True)]
    ev = point_evidence(m, "A", "1", attestations=sim, verified=frozenset())
    assert ev["vac1"].rung == declared and ev["fac"].label == declared
    unknown = [att(model="unknown")]
    assert effective_rungs(m, "unknown", "1", attestations=unknown,
                           verified=frozenset())["vac1"] == declared


def test_verification_raises_to_simulator_verified_from_the_store():
    m = catalog.resolve(MAP)
    record_run(m, {"vac1": "pass", "fac": "fail", "vac2": "no fixture"})
    rungs = effective_rungs(m, "A", "1", attestations=[])
    assert rungs["vac1"] == SIMULATOR
    assert rungs["fac"] == rungs["vac2"] == m.point("fac").trust
    ev = point_evidence(m, "A", "1", attestations=[att()])["vac1"]
    assert ev.rung == HARDWARE and ev.verified          # the attestation goes higher
    assert "maps verify" in point_evidence(m, "A", "1", attestations=[])["vac1"].why


def test_command_map_fields_and_settings_have_rungs():
    m = catalog.resolve("voltronic-pi30")
    a = Attestation(m.id, "battery_float_voltage", "MKS2-5000", "9", "00072.70", "54.0 V",
                    "54.0 V", True, "Ann")
    rungs = effective_rungs(m, "MKS2-5000", "00072.70", attestations=[a], verified=frozenset())
    assert {f.name for f in m.fields} | {s.name for s in m.settings} == set(rungs)
    assert rungs["battery_float_voltage"] == HARDWARE and rungs["mode"] == m.trust


# --- as a person runs it -----------------------------------------------------------------------

async def test_maps_evidence_cli():
    code, out, err = await run_cli("maps", "evidence", MAP)
    assert code == 0, err
    assert "no evidence" in out and "structure-verified" in out
    code, _, err = await run_cli("maps", "evidence", "nope")
    assert code == 1 and "no map with id 'nope'" in one_line_error(code, err)

    m = catalog.resolve(MAP)
    record_run(m, {"vac1": "pass", "fac": "fail", "vac2": "no fixture"})
    store = AttestationStore()
    store.add(att(model="A", firmware="1", person="Ann Lee"))
    store.add(att(point="fac", model="A", firmware="1", matches=False))
    store.add(att(point="vac2", model="B", firmware="9"))
    store.add(att(point="vac3", model="DEMO", firmware="0", simulated=True))
    code, out, err = await run_cli("maps", "evidence", MAP)
    assert code == 0, err
    assert "1 pass / 1 fail / 1 no fixture" in out and "current map text" in out
    assert "Ann Lee" in out and "does not match" in out and "(simulated)" in out
    assert "229.0 V" in out and "SN1" in out
    lines = out.splitlines()
    a1 = lines.index("A, firmware 1")
    assert lines[a1 + 1].strip() == "hardware-verified: vac1"
    assert lines[a1 + 2].strip() == "display differs: fac"
    assert lines[lines.index("B, firmware 9") + 1].strip() == "hardware-verified: vac2"
    assert "DEMO, firmware 0" not in out                      # a simulator earns nothing

    code, out, err = await run_cli("maps", "evidence", MAP, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["map"] == MAP and doc["verification"]["current"] is True
    assert len(doc["attestations"]) == 4 and doc["attestations"][3]["simulated"] is True
    assert doc["devices"][0] == {"model": "A", "firmware": "1", "hardware_verified": ["vac1"],
                                 "display_differs": ["fac"]}


@pytest.fixture
async def sim(growatt_map):
    bank = RegisterBank(growatt_map, unit=1, identity={"serial": "CLI0000009"})
    server = ModbusSimulator([bank])
    port = await server.start_tcp("127.0.0.1", 0)
    server.url = f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=300"
    yield server
    await server.stop()


async def test_read_shows_the_rung_earned_for_this_device(sim):
    model, fw = "0x00102231 type 5100", "DH1.0 control DH1.0"      # the simulator's identity
    store = AttestationStore()
    store.add(att("vac1", model, fw))
    store.add(att("fac", model, fw, matches=False))
    store.add(att("vac2", model, "DH2.0 control DH2.0"))            # other firmware: nothing
    code, out, err = await run_cli("read", sim.url, "--map", MAP, "vac1", "fac", "vac2")
    assert code == 0, err
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in out.splitlines()
             if line.startswith("│")]
    trust = {c[0]: c[-1] for c in cells}
    assert trust == {"vac1": HARDWARE, "fac": MISMATCH, "vac2": "structure-verified"}
    code, out, err = await run_cli("read", sim.url, "--map", MAP, "vac1", "fac", "--json")
    assert code == 0, err
    got = {r["name"]: r for r in json.loads(out)}
    assert got["vac1"]["trust"] == HARDWARE and "display_differs" not in got["vac1"]
    assert got["fac"]["trust"] == "structure-verified" and got["fac"]["display_differs"] is True


async def test_write_confirmation_shows_the_rung_earned_on_this_model(growatt_map):
    """The plan a person confirms carries the rung earned here, as the live screen shows it."""
    from solartui.devices.register_device import RegisterDevice
    from solartui.links.pool import LinkPool
    from solartui.links.target import parse_target
    sim = ModbusSimulator([RegisterBank(growatt_map, unit=1)])
    port = await sim.start_tcp("127.0.0.1", 0)
    pool = LinkPool()
    target = parse_target(f"tcp://127.0.0.1:{port}?unit=1&period=0&timeout=300")
    dev = RegisterDevice(growatt_map, pool.get(target, growatt_map.link), 1)
    try:
        model, firmware = model_and_firmware(await dev.identify())
        assert (await dev.plan_write("active_power_rate", "80")).trust == growatt_map.trust
        AttestationStore().add(att("active_power_rate", model, firmware + " (older)"))
        assert (await dev.plan_write("active_power_rate", "80")).trust == growatt_map.trust
        AttestationStore().add(att("active_power_rate", model, firmware))
        plan = await dev.plan_write("active_power_rate", "80")
        assert plan.trust == HARDWARE
        assert ("trust", HARDWARE) in plan.summary()           # no "not confirmed" warning
    finally:
        await pool.close()
        await sim.stop()

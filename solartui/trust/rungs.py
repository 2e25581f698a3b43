"""The rung each point shows: its declared trust, raised only as far as the evidence goes.

- declared: what the map says (for a PI30 name that is both a field and a setting, the lower);
- simulator-verified: the name passed the latest `maps verify` run of this exact map text;
- hardware-verified: the LATEST attestation for (map, point, model, firmware) made on a real
  device (not the demo or a simulator) says "matches". Other models and firmware earn nothing
  from it, and a newer "does not match" takes it away.

Evidence never lowers the declared rung — but a point whose latest real-hardware attestation
for this model and firmware says "does not match" is known to be wrong here, so what a screen
shows for it (`label`) is the mismatch marker, not a rung: showing only the rung would round up.
Model and firmware are compared as the text `model_and_firmware` makes; a device whose model or
firmware is unknown cannot be bound to an attestation, so none counts for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from solartui.registers.model import rung_index
from solartui.trust.attestations import Attestation, AttestationStore

HARDWARE = "hardware-verified"
SIMULATOR = "simulator-verified"
UNKNOWN = "unknown"
MISMATCH = "✗ display differs"


# --- what a device is -------------------------------------------------------------------------

def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


def model_and_firmware(identity) -> tuple[str, str]:
    """(model, firmware) as text from an Identity, the same for the same device every time:
    Growatt "0x00102231 type 5100" / "DH1.0 control DH1.0"; GivEnergy "2001 single-phase hybrid
    Gen1" / "D0.449-A0.449"; PI30 the QMN model / the QVFW firmware; "unknown" where absent."""
    values = dict(getattr(identity, "values", None) or {})
    if "arm_firmware" in values or "dsp_firmware" in values:      # GivEnergy: HR0, DSP and ARM
        from solartui.givenergy.models import firmware_and_model
        firmware, model = firmware_and_model(values)
        return model or UNKNOWN, firmware or UNKNOWN
    model_keys = ["model"] + sorted(k for k in values if "model" in k and k != "model")
    model = [_text(values.get(k)) for k in model_keys]
    if _text(values.get("device_type")):
        model.append(f"type {_text(values['device_type'])}")
    fw_keys = sorted(k for k in values if ("firmware" in k or k == "fw") and k != "firmware")
    firmware = [_text(values.get("firmware"))]
    for k in fw_keys:
        if _text(values.get(k)):
            firmware.append(f"{k.replace('_firmware', '')} {_text(values[k])}")
    return (" ".join(m for m in model if m) or UNKNOWN,
            " ".join(f for f in firmware if f) or UNKNOWN)


def known(model: str, firmware: str) -> bool:
    """Whether attestations can be bound to this model and firmware at all."""
    return model not in ("", UNKNOWN) and firmware not in ("", UNKNOWN)


# --- what a point has earned -------------------------------------------------------------------

@dataclass(frozen=True)
class Evidence:
    """One point's rung and why: the declared rung, the verification, the deciding attestation."""

    name: str
    declared: str
    rung: str
    verified: bool = False
    attestation: Attestation | None = None   # latest real-hardware one for this model/firmware

    @property
    def differs(self) -> bool:
        return self.attestation is not None and not self.attestation.matches

    @property
    def label(self) -> str:
        """What a trust column shows: the rung, or the mismatch marker."""
        return MISMATCH if self.differs else self.rung

    @property
    def why(self) -> str:
        a = self.attestation
        if a is not None and a.matches and self.rung == HARDWARE:
            return (f"hardware-verified: {a.person} saw {a.display} on the display "
                    f"({a.time[:16].replace('T', ' ')}, {a.model}, fw {a.firmware})")
        if a is not None and not a.matches:
            return (f"{MISMATCH}: {a.person} saw {a.display} on the display when solartui "
                    f"showed {a.shown} ({a.time[:16].replace('T', ' ')}); rung {self.rung}")
        if self.verified and self.rung == SIMULATOR and self.declared != SIMULATOR:
            return "simulator-verified: passed `solartui maps verify` for this map text"
        return f"{self.rung} (declared by the map)"


def declared_rungs(device_map) -> dict[str, str]:
    """name -> declared rung: register points, or PI30 fields and settings (the lower of two
    that share a name: a setting reads back through the field of its name)."""
    if hasattr(device_map, "points"):
        items = [(p.name, p.trust) for p in device_map.points]
    else:
        items = ([(f.name, f.trust) for f in device_map.fields]
                 + [(s.name, s.trust) for s in device_map.settings])
    out: dict[str, str] = {}
    for name, rung in items:
        if name not in out or rung_index(rung) < rung_index(out[name]):
            out[name] = rung
    return out


def latest_real(map_id: str, model: str, firmware: str,
                attestations: list[Attestation]) -> dict[str, Attestation]:
    """point -> the newest attestation made on a real device of exactly this model and firmware
    (the store appends, so later in the list is newer)."""
    if not known(model, firmware):
        return {}
    out: dict[str, Attestation] = {}
    for a in attestations:
        if (a.map_id == map_id and a.model == model and a.firmware == firmware
                and not a.simulated):
            out[a.point] = a
    return out


def point_evidence(device_map, model: str, firmware: str, *,
                   attestations: list[Attestation] | None = None,
                   verified: frozenset[str] | None = None) -> dict[str, Evidence]:
    """name -> Evidence for every point (or field and setting) of the map. Defaults read the
    attestation and verification stores."""
    if attestations is None:
        attestations = AttestationStore().all(device_map.id)
    if verified is None:
        from solartui.trust.verifications import verified_points
        verified = verified_points(device_map)
    latest = latest_real(device_map.id, model, firmware, attestations)
    out = {}
    for name, declared in declared_rungs(device_map).items():
        rung = declared
        is_verified = name in verified
        if is_verified and rung_index(rung) < rung_index(SIMULATOR):
            rung = SIMULATOR
        a = latest.get(name)
        if a is not None and a.matches:
            rung = HARDWARE
        out[name] = Evidence(name, declared, rung, is_verified, a)
    return out


def effective_rungs(device_map, model: str, firmware: str, *,
                    attestations: list[Attestation] | None = None,
                    verified: frozenset[str] | None = None) -> dict[str, str]:
    """name -> the rung earned (always one of the ladder's rungs; see `point_verdicts` for
    the points whose display differs)."""
    return {n: e.rung for n, e in point_evidence(
        device_map, model, firmware, attestations=attestations, verified=verified).items()}


def point_verdicts(device_map, model: str, firmware: str, *,
                   attestations: list[Attestation] | None = None) -> dict[str, Attestation]:
    """point -> its latest real-hardware attestation for this model and firmware (matches or
    not); a point absent here has none."""
    if attestations is None:
        attestations = AttestationStore().all(device_map.id)
    return latest_real(device_map.id, model, firmware, attestations)

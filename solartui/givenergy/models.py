"""What a GivEnergy device type code (HR0) says about the model: family and generation.

From the protocol notes §8.2: the first hex digit is the family; some two-digit prefixes refine
it; for "20" hybrids the ARM firmware's hundreds digit gives the generation.
"""

from __future__ import annotations

FAMILIES = {"2": "single-phase hybrid", "3": "AC-coupled", "4": "three-phase hybrid",
            "5": "EMS", "6": "three-phase AC", "7": "Gateway", "8": "All-in-One"}
REFINED = {"21": "Polar hybrid", "41": "AIO commercial", "51": "EMS commercial",
           "81": "HV Gen3 hybrid", "82": "AIO hybrid", "83": "Gen4 hybrid"}


def model_text(device_type: int, arm_firmware: int | None = None) -> str:
    """e.g. 0x2001 with ARM 449 -> "2001 single-phase hybrid Gen1"."""
    code = f"{device_type:04X}"
    name = REFINED.get(code[:2]) or FAMILIES.get(code[:1], "unknown family")
    if code.startswith("20") and arm_firmware is not None:
        digit = (arm_firmware // 100) % 10
        name += " Gen3" if digit == 3 else " Gen2" if digit in (8, 9) else " Gen1"
    return f"{code} {name}"


def firmware_and_model(values: dict) -> tuple[str | None, str | None]:
    """What a GivEnergy identity (dsp_firmware, arm_firmware, device_type) says as text:
    ("D0.449-A0.449", "2001 single-phase hybrid Gen1"); None where a value is missing."""
    arm = values.get("arm_firmware")
    firmware = f"D0.{values.get('dsp_firmware', '?')}-A0.{arm}" if arm is not None else None
    dtc = values.get("device_type")
    model = model_text(dtc, arm) if isinstance(dtc, int) else None
    return firmware, model

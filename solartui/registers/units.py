"""The fixed unit vocabulary a map may use, and the quantity each unit measures."""

UNITS: dict[str, str] = {
    "V": "voltage", "mV": "voltage",
    "A": "current", "mA": "current",
    "W": "power", "kW": "power",
    "VA": "apparent power", "kVA": "apparent power",
    "var": "reactive power",
    "Hz": "frequency",
    "Wh": "energy", "kWh": "energy",
    "Ah": "charge",
    "%": "ratio",
    "°C": "temperature",
    "s": "time", "ms": "time", "min": "time", "h": "time",
    "Ω": "resistance", "kΩ": "resistance",
    "": "none",
}

# Words in a point's name that promise a quantity (used by the structure check).
NAME_HINTS: list[tuple[tuple[str, ...], str]] = [
    (("voltage", "volt", "vpv", "vac", "vbat"), "voltage"),
    (("current", "curr", "ipv", "iac", "ibat"), "current"),
    (("frequency", "fac", "freq"), "frequency"),
    (("temperature", "temp"), "temperature"),
    (("energy", "eac", "epv"), "energy"),
    (("soc", "soh"), "ratio"),
]


def quantity(unit: str) -> str | None:
    return UNITS.get(unit)

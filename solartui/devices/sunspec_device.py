"""A SunSpec device (placeholder while the SunSpec half lands)."""


def sunspec_candidates(link, unit, journal=None) -> list:
    return []

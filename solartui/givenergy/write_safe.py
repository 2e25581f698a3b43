"""Which holding registers solartui will write on a GivEnergy inverter (protocols/givenergy.md §8.8).

Why a fixed list: the inverter has no exception codes and accepts FC06 writes to registers that
must not be touched in a normal settings session (grid protection, installer settings). The list
is the community library's gate (givenergy-modbus `model/manifest.py`, WRITE_SAFE_SINGLE_PHASE
and WRITE_SAFE_AC_CONFIG); everything else is refused before anything is queued.
"""

from __future__ import annotations

from solartui.errors import ValueRejected

CHARGE_SLOT_PAIRS = tuple((246 + 3 * k, 247 + 3 * k) for k in range(8))      # slots 3..10
DISCHARGE_SLOT_PAIRS = tuple((276 + 3 * k, 277 + 3 * k) for k in range(8))

SINGLE_PHASE = frozenset(
    {20, 27, 29, 31, 32, *range(35, 41), 44, 45, 50, 56, 57, 59, 94, 95, 96,
     110, 111, 112, 114, 116, 163, 166}
    | {r for pair in CHARGE_SLOT_PAIRS + DISCHARGE_SLOT_PAIRS for r in pair})

AC_ADDITIONS = frozenset({311, 313, 314, 317})
AC = SINGLE_PHASE | AC_ADDITIONS

# §8.8: the single-phase set minus the slots and targets that moved to HR1109-1123, plus those
THREE_PHASE = (SINGLE_PHASE - {31, 32, 44, 45, 56, 57, 94, 95, 96, 110, 116}) | frozenset(
    {1078, 1109, 1111, 1112, *range(1113, 1117), *range(1118, 1124)})
# EMS and Gateway: the notes give no write gate of the library's for them (only an encode-time
# list), so nothing is written there until one is established
NONE = frozenset()

MODELS = {"single-phase": SINGLE_PHASE, "hybrid": SINGLE_PHASE, "ac": AC, "aio": AC,
          "three-phase": THREE_PHASE, "none": NONE}


def write_safe_set(model: str = "single-phase") -> frozenset[int]:
    try:
        return MODELS[model]
    except KeyError:
        raise ValueRejected(f"unknown GivEnergy model {model!r} (use one of "
                            f"{', '.join(MODELS)})") from None


def is_write_safe(register: int, model: str = "single-phase") -> bool:
    return register in write_safe_set(model)


def check_write_safe(register: int, count: int = 1, model: str = "single-phase") -> None:
    """Raise ValueRejected naming the first register of the span that is not on the list."""
    allowed = write_safe_set(model)
    for r in range(register, register + max(count, 1)):
        if r not in allowed:
            if not allowed:
                raise ValueRejected(f"HR{r}: solartui writes nothing on this GivEnergy family "
                                    "yet (no write-safe list is established for it)")
            raise ValueRejected(f"HR{r} is not on the GivEnergy write-safe list for {model} "
                                "inverters; solartui does not write it")

"""Request parsing and validation for the grottserver-compatible HTTP API (growatt-shine.md §4).

Why a module of its own: every rule about what a query may contain (which command, which register,
which value in which format) lives here, away from routing and device I/O, and each violation ends
as one ApiError carrying the status and the one-line text the client gets. grottserver's own error
texts are reused where one fits (§4.4); the checks grottserver lacks (§4.8 #4) extend them with a
short reason in parentheses. Nothing here touches the network.
"""

from __future__ import annotations

import string
from urllib.parse import parse_qs, unquote_plus

MAX_REGISTER = 4095
MAX_VALUE = 0xFFFF
MAX_MULTIPLE = 123           # FC16 (0x10 relays it): at most 123 registers
MAX_LOGGER_VALUE = 255            # a 0x18 value is at most 255 bytes (one length byte on the wire)
FORMATS = ("dec", "hex", "text")
TOKEN = "token"

# grottserver's texts (§4.4); note the spellings and the trailing space of UNKNOWN_LOGGER
NO_COMMAND = "no command entered"
BAD_COMMAND = "no valid command entered"
NO_LOGGER = "no datalogger or inverterid specified"
UNKNOWN_LOGGER = "invalid datalogger id "
UNKNOWN_INVERTER_GET = "no or no valid invertid specified"
UNKNOWN_INVERTER_PUT = "no or invalid invertid specified"
BAD_FORMAT = "invalid format specified"
BAD_REGISTER = "invalid reg value specified"
BAD_START = "invalid start register value specified"
BAD_END = "invalid end register value specified"
NO_VALUE = "no value specified"
BAD_VALUE = "invalid value specified"
NO_DATETIME = "datetime command not allowed for inverter"
NO_RESPONSE = "no or invalid response received"
BAD_REQUEST = "Bad request"
# ours, in the same style
NO_MULTI_LOGGER = "multiregister command not allowed for datalogger"


class ApiError(Exception):
    """Ends a request with `status` and the one-line `text` as its body."""

    def __init__(self, status: int, text: str):
        self.status = status
        self.text = one_line(text)
        super().__init__(self.text)


def one_line(text: str) -> str:
    return " ".join(str(text).splitlines())


# --- the query -----------------------------------------------------------------------------------

def parse_query(raw_query: str) -> tuple[dict[str, str], str | None]:
    """grottserver's view of the query (parse_qs, first value of each name, blank values dropped)
    without the token, and the token if one was given."""
    parsed = parse_qs(raw_query, keep_blank_values=False)
    token = parsed.pop(TOKEN, [None])[0]
    return {name: values[0] for name, values in parsed.items()}, token


def loggable_query(raw_query: str) -> str:
    """The raw query for the log, with every token parameter left out."""
    kept = [part for part in raw_query.split("&")
            if part and unquote_plus(part.split("=", 1)[0]) != TOKEN]
    return "&".join(kept)


def command(q: dict[str, str], allowed: tuple[str, ...]) -> str:
    if "command" not in q:
        raise ApiError(400, NO_COMMAND)
    if q["command"] not in allowed:
        raise ApiError(400, BAD_COMMAND)
    return q["command"]


def _number(text: str | None) -> int | None:
    """ASCII digits only: int() would also take "1_0", " 7", "+7" and other scripts' digits."""
    if text is None or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def register(q: dict[str, str], name: str = "register", error: str = BAD_REGISTER) -> int:
    """A register number 0-4095; missing or non-numeric is as invalid as out of range."""
    reg = _number(q.get(name))
    if reg is None or not 0 <= reg <= MAX_REGISTER:
        raise ApiError(400, error)
    return reg


def value_format(q: dict[str, str]) -> str:
    fmt = q.get("format", "dec")
    if fmt not in FORMATS:
        raise ApiError(400, BAD_FORMAT)
    return fmt


def value(q: dict[str, str]) -> str:
    text = q.get("value")
    if not text:
        raise ApiError(400, NO_VALUE)
    return text


# --- values --------------------------------------------------------------------------------------

def inverter_value(text: str, fmt: str) -> int:
    """A holding register value as grottserver reads it: int(V), int(V, 16), or V's UTF-8 bytes as
    one number, here limited to one register (0-65535, at most 2 bytes of text)."""
    if fmt == "text":
        data = text.encode("utf-8")
        if len(data) > 2:
            raise ApiError(400, f"{BAD_VALUE} (format=text takes at most 2 bytes)")
        return int.from_bytes(data, "big")
    # ASCII digits (hex: with an optional 0x) and, in decimal, a sign for the range message;
    # int() alone would take "1_0" as 10, " 7", and other scripts' digits
    digits = text[2:] if fmt == "hex" and text[:2] in ("0x", "0X") else text.removeprefix("-")
    allowed = string.hexdigits if fmt == "hex" else string.digits
    if not digits or any(c not in allowed for c in digits):
        raise ApiError(400, BAD_VALUE)
    number = int(digits, 16) if fmt == "hex" else int(text)
    if not 0 <= number <= MAX_VALUE:
        raise ApiError(400, f"{BAD_VALUE} (0-{MAX_VALUE})")
    return number


def logger_value(text: str) -> bytes:
    """A datalogger register value: its text as ISO-8859-1 bytes, at most 255."""
    try:
        data = text.encode("latin-1")
    except UnicodeEncodeError:
        raise ApiError(400, f"{BAD_VALUE} (ISO-8859-1 text only)") from None
    if len(data) > MAX_LOGGER_VALUE:
        raise ApiError(400, f"{BAD_VALUE} (at most {MAX_LOGGER_VALUE} bytes)")
    return data


def multiregister(q: dict[str, str]) -> tuple[int, list[int]]:
    """startregister A, endregister B and value HEX: A <= B, at most 125 registers, exactly four
    hex digits per register."""
    first = register(q, "startregister", BAD_START)
    last = register(q, "endregister", BAD_END)
    if last < first:
        raise ApiError(400, f"{BAD_END} (end register {last} before start register {first})")
    count = last - first + 1
    if count > MAX_MULTIPLE:
        raise ApiError(400, f"{BAD_END} (at most {MAX_MULTIPLE} registers, not {count})")
    hexes = value(q)
    if any(c not in string.hexdigits for c in hexes):
        raise ApiError(400, f"{BAD_VALUE} (hex digits only)")
    if len(hexes) != 4 * count:
        raise ApiError(400, f"{BAD_VALUE} (registers {first}-{last} take {4 * count} hex digits, "
                            f"not {len(hexes)})")
    return first, [int(hexes[i:i + 4], 16) for i in range(0, len(hexes), 4)]


# --- rendering -----------------------------------------------------------------------------------

def render_word(word: int, fmt: str):
    """A register word as grottserver's GET returns it: int (dec), "0064" (hex), or its two bytes
    decoded as UTF-8 (text; bytes that are not UTF-8 fall back to ISO-8859-1)."""
    if fmt == "dec":
        return word
    if fmt == "hex":
        return f"{word:04x}"
    data = word.to_bytes(2, "big")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def logger_regall(registers: dict[int, bytes]) -> dict:
    return {f"{reg:04x}": {"value": data.decode("latin-1")}
            for reg, data in sorted(registers.items())}


def inverter_regall(holding: dict[int, int]) -> dict:
    return {f"{reg:04x}": {"value": f"{word:04x}"} for reg, word in sorted(holding.items())}

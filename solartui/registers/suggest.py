"""Close matches for a point (or PI30 field / setting) name that is not in a map.

An installer types what the datasheet or their habit says: the document's name (`Vpv1`), words
(`pv1_voltage`, `battery soc`), or a typo (`vac_1`). Each name and each `doc` of the map is turned
into its words, the words into their usual abbreviations (voltage -> v, current -> i/curr, ...),
and the words into every order: `pv1_voltage` and `Vpv1` both become `vpv1`. Same compact form
first, then spelling near the name or the doc. No I/O: every place that says "no point" uses this.
"""

from __future__ import annotations

import difflib
import re
from itertools import permutations, product
from typing import Iterable

# a word as typed -> the spellings documents use for it (each group is one meaning)
_GROUPS = [
    ("voltage", "volt", "volts", "v", "u"),
    ("current", "curr", "cur", "amps", "amp", "i", "a"),
    ("power", "pow", "watts", "watt", "w", "p"),
    ("frequency", "freq", "hz", "f"),
    ("energy", "e", "kwh"),
    ("temperature", "temp", "tmp", "t"),
    ("battery", "batt", "bat", "bms"),
    ("grid", "ac", "mains"),
    ("pv", "solar", "dc"),
    ("soc", "stateofcharge"),
    ("today", "day", "daily"),
    ("total", "lifetime", "all"),
    ("charge", "chg", "charging"),
    ("discharge", "dischg", "dis", "discharging"),
    ("load", "eps", "output", "out"),
    ("import", "toruser", "touser", "buy"),
    ("export", "togrid", "sell"),
    ("serial", "sn", "serialnumber"),
    ("firmware", "fw", "version", "ver"),
]
_ALIASES: dict[str, frozenset[str]] = {}
for _g in _GROUPS:
    for _w in _g:
        _ALIASES[_w] = _ALIASES.get(_w, frozenset()) | frozenset(_g)

# register halves and filler that documents add to a name: "Ppv1 H / L", "Eac today H"
_NOISE = {"h", "l", "of", "the"}
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+\d*|[A-Z]+\d*|\d+")


def words(text: str) -> list[str]:
    """`PV1Curr` -> [pv1, curr]; `pv1_voltage` -> [pv1, voltage]; `Eac today H / L` -> [eac, today]."""
    out = []
    for part in re.split(r"[^A-Za-z0-9]+", text):
        out += [w.lower() for w in _WORD.findall(part)]
    kept = [w for w in out if w not in _NOISE]
    return kept or out


def compact(text: str) -> str:
    """The name with case and separators gone: what spelling is compared on."""
    return "".join(words(text))


def forms(text: str, limit: int = 4) -> set[str]:
    """Every way the words of `text` are commonly run together: each word or its abbreviation,
    in any order (up to `limit` words; longer names keep their order)."""
    ws = words(text)
    if not ws:
        return set()
    choices = [sorted(_ALIASES.get(w, frozenset()) | {w}) for w in ws]
    orders = permutations(range(len(ws))) if len(ws) <= 3 else [range(len(ws))]
    out = set()
    for order in orders:
        for combo in product(*(choices[i] for i in order)):
            out.add("".join(combo))
            if len(out) > 5000:
                return out
    return out if len(ws) <= limit else {"".join(ws)}


def suggest(name: str, items: Iterable[tuple[str, str]], n: int = 3) -> list[str]:
    """Names (first of each (name, doc) pair) that `name` probably meant, best first: the same
    spelling (of the name or the doc), else the same words, else a near spelling."""
    items = [(nm, doc or "") for nm, doc in items]
    want = forms(name)
    typed = compact(name)
    ranked: list[str] = []

    def add(nm: str) -> None:
        if nm not in ranked and nm != name:
            ranked.append(nm)

    for nm, doc in items:           # the same words, any order or abbreviation
        if typed and (typed == compact(nm) or typed == compact(doc)):
            add(nm)
    if not ranked:
        for nm, doc in items:
            if want & (forms(nm) | forms(doc)):
                add(nm)
    if ranked:                      # a match in words beats any near spelling
        return ranked[:n]
    by_spelling: dict[str, str] = {}
    for nm, doc in items:
        by_spelling.setdefault(compact(nm), nm)
        if doc:
            by_spelling.setdefault(compact(doc), nm)
    for close in difflib.get_close_matches(typed, list(by_spelling), n=n * 2, cutoff=0.7):
        add(by_spelling[close])
    return ranked[:n]


def did_you_mean(name: str, items: Iterable[tuple[str, str]]) -> str:
    """` (did you mean a or b?)`, or "" when nothing is close."""
    close = suggest(name, items)
    return f" (did you mean {' or '.join(close)}?)" if close else ""


def no_such(what: str, names: Iterable[str], map_id: str,
            items: Iterable[tuple[str, str]]) -> str:
    """The one-line refusal for names not in a map, each with its close matches."""
    items = list(items)
    names = list(names)
    if len(names) == 1:
        return f"no {what} '{names[0]}' in map {map_id}{did_you_mean(names[0], items)}"
    parts = []
    for nm in names:
        close = suggest(nm, items)
        parts.append(f"'{nm}'" + (f" (did you mean {' or '.join(close)}?)" if close else ""))
    return f"no {what} {', '.join(parts)} in map {map_id}"


def point_items(device_map) -> list[tuple[str, str]]:
    """(name, doc) of every point of a register map."""
    return [(p.name, p.doc) for p in device_map.points]

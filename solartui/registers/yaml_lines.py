"""YAML with line numbers: every mapping remembers its line and each key's line, and duplicate
keys are collected (PyYAML silently keeps the last), so the map loader can say where a problem is.

Only plain data is accepted, the same for every loader (maps, command maps, fixtures, site files):
no tags (`!!int x` and `!!timestamp 2001-13-45` reached int() and date() and crashed; `!foo` means
nothing here), no anchors or aliases (a 1 KB alias bomb expands to gigabytes once anything walks
it), no integer of more than 4,300 digits (Python's int-string limit: it could not even be
printed), and no impossible date. Each is a finding `FILE:LINE: not valid YAML: ...`.

The loaders of maps, fixtures and site files also share the way they say it (`Findings`: every
problem as `FILE:LINE: subject name: message`) and the checks of a YAML value's type.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from solartui.errors import MapError


class _LineDict(dict):
    """A mapping that remembers the line it started on."""

    line = 0


# libyaml's parser is ~20x faster than PyYAML's pure-Python one (0.03 s vs 0.55 s for the Growatt
# map, which is most of the TUI's start-up); both give the same marks and errors
_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_INT_DIGITS = 4300           # sys.int_info.default_max_str_digits
_MAX_INT_BITS = 14_000          # 2**14000 has 4,215 digits: it still prints


class _Loader(_BASE):
    """SafeLoader that records lines and refuses duplicate keys (PyYAML keeps the last)."""

    duplicates: list[tuple[int, str, dict]]   # (line, key, the mapping it is in)

    def construct_mapping(self, node, deep=False):
        if not isinstance(node, yaml.MappingNode):     # e.g. "!!set x": let PyYAML refuse it
            return super().construct_mapping(node, deep=deep)
        seen: set = set()
        dups: list[tuple[int, str]] = []
        key_lines: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                dup = key in seen
                seen.add(key)
                key_lines.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:
                dup = False
            if dup:
                dups.append((key_node.start_mark.line + 1, str(key)))
        mapping = _LineDict(super().construct_mapping(node, deep=deep))
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = key_lines
        self.duplicates.extend((ln, k, mapping) for ln, k in dups)
        return mapping


_Loader.add_constructor("tag:yaml.org,2002:map",
                        lambda loader, node: loader.construct_mapping(node, deep=True))


def _refuse(node, problem: str):
    return yaml.constructor.ConstructorError(None, None, problem, node.start_mark)


def _construct_int(loader, node):
    text = str(node.value)
    body = text.lstrip("+-")
    body = body[2:] if body[:2].lower() in ("0x", "0o", "0b") else body
    digits = sum(ch.isalnum() for ch in body)
    if digits > MAX_INT_DIGITS:
        raise _refuse(node, f"an integer of {digits} digits is too long "
                            f"(at most {MAX_INT_DIGITS})")
    try:
        value = yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)
    except (ValueError, OverflowError):
        raise _refuse(node, f"{text[:40]!r} is not an integer") from None
    if value.bit_length() > _MAX_INT_BITS:
        raise _refuse(node, f"the integer {text[:20]}... is too large")
    return value


def _construct_checked(kind: str, construct):
    def checked(loader, node):
        try:
            return construct(loader, node)
        except (ValueError, OverflowError, TypeError):
            raise _refuse(node, f"{str(node.value)[:40]!r} is not a valid {kind}") from None
    return checked


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_checked(
    "number", yaml.constructor.SafeConstructor.construct_yaml_float))
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_checked(
    "date or time", yaml.constructor.SafeConstructor.construct_yaml_timestamp))


def _no_merge(loader, node):
    # a merge key only makes sense with an alias (`<<: *base`), and aliases are refused
    raise _refuse(node, "merge keys (<<) are not supported: write the keys out")


_Loader.add_constructor("tag:yaml.org,2002:merge", _no_merge)
_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: str(node.value))  # "="


# where a tag (!), anchor (&) or alias (*) can start: at the start, after white space or a flow
# or block indicator. Anything else is part of a scalar (or a comment) and needs no event pass.
MAYBE_NOT_PLAIN = re.compile(r"(?:^|[\s\[\]{},:?\-\ufeff])[&*!]")


def _short_tag(tag: str) -> str:
    return "!!" + tag[len("tag:yaml.org,2002:"):] if tag.startswith("tag:yaml.org,2002:") else tag


def _plain_only(text: str, path: str) -> None:
    """Refuse tags, anchors and aliases, naming the line of the first one. The events come from
    the same (C) parser (~5 ms for the 71 KB Growatt map), so the pass runs only when a '!', '&'
    or '*' stands where YAML would read one: none of the shipped maps has such a place."""
    if not MAYBE_NOT_PLAIN.search(text):
        return
    try:
        scanner = _BASE(text)
    except yaml.YAMLError as exc:
        raise MapError(path, [_yaml_finding(exc, text, path)]) from None
    try:
        while not scanner.check_event(yaml.StreamEndEvent):
            event = scanner.get_event()
            line = event.start_mark.line + 1
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise MapError(path, [f"{path}:{line}: not valid YAML: anchors and aliases "
                                      "(&name, *name) are not supported: write the value out"])
            tag = getattr(event, "tag", None)
            if tag is not None:
                raise MapError(path, [f"{path}:{line}: not valid YAML: tags such as "
                                      f"'{_short_tag(tag)[:40]}' are not supported: write a "
                                      "plain value"])
    except yaml.YAMLError as exc:
        raise MapError(path, [_yaml_finding(exc, text, path)]) from None
    finally:
        scanner.dispose()


def _yaml_finding(exc: yaml.YAMLError, text: str, path: str) -> str:
    mark = getattr(exc, "problem_mark", None)
    position = getattr(exc, "position", None)       # ReaderError: index of a bad character
    if mark is not None:
        line = f":{mark.line + 1}"
    elif isinstance(position, int):
        line = f":{text.count(chr(10), 0, position) + 1}"
    else:
        line = ""
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["?"])[0]
    return f"{path}{line}: not valid YAML: {problem}"


def parse_yaml(text: str, path: str) -> tuple[Any, list[tuple[int, str, dict]]]:
    """The data of one YAML document of plain values (see the module's note), and its duplicate
    keys; MapError (one finding) for anything else."""
    _plain_only(text, path)
    try:
        loader = _Loader(text)      # the reader refuses control characters right here
    except yaml.YAMLError as exc:
        raise MapError(path, [_yaml_finding(exc, text, path)]) from None
    loader.duplicates = []
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise MapError(path, [_yaml_finding(exc, text, path)]) from None
    except RecursionError:
        raise MapError(path, [f"{path}: not valid YAML: nested too deeply"]) from None
    finally:
        loader.dispose()
    return data, loader.duplicates


class Findings:
    """Every problem found in one file, each `FILE:LINE: [subject name: ]message`, collected so
    a loader reports them all at once."""

    def __init__(self, path: str, subject: str = "point"):
        self.path = path
        self.subject = subject          # what the optional name names: point, device...
        self._found: list[tuple[int, str]] = []

    def add(self, line: int, msg: str, name: str | None = None) -> None:
        where = f"{self.subject} {name}: " if name else ""
        self._found.append((line, f"{self.path}:{line}: {where}{msg}"))

    @property
    def items(self) -> list[str]:
        """In the order they were found."""
        return [text for _, text in self._found]

    def in_file_order(self) -> list[str]:
        return [text for _, text in sorted(self._found, key=lambda item: item[0])]


def key_line(obj: Any, key: Any = None, default: int = 1) -> int:
    """The line of `key` in a mapping parse_yaml made, else the mapping's own line."""
    if key is not None:
        ln = getattr(obj, "key_lines", {}).get(key)
        if ln:
            return ln
    return getattr(obj, "line", 0) or default


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_num(v: Any) -> bool:
    """A finite int or float (YAML's true/false are not numbers)."""
    try:
        return (is_int(v) or isinstance(v, float)) and math.isfinite(v)
    except OverflowError:       # an integer too large for any float
        return False


def unknown_keys(obj: dict, allowed: set, f: Findings, what: str, point: str | None = None):
    """A finding for each key of `obj` not in `allowed`, at the key's own line."""
    for key in obj:
        if key not in allowed:
            line = getattr(obj, "key_lines", {}).get(key, getattr(obj, "line", 0))
            f.add(line, f"unknown key '{key}' in {what}", point)

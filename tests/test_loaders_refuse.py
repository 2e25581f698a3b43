"""Every loader refuses, never crashes: map files, PI30 command maps, fixtures, site files and
settings, fed YAML tags, anchors and aliases (a 1 KB alias bomb), integers past 4,300 digits,
impossible dates, unusable paths and wrong types. Each is the loader's own error, one line
`FILE:LINE: ...`; from the CLI one `solartui: ...` line and exit 1, never "internal error"."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solartui.errors import MapError, SolartuiError
from solartui.registers import catalog
from solartui.registers.command_map import CommandMap, parse_command_map
from solartui.registers.loader import parse_map
from solartui.registers.model import DeviceMap
from solartui.settings import Settings, load_settings
from solartui.site.site_file import Site, SiteError, load_site, parse_site
from solartui.trust.fixture import FixtureError, RegisterFixture, parse_fixture
from solartui.user_paths import PathRefused, read_text, user_path

from procs import one_line_error, run_cli

MAP = """schema: 1
device: {id: tiny, vendor: Test, name: Tiny}
protocol: modbus
link: {unit: 1}
points:
  - {name: vpv1, doc: Vpv1, table: input, address: 3, type: u16, scale: 0.1, unit: V}
  - {name: rate, doc: Rate, table: holding, address: 3, type: u16, unit: "%", access: rw, range: [0, 100]}
"""
CMD = """schema: 1
device: {id: tiny-pi30, vendor: Test, name: Tiny PI30, trust: generated}
protocol: pi30
link: {baudrates: [2400], timeout_ms: 3000}
commands:
  - command: QPIGS
    role: live
    fields:
      - {name: grid_voltage, index: 0, type: float, unit: V, group: Grid, doc: grid voltage}
      - {name: load, index: 1, type: int, unit: "%", group: AC, doc: load}
  - command: QT
    role: clock
    fields:
      - {name: device_time, index: 0, type: datetime, format: "%Y%m%d%H%M%S", group: Clock, doc: time}
clock: {field: device_time, set: ["DAT%y%m%d%H%M%S"]}
"""
FIXTURE = """schema: 1
map: growatt-protocol-ii
source: "by hand"
points:
  vpv1: {table: input, address: 3, words: [0x0929], expect: 234.5}
"""
SITE = """schema: 1
site: test-site
period: 60
devices:
  - name: garage
    target: tcp://127.0.0.1:5020
    map: growatt-protocol-ii
    unit: 1
    points: [ppv, pac]
    csv: logs/garage.csv
  - name: offgrid
    target: pi30:///tmp/solartui-pi30?baud=2400
    map: voltronic-pi30
    points: [battery_voltage]
"""


def _site(text, path="site.yaml"):
    return parse_site(text, Path("/nonexistent-dir") / path)


# (base text, parse, its error type, its result type, a line to mutate)
LOADERS = {
    "map": (MAP, lambda t: parse_map(t, "m.yaml"), MapError, DeviceMap, "schema: 1"),
    "command map": (CMD, lambda t: parse_command_map(t, "c.yaml"), MapError, CommandMap,
                    "schema: 1"),
    "fixture": (FIXTURE, lambda t: parse_fixture(t, "f.yaml"), FixtureError, RegisterFixture,
                "schema: 1"),
    "site": (SITE, _site, SiteError, Site, "period: 60"),
}
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9))
HOSTILE = {
    "int tag": ("schema: 1", "schema: !!int x", "tags such as '!!int'"),
    "bad timestamp tag": ("schema: 1", "schema: !!timestamp 2001-13-45", "'!!timestamp'"),
    "local tag": ("schema: 1", "schema: !thing 1", "'!thing'"),
    "python tag": ("schema: 1", "schema: !!python/object/apply:os.system [ls]", "tags such"),
    "huge int": ("schema: 1", "schema: " + "9" * 4301, "4301 digits is too long"),
    "huge hex": ("schema: 1", "schema: 0x" + "f" * 4400, "too long"),
    "huge base 60": ("schema: 1", "schema: 1" + ":59" * 3000, "too long"),
    "impossible date": ("schema: 1", "schema: 2001-13-45", "not a valid date"),
    "anchor": ("schema: 1", "schema: &one 1", "anchors and aliases"),
    "alias bomb": (None, BOMB, "anchors and aliases"),
}


@pytest.mark.parametrize("loader", LOADERS)
def test_the_base_documents_load(loader):
    base, parse, _, kind, _ = LOADERS[loader]
    assert isinstance(parse(base), kind)


@pytest.mark.parametrize("case", HOSTILE)
@pytest.mark.parametrize("loader", LOADERS)
def test_hostile_yaml_is_one_finding(loader, case):
    base, parse, error, _, line = LOADERS[loader]
    old, new, words = HOSTILE[case]
    text = new if old is None else base.replace(line if old == "schema: 1" else old,
                                                new.replace("schema:", line.split(":")[0] + ":"))
    started = time.monotonic()
    with pytest.raises(error) as info:
        parse(text)
    assert time.monotonic() - started < 5               # refused, not expanded
    first = info.value.findings[0]
    assert words in first and "\n" not in first and len(first) < 200, first
    assert ": not valid YAML: " in first


def test_an_alias_is_refused_on_its_own_line():
    with pytest.raises(MapError) as info:
        parse_map(MAP.replace("link: {unit: 1}", "link: {unit: 1}\nblocks: *nothing"), "m.yaml")
    assert info.value.findings == ["m.yaml:5: not valid YAML: anchors and aliases (&name, "
                                   "*name) are not supported: write the value out"]


def test_a_merge_key_is_refused_in_words():
    text = MAP.replace("link: {unit: 1}", "link: {<<: {unit: 1}, timeout_ms: 500}")
    with pytest.raises(MapError, match="m.yaml:4: not valid YAML: merge keys"):
        parse_map(text, "m.yaml")


# --- paths -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, words", [
    ("~nosuchuser-solartui/x.csv", "there is no user 'nosuchuser-solartui'"),
    ("/tmp/a\0b.csv", "NUL byte"),
    ("logs/" + "c" * 256 + ".csv", "longer than 255"),
    ("/" + "d/" * 2100, "longer than 4095"),
])
def test_user_path_refuses(text, words):
    with pytest.raises(PathRefused, match=words):
        user_path(text)


def test_read_text_refuses_what_is_not_a_small_file(tmp_path):
    for p, words in ((Path("/dev/zero"), "not a regular file"), (tmp_path, "folder"),
                     (tmp_path / "none.yaml", "No such file")):
        with pytest.raises(PathRefused, match=words):
            read_text(p)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * 2000)
    with pytest.raises(PathRefused, match="more than the 1000 bytes"):
        read_text(big, limit=1000)


@pytest.mark.parametrize("key, value, words", [
    ("csv", "~nosuchuser-solartui/g.csv", "csv: there is no user"),
    ("csv", '"/tmp/a\\0b.csv"', "csv: a path cannot contain a NUL byte"),
    ("csv", "c" * 256 + ".csv", "csv: a file or folder name of 260 bytes"),
    ("map", "~nosuchuser-solartui/m.yaml", "map: there is no user"),
    ("map", '"/tmp/m\\0.yaml"', "map: a path cannot contain a NUL byte"),
    ("map", "m" * 256, "no map with id 'mmmmmmmm"),
    ("map", "m" * 256 + ".yaml", "map: a file or folder name of 261 bytes"),
    ("map", "/dev/zero", "not a regular file"),
])
def test_bad_paths_in_a_site_file(key, value, words):
    old = "csv: logs/garage.csv" if key == "csv" else "map: growatt-protocol-ii"
    with pytest.raises(SiteError) as info:
        _site(SITE.replace(old, f"{key}: {value}"))
    assert len(info.value.findings) == 1 and words in info.value.findings[0], info.value.findings
    assert info.value.findings[0].startswith("/nonexistent-dir/site.yaml:")


def test_a_nul_in_a_target():
    with pytest.raises(SiteError, match="target: a URL cannot contain a NUL byte"):
        _site(SITE.replace("pi30:///tmp/solartui-pi30?baud=2400", '"pi30:///tmp/x\\0"'))


def test_bad_error_log_path():
    with pytest.raises(SiteError, match="error_log: a path cannot contain a NUL byte"):
        _site(SITE.replace("period: 60", 'period: 60\nerror_log: "e\\0.log"'))


@pytest.mark.parametrize("name", ["x" * 256, "x" * 256 + ".yaml", "~nosuchuser-solartui/m.yaml",
                                  "a\0b", "/dev/zero"])
def test_map_names_refused_by_the_catalog(name):
    with pytest.raises(SolartuiError) as info:
        catalog.resolve(name)
    assert "\n" not in str(info.value) and len(str(info.value)) < 400


def test_load_site_refuses_a_site_path():
    with pytest.raises(SiteError, match="there is no user"):
        load_site("~nosuchuser-solartui/site.yaml")


# --- wrong types in a PI30 command map -------------------------------------------------------

@pytest.mark.parametrize("old, new, words", [
    ("clock: {field: device_time,", "clock: {field: {a: 1},", "clock: field must name"),
    ("clock: {field: device_time,", "clock: {field: [1],", "clock: field must name"),
    ("index: 1, type: int", "index: [1], type: int", "index"),
    ("type: int", "type: {a: 1}", "type"),
    ("commands:\n", "commands: 5\nx:\n", ""),
])
def test_wrong_types_in_a_command_map(old, new, words):
    with pytest.raises(MapError) as info:
        parse_command_map(CMD.replace(old, new), "c.yaml")
    assert any(words in f for f in info.value.findings), info.value.findings


# --- settings ------------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [
    "theme = " + "9" * 5000 + "\n", "recent = " + "[" * 5000 + "\n", "person = \"\\ud800\"\n",
    "\x00\x01\x02", "[report_sites.\"x\"]\ncustomer = " + "1" * 5000 + "\n",
])
def test_damaged_settings_give_defaults(tmp_path, body):
    p = tmp_path / "settings.toml"
    p.write_text(body, encoding="utf-8", errors="surrogatepass")
    assert isinstance(load_settings(p), Settings)


def test_settings_that_are_not_a_file_give_defaults(tmp_path):
    assert load_settings(Path("/dev/zero")) == Settings()
    assert load_settings(tmp_path) == Settings()


# --- property tests: random and mutated YAML to each loader ----------------------------------

TOKENS = ["!!int ", "!!timestamp ", "!!str ", "!x ", "! ", "&a ", "*a ", "<<: ", "9" * 4301,
          "0x" + "f" * 4000, "2001-13-45", "1:59:59", "~", "null", "yes", "1e999", ".nan", "[",
          "]", "{", "}", ", ", ": ", "- ", "\n", "  ", "'", '"', "#", "---\n", "? ", "|\n  ",
          "\\0", "~nosuchuser/", "a" * 256, "/dev/zero", "%TAG ! tag:x,2000:\n"]
MUTANT = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


def _only_own_error(loader: str, text: str) -> None:
    _, parse, error, kind, _ = LOADERS[loader]
    try:
        result = parse(text)
    except error as exc:
        assert exc.findings and all(isinstance(f, str) for f in exc.findings)
        return
    assert isinstance(result, kind)


@pytest.mark.parametrize("loader", LOADERS)
@MUTANT
@given(data=st.data())
def test_mutated_documents_give_a_value_or_the_loaders_error(loader, data):
    """Insert hostile tokens at random places of a valid document, or replace its lines."""
    lines = LOADERS[loader][0].splitlines(keepends=True)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(lines) - 1))
        at = data.draw(st.integers(0, len(lines[i])))
        piece = "".join(data.draw(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=4)))
        lines[i] = lines[i][:at] + piece + lines[i][at:]
    _only_own_error(loader, "".join(lines))


@pytest.mark.parametrize("loader", LOADERS)
@MUTANT
@given(text=st.text(max_size=200))
def test_random_text_gives_a_value_or_the_loaders_error(loader, text):
    _only_own_error(loader, text)


@MUTANT
@given(st.lists(st.sampled_from(["theme = ", "recent = ", "person = ", "[report_sites.\"a\"]\n",
                                 "[report_device_sites]\n", "\"s\" = ", "customer = ", "[", "]",
                                 "\"", "9" * 4400, "\n", "\\u", "{", "1e999", ","]),
                max_size=20))
def test_mutated_settings_give_settings(tmp_path_factory, pieces):
    p = tmp_path_factory.mktemp("settings") / "settings.toml"
    p.write_text("".join(pieces), encoding="utf-8")
    assert isinstance(load_settings(p), Settings)


# --- the CLI: one line, exit 1 -------------------------------------------------------------------

async def test_cli_refusals_are_one_line(tmp_path):
    bad_site = tmp_path / "site.yaml"
    bad_site.write_text(SITE.replace("csv: logs/garage.csv", "csv: ~nosuchuser-solartui/g.csv"))
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(BOMB)
    tagged = tmp_path / "tagged.yaml"
    tagged.write_text(MAP.replace("schema: 1", "schema: !!int x"))
    for args, words in (
            (("log", str(bad_site), "--check"), "there is no user"),
            (("log", str(bomb), "--check"), "anchors and aliases"),
            (("read", "tcp://127.0.0.1:9?unit=1", "--map", str(tagged)), "tags such as '!!int'"),
            (("read", "tcp://127.0.0.1:9?unit=1", "--map", "x" * 256), "no map with id")):
        code, out, err = await run_cli(*args)
        line = one_line_error(code, err)
        assert code == 1 and words in line and "internal error" not in line, (args, err)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(["!", "&", "*", "a", " ", "\n", "\t", ":", "- ", "[", "]", "{",
                                 "}", ",", "?", "'", '"', "#", "x!", "!!int ", "&a ", "*a",
                                 "\ufeff", "%TAG ! tag:x,2000:\n---\n", "|\n  "]), max_size=16))
def test_the_quick_filter_never_misses_a_tag_anchor_or_alias(pieces):
    """parse_yaml skips its event pass when MAYBE_NOT_PLAIN finds nothing: then the parser
    must indeed see no tag, anchor or alias."""
    import yaml

    from solartui.registers.yaml_lines import MAYBE_NOT_PLAIN
    text = "".join(pieces)
    if MAYBE_NOT_PLAIN.search(text):
        return
    try:
        events = list(yaml.parse(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    except yaml.YAMLError:
        return
    assert not any(isinstance(e, yaml.AliasEvent) or getattr(e, "anchor", None)
                   or getattr(e, "tag", None) for e in events), text


# --- the other files a person names --------------------------------------------------------------

def test_report_notes_output_and_captures_refuse_bad_paths(tmp_path):
    from solartui.givenergy.capture import parse_capture
    from solartui.givenergy.errors import GivCaptureError
    from solartui.report.files import output_paths
    from solartui.report.handover import read_notes
    for bad in ("@~nosuchuser-solartui/notes.txt", "@/dev/zero", "@" + "n" * 300):
        with pytest.raises(SolartuiError, match="--notes @"):
            read_notes(bad)
    with pytest.raises(SolartuiError, match="there is no user"):
        output_paths("~nosuchuser-solartui/report.html")
    for bad in ("/dev/zero", tmp_path):
        with pytest.raises(GivCaptureError, match="cannot read capture"):
            parse_capture(bad)


def test_a_damaged_log_state_starts_afresh(tmp_path, isolated_home):
    from solartui.site.log_state import LogState
    state = LogState("deep", tmp_path / "site.yaml")
    state.path.parent.mkdir(parents=True, exist_ok=True)
    for body in ("[" * 100000, '{"devices": {"a": {"last": ' + "9" * 5000 + "}}}"):
        state.path.write_text(body)
        state.load()
        assert state.last == {}

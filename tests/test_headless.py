"""The core must run without Textual: importing any core module must not load it."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ["registers", "links", "devices", "discovery", "shine", "sim", "pi30", "givenergy",
        "trust", "site", "checks", "dump", "mqtt"]


def core_modules() -> list[str]:
    mods = ["solartui.journal", "solartui.errors", "solartui.paths", "solartui.cli.main"]
    for pkg in CORE:
        folder = ROOT / "solartui" / pkg
        if not folder.is_dir():
            continue
        for f in sorted(folder.rglob("*.py")):
            rel = f.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods.append(".".join(parts))
    return mods


def test_core_modules_found():
    assert len(core_modules()) > 15


@pytest.mark.parametrize("chunk", [0, 1])
def test_core_imports_without_textual(chunk):
    mods = core_modules()[chunk::2]
    code = ("import sys\n"
            f"for m in {mods!r}:\n"
            "    __import__(m)\n"
            "    assert 'textual' not in sys.modules, m\n"
            "print('ok', len(sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok")


def test_no_core_file_imports_textual():
    offenders = []
    for f in (ROOT / "solartui").rglob("*.py"):
        if "tui" in f.relative_to(ROOT / "solartui").parts:
            continue
        for line in f.read_text().splitlines():
            s = line.strip()
            if s.startswith(("import textual", "from textual")):
                offenders.append(str(f))
    assert offenders == []

"""Shared fixtures: every test gets its own SOLARTUI_HOME (journal, settings) and no network
beyond 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GROWATT_MAP = ROOT / "maps" / "growatt_protocol_ii.yaml"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path, monkeypatch):
    home = tmp_path / "solartui-home"
    monkeypatch.setenv("SOLARTUI_HOME", str(home))
    monkeypatch.delenv("SOLARTUI_JOURNAL", raising=False)
    return home


@pytest.fixture(scope="session")
def growatt_map():
    from solartui.registers.loader import load_map
    return load_map(GROWATT_MAP)

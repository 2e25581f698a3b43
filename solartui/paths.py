"""Where solartui keeps its files: platformdirs folders, or all under $SOLARTUI_HOME (tests, demos)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def _home() -> Path | None:
    h = os.environ.get("SOLARTUI_HOME")
    return Path(h) if h else None


def config_dir() -> Path:
    h = _home()
    return h / "config" if h else Path(platformdirs.user_config_dir("solartui"))


def state_dir() -> Path:
    h = _home()
    return h / "state" if h else Path(platformdirs.user_state_dir("solartui"))

"""Shared fixtures: every test gets its own SOLARTUI_HOME (journal, settings) and no network
beyond 127.0.0.1. How many parallel workers `-n auto` starts, and hypothesis's defaults."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# A property test proves its property, not this machine's speed: no per-example deadline and no
# too-slow health check, which on a loaded machine (parallel workers, other agents) fail at random.
settings.register_profile("solartui", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("solartui")

ROOT = Path(__file__).resolve().parent.parent
GROWATT_MAP = ROOT / "maps" / "growatt_protocol_ii.yaml"


def pytest_xdist_auto_num_workers(config):
    """`-n auto` (the default in pyproject): one worker a core and one more, as most tests wait
    on loopback peers and pacing; the TUI tests are CPU-heavy, and more workers than that on 2
    cores only stretch their waits. SOLARTUI_TEST_WORKERS overrides."""
    wanted = os.environ.get("SOLARTUI_TEST_WORKERS")
    if wanted:
        return int(wanted)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(8, (cores or 1) + 1)


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


def pytest_report_header(config):
    """Say which MQTT broker the MQTT tests run against (mosquitto, or amqtt from PyPI)."""
    from mqtt_broker import header_line
    return header_line()


@pytest.fixture
def mqtt_broker(tmp_path):
    """A real MQTT broker of this test's own on a free loopback port (tests/mqtt_broker.py):
    .host, .port, .url, .kind, .stop() and .start() (the same port again)."""
    from mqtt_broker import Broker, broker_kind
    if broker_kind() == "none":
        pytest.skip("no MQTT broker (mosquitto) and no amqtt installed")
    broker = Broker(tmp_path / "broker").start()
    try:
        yield broker
    finally:
        broker.stop()

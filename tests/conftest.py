"""Shared paths for the test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
TEST_TEMPLATES = DATA / "templates"


@pytest.fixture
def minimal_path() -> Path:
    return DATA / "good" / "minimal.json"


@pytest.fixture
def test_templates(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put the suite's fixed templates on the search path."""
    monkeypatch.setenv("DELIBERATION_TEMPLATES", str(TEST_TEMPLATES))
    return TEST_TEMPLATES

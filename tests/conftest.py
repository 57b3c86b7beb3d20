"""Shared paths for the test suite."""

from __future__ import annotations

import hashlib
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


# The shipped files a test must never change in place (copy them to tmp_path first).
SHIPPED = [ROOT / "workbooks" / "example" / "review.json",
           ROOT / "workbooks" / "release_review.ipynb"]
_BEFORE: dict[Path, str] = {}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pytest_sessionstart(session: pytest.Session) -> None:
    _BEFORE.update({path: _digest(path) for path in SHIPPED})


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    changed = [str(path.relative_to(ROOT)) for path, digest in _BEFORE.items()
               if _digest(path) != digest]
    strays = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "workbooks").rglob("*.sqlite*"))
    if changed or strays:
        print(f"\nthe test run changed shipped files: {changed + strays}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

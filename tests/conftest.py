"""Shared paths for the test suite."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import settings

from deliberation.review.template import Template
from deliberation.review.templates import load_template_file

# Property tests: `make test` (and CI) try the same examples on every run ("gate":
# derandomized, no example database), so a run's outcome is the code's, not the draw's;
# HYPOTHESIS_PROFILE=explore draws fresh examples to find new counterexamples (each one
# found is then kept as an @example of its test).
settings.register_profile("gate", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "gate"))

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
TEST_TEMPLATES = DATA / "templates"
# the engine tests' template: no policy gates beyond the defaults, fixed thresholds
MINIMAL_TEMPLATE = TEST_TEMPLATES / "test-minimal.yaml"


@pytest.fixture(scope="session")
def template() -> Template:
    """tests/data/templates/test-minimal.yaml, loaded once (a module may override it)."""
    return load_template_file(MINIMAL_TEMPLATE)


@pytest.fixture(scope="session")
def gated_template(template: Template) -> Template:
    """The minimal template with a 5% extremely-bad gate and positive expected value."""
    data = template.model_dump(mode="json")
    data["policy"] = [*data["policy"],
                      {"id": "tail", "rule": "max-p-extreme-bad", "value": 0.05},
                      {"id": "positive", "rule": "positive-expected-value"}]
    return Template.model_validate(data)


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

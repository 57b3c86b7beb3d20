"""The public front: ``import deliberation as dl`` offers exactly what __all__ says."""

from __future__ import annotations

import subprocess
import sys

import deliberation as dl


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert dl.__all__ == sorted(dl.__all__)
    for name in dl.__all__:
        assert getattr(dl, name) is not None


def test_import_is_lazy() -> None:
    """Importing the package loads none of the heavy libraries."""
    code = (
        "import sys, deliberation\n"
        "heavy = [m for m in ('altair', 'ipywidgets', 'nbconvert', 'pandas', 'pydantic') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def test_all_names_every_lazy_name() -> None:
    from deliberation import _LAZY

    assert set(_LAZY) <= set(dl.__all__)

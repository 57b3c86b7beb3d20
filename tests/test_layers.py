"""The folder tree is the map: each package imports only from the packages above it.

base (errors, atomic, resources, numbers, text, files) < review < engine < readout <
record < journal < workbook < meeting < cli. Lazy imports inside functions count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "deliberation"
LAYERS = ["base", "review", "engine", "readout", "record", "journal", "workbook", "meeting",
          "front"]
BASE = {"errors", "atomic", "resources", "numbers", "text", "files"}
FRONT = {"cli", "console", "__init__", "__main__"}
MAX_LINES = 500


def _layer(parts: tuple[str, ...]) -> str:
    head = parts[0] if parts else "__init__"
    if head in BASE:
        return "base"
    if head in FRONT:
        return "front"
    return head


def _modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _imported(path: Path) -> list[tuple[int, tuple[str, ...]]]:
    """The deliberation modules ``path`` imports, as parts below the package."""
    own = path.relative_to(SRC).with_suffix("").parts
    package = own[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = (*base, *(node.module.split(".") if node.module else ()))
            elif node.module and node.module.split(".")[0] == "deliberation":
                target = tuple(node.module.split(".")[1:])
            else:
                continue
            found.append((node.lineno, target))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "deliberation":
                    found.append((node.lineno, tuple(alias.name.split(".")[1:])))
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_imports_point_down_the_layers(path: Path) -> None:
    own = path.relative_to(SRC).with_suffix("").parts
    mine = LAYERS.index(_layer(own))
    upward = [
        f"line {line}: {'.'.join(target)}"
        for line, target in _imported(path)
        if target and LAYERS.index(_layer(target)) > mine
    ]
    assert upward == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_no_module_over_500_lines(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES


def test_every_package_is_a_known_layer() -> None:
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(LAYERS)

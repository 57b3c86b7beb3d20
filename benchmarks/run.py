"""Run every ``benchmarks/bench_*.py`` module's ``main()`` and check the project budgets.

Each ``main()`` prints what it measures and returns a list of :class:`Budget` results
(see ``_common.py``). This script prints them together and exits 1 when a budget is
missed, so ``make bench`` can gate a release on performance too.

    .venv/bin/python benchmarks/run.py            # everything
    .venv/bin/python benchmarks/run.py memory import   # only bench_*memory*, bench_*import*
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import Budget  # noqa: E402


def main(argv: list[str]) -> int:
    patterns = argv or [""]
    results: list[Budget] = []
    for path in sorted(HERE.glob("bench_*.py")):
        if not any(pattern in path.stem for pattern in patterns):
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"\n== {path.name}", flush=True)
        started = time.perf_counter()
        returned = module.main()
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
        results += [r for r in returned or [] if isinstance(r, Budget)]
    print("\n== budgets (docs/design.md)")
    for result in results:
        print(result.line())
    missed = [r for r in results if not r.ok]
    print(f"{len(results) - len(missed)} of {len(results)} budgets met")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

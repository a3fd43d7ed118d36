"""Every stored SVG snapshot belongs to a test that still exists.

syrupy fails a whole-suite run on a snapshot no test uses any more, but not under pytest-xdist
(its workers each run part of the suite, and it does not merge their reports): the suite runs on
two workers (pyproject.toml), so the check is made here, from the files themselves. A snapshot
``tests/**/__snapshots__/<module>/<test>[<params>].svg`` belongs to the function ``<test>`` of
``<module>.py`` next to that ``__snapshots__`` folder.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _test_functions(module: Path) -> set[str]:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")}


def test_every_snapshot_has_its_test() -> None:
    snapshots = sorted(TESTS.rglob("__snapshots__/*/*.svg"))
    assert snapshots, "no snapshot found: the layout this test reads has changed"
    orphans = []
    for svg in snapshots:
        module = svg.parent.parent.parent / f"{svg.parent.name}.py"
        test = svg.stem.split("[", 1)[0]
        if not module.is_file() or test not in _test_functions(module):
            orphans.append(str(svg.relative_to(TESTS)))
    assert orphans == [], "snapshots that no test uses (delete them or restore their test)"

"""The layers as checked contracts: pyproject.toml's ``[tool.importlinter]`` contracts, run by
import-linter exactly as ``lint-imports`` runs them, must all be kept.

- the API client, the bulk engine, the sandbox and the session core never import Textual or
  ``console.ui`` (directly, inside a function, or through another module);
- the UI never imports the sandbox;
- the API client imports neither the bulk engine nor the sandbox.

A second test breaks each rule in a copy of the package and checks that the contracts catch it,
so the contracts cannot silently stop matching the code.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_RUN = (
    "import sys\n"
    "from importlinter.cli import lint_imports\n"
    "sys.exit(lint_imports(config_filename='pyproject.toml', no_cache=True, no_logo=True))\n"
)


def run_contracts(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the ``console`` package found at ``root``, in a fresh interpreter (so
    that ``console`` is the one at ``root``, not the one this test process imported)."""
    env = {**os.environ, "PYTHONPATH": str(root), "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-c", _RUN], cwd=root, env=env, capture_output=True,
                          text=True, timeout=300)


def contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def test_the_layer_contracts_are_kept():
    result = run_contracts(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(contracts())} kept, 0 broken." in result.stdout


def test_the_session_core_is_named_in_full_once_it_exists():
    """import-linter refuses a contract naming a module that does not exist, so until the session
    core exists the contract names only its submodules (``console.session.**``); once it does, the
    package itself must be named, or its ``__init__`` would be left unchecked."""
    [core] = [c for c in contracts() if c["id"] == "core-without-textual"]
    if importlib.util.find_spec("console.session") is not None:
        assert "console.session" in core["source_modules"]
    else:
        assert "console.session.**" in core["source_modules"]


def test_each_contract_catches_a_violation(tmp_path):
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "console", tmp_path / "console",
                    ignore=shutil.ignore_patterns("__pycache__"))

    def add_import(module: str, statement: str) -> None:
        path = tmp_path / (module.replace(".", "/") + ".py")
        # Inside a function, the way a lazy import would sneak in.
        path.write_text(path.read_text() + f"\n\ndef _violation():\n    {statement}\n")

    add_import("console.bulk.engine", "import textual.widgets")
    add_import("console.sandbox.core", "from console.ui import detail")
    add_import("console.ui.detail", "import console.sandbox.fleet")
    add_import("console.api.errors", "from console.bulk import engine")
    result = run_contracts(tmp_path)
    out = result.stdout
    assert result.returncode != 0, out
    assert f"Contracts: 0 kept, {len(contracts())} broken." in out, out
    # External packages are reported by their top-level name.
    for line in ("console.bulk.engine -> textual (", "console.sandbox.core -> console.ui.detail",
                 "console.ui.detail -> console.sandbox.fleet", "console.api.errors -> console.bulk.engine"):
        assert line in out, out

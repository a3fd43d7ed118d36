"""Start-up stays lean (issue 6): what ``dispatch-console --sandbox`` does not load before its
first rows are on screen. Each module listed here cost start-up time before it was made lazy;
this checks where they are loaded, never how long anything takes.

Run in a fresh interpreter (a test process has imported everything already)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_PROBE = r"""
import asyncio, json, sys
from textual.app import App

captured = []
App.run = lambda self, *args, **kwargs: captured.append(self)  # build the app, do not run it

from console.cli import main

assert main(sys.argv[1:]) == 0
seen = {"after_main": sorted(sys.modules)}
app = captured[0]

async def first_rows():
    async with app.run_test(size=(120, 40)) as pilot:
        while not app.order_list.table.total:
            await pilot.pause(0.01)
        seen["rows_painted"] = sorted(sys.modules)  # before the detail pane's first fetch
        await pilot.pause()
        seen["after_rows"] = sorted(sys.modules)

asyncio.run(first_rows())
print(json.dumps(seen))
"""

#: Never needed to show the list: the httpx CLI and what it imports, the served sandbox's web
#: stack and its command line, the screens (opened by a key), the command palette's provider,
#: the bulk engine, the headless commands (their parsers are built only when named).
NOT_ON_THE_START_PATH = (
    "httpx._main", "click", "pygments", "starlette", "uvicorn", "anyio",
    "console.sandbox.asgi", "console.sandbox.server", "console.ui.commands", "console.ui.keymap",
    "console.bulk.engine", "console.bulk.headless",
)
#: Not before the app runs: the bulk views and journal (SQLite), the TOML parser without a
#: config file. The journal is read once the screen has been drawn (the start-up settlement).
NOT_BEFORE_THE_APP_RUNS = (
    "console.ui.bulk_view", "console.bulk.journal", "console.bulk.results", "sqlite3", "tomllib",
)
#: Not before the first rows: the list's rows come through console.api.summaries (pydantic-core
#: only); the full models and pydantic load with the first order the detail pane fetches, and
#: the start-up check of the bulk journal (which runs beside the first page) needs neither. The
#: route geometry (console.geo) loads with the first order the pane shows.
NOT_BEFORE_THE_FIRST_ROWS = ("console.api.models", "pydantic", "console.geo")
#: Never in the console's process (except on Windows): the embedded sandbox's simulation runs
#: in a process of its own (console/sandbox/process.py).
IN_THE_SANDBOX_PROCESS = ("console.sandbox.core", "console.sandbox.app", "console.sandbox.fleet",
                          "console.sandbox.order")


def _python(probe: str, *argv: str, home: Path | None = None, **env: str) -> str:
    """Run ``probe`` in a fresh interpreter (no credentials or console settings from this
    environment; ``home``: a HOME and XDG directories of its own); its stdout."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HYPERTRACK_", "DISPATCH_CONSOLE_"))}
    clean["PYTHONPATH"] = str(ROOT)
    if home is not None:
        clean.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"))
    clean.update(env)
    done = subprocess.run([sys.executable, "-c", probe, *argv], env=clean, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _modules_loaded(tmp_path: Path, *argv: str) -> dict[str, list[str]]:
    return json.loads(_python(_PROBE, *argv, home=tmp_path).strip().splitlines()[-1])


def test_the_first_rows_load_only_what_they_need(tmp_path: Path) -> None:
    seen = _modules_loaded(tmp_path, "--sandbox")
    for stage in ("after_main", "after_rows"):
        loaded = set(seen[stage])
        assert "console.ui.order_list" in loaded  # the probe looks at a real start
        screens = sorted(m for m in loaded if m.startswith("console.ui.screens."))
        assert screens == [], (stage, screens)
        assert [m for m in NOT_ON_THE_START_PATH if m in loaded] == [], stage
        if sys.platform != "win32":
            assert [m for m in IN_THE_SANDBOX_PROCESS if m in loaded] == [], stage
    assert [m for m in NOT_BEFORE_THE_APP_RUNS if m in set(seen["after_main"])] == []
    assert [m for m in NOT_BEFORE_THE_FIRST_ROWS if m in set(seen["rows_painted"])] == []


def test_a_keymap_in_the_config_is_still_checked_against_every_screen(tmp_path: Path) -> None:
    """The keymap check imports every UI module (their bindings); only a config with a
    [keymap] pays for it."""
    config = tmp_path / "config" / "dispatch-console" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[keymap]\n"bulk_review.yes" = "ctrl+y"\n')
    probe = ("import sys\nfrom textual.app import App\nApp.run = lambda self, *a, **k: None\n"
             "from console.cli import main\nassert main(['--sandbox']) == 0\n"
             "print(sorted(m for m in sys.modules if m.startswith('console.ui.screens.')))\n")
    out = _python(probe, home=tmp_path, DISPATCH_CONSOLE_CONFIG=str(config))
    assert "console.ui.screens.bulk_review" in out


def test_httpx_is_imported_without_its_command_line_client() -> None:
    probe = (
        "import sys\n"
        "from console.cli import _import_httpx_without_its_cli\n"
        "_import_httpx_without_its_cli()\n"
        "import httpx\n"
        "assert 'httpx._main' not in sys.modules and 'click' not in sys.modules, 'the CLI was imported'\n"
        "assert httpx.AsyncClient and httpx.RemoteProtocolError\n"
        # Nothing is left blocked: the CLI module still imports when asked for.
        "import httpx._main\n"
        "assert callable(httpx._main.main) and 'click' in sys.modules\n"
    )
    _python(probe)


def test_the_api_package_s_light_modules_do_not_load_the_models() -> None:
    """``console.api`` names its client and models lazily: importing the plain-Python parts
    (what the list, its filters and the widgets need) builds no pydantic model."""
    probe = (
        "import sys\n"
        "import console.api.vocab, console.api.sanitize, console.api.errors, console.geo\n"
        "from console.api import NotFoundError, order_path\n"
        "bad = [m for m in ('console.api.models', 'pydantic', 'httpx') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "from console.api import OrdersClient, Order\n"
        "assert 'console.api.models' in sys.modules and OrdersClient and Order\n"
    )
    _python(probe)


def test_start_up_runs_without_the_cyclic_collector_and_the_console_runs_with_it(tmp_path: Path) -> None:
    """The collector is paused while the console starts (imports, sandbox, app, and Textual's
    start-up until the first rows are on screen), with start-up's objects frozen before the app
    runs; it is on again once the app says its first rows are shown (when_first_rows_shown).
    A subcommand runs with it on. A caller of ``main(argv)`` (a test, a program) keeps its
    collector as it is."""
    probe = (
        "import gc, json, sys\n"
        "from textual.app import App\n"
        "seen = {}\n"
        "phase = 'script'\n"
        "import console.connection as connection\n"
        "build = connection.build_client\n"
        "def spy(*a, **k):\n"
        "    seen[phase + ':building'] = gc.isenabled()\n"
        "    return build(*a, **k)\n"
        "connection.build_client = spy\n"
        "def run(self, *a, **k):\n"
        "    seen[phase + ':running'] = [gc.isenabled(), gc.get_freeze_count() > 0]\n"
        "    self.session.first_rows_shown()  # as the app does once its first rows are on screen\n"
        "    seen[phase + ':first rows'] = gc.isenabled()\n"
        "App.run = run\n"
        "import console.bulk.headless as headless\n"
        "def journal(args):\n"
        "    seen[phase + ':subcommand'] = [gc.isenabled(), gc.get_freeze_count() > 0]\n"
        "    return 0\n"
        "headless.run_journal = journal\n"
        "from console.cli import main\n"
        "sys.argv = ['dispatch-console', '--sandbox']\n"  # the process's own start-up
        "assert main() == 0\n"
        "seen['script:after'] = gc.isenabled()\n"
        "gc.unfreeze()\n"
        "sys.argv = ['dispatch-console', 'journal']\n"
        "assert main() == 0\n"
        "gc.unfreeze()\n"
        "phase = 'called'\n"
        "assert main(['--sandbox']) == 0\n"
        "print(json.dumps(seen))\n"
    )
    seen = json.loads(_python(probe, home=tmp_path).strip().splitlines()[-1])
    assert seen == {
        "script:building": False, "script:running": [False, True], "script:first rows": True,
        "script:after": True, "script:subcommand": [True, True],
        "called:building": True, "called:running": [True, False], "called:first rows": True,
    }


def test_the_bulk_journal_and_results_do_not_load_the_models() -> None:
    """The start-up check of the bulk journal runs beside the first page: it must not build the
    pydantic models (~150 ms on the event loop) just to name an order's identity."""
    probe = (
        "import sys\n"
        "import console.bulk.journal, console.bulk.results\n"
        "bad = [m for m in ('console.api.models', 'pydantic') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    _python(probe)


def test_the_client_builds_the_full_models_on_a_thread_not_on_the_event_loop() -> None:
    """The detail pane's first GET needs the full models (~120 ms to build): built on the event
    loop they held every key pressed meanwhile. The client imports them on a worker thread."""
    probe = (
        "import asyncio, importlib, sys, threading\n"
        "seen = []\n"
        "real = importlib.import_module\n"
        "def spy(name, *a, **k):\n"
        "    if name == 'console.api.models':\n"
        "        seen.append(threading.current_thread() is threading.main_thread())\n"
        "    return real(name, *a, **k)\n"
        "importlib.import_module = spy\n"
        "from console.sandbox import Sandbox\n"
        "async def main():\n"
        "    sb = Sandbox(seed=7, orders=20)\n"
        "    async with sb.client() as client:\n"
        "        assert 'console.api.models' not in sys.modules\n"
        "        page = [p async for p in client.iter_summary_pages(limit=5)][0]\n"
        "        assert 'console.api.models' not in sys.modules\n"
        "        order = await client.get_order(page.orders[0].ref.order_handle)\n"
        "        assert order.order_handle == page.orders[0].ref.order_handle\n"
        "asyncio.run(main())\n"
        "assert seen == [False], seen\n"
    )
    _python(probe)

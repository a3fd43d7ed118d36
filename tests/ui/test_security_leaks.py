"""Plant a known fake secret, force crashes and failures everywhere, then search every output.

Outputs searched (tests.support.hostile.find_leaks: the secret, its tail, base64(account:secret) and the
``Basic ...`` header): the screen, SVG screenshots, Textual's crash report (printed with local
variables), stdout/stderr of ``python -m console`` subprocesses including a crash traceback, the
journal's database files (and its -wal/-shm companions), JSON exports.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from console.api.credentials import ACCOUNT_ENV, SECRET_ENV, Credentials
from console.connection import build_client, resolve_target
from console.settings import Settings
from console.ui.app import DispatchApp
from tests.support.hostile import (
    COMBINED,
    FAKE_ACCOUNT,
    FAKE_SECRET,
    find_leaks,
    hostile_order,
    screen_text,
)
from tests.ui.test_security_ui import BASE, NOW, SIZE, HostileAPI, loaded, select, wait_until

REPO = Path(__file__).resolve().parents[2]


def secret_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HYPERTRACK_", "DISPATCH_CONSOLE")) and k not in ("COLUMNS", "LINES")}
    env.update({ACCOUNT_ENV: FAKE_ACCOUNT, SECRET_ENV: FAKE_SECRET})
    return env


async def _no_sleep(_seconds: float) -> None:
    return None


# --------------------------------------------------------------------------- the app


def _app_from_environment(monkeypatch: pytest.MonkeyPatch, api: HostileAPI) -> tuple[DispatchApp, Any]:
    """The app built the way the CLI builds it: credentials resolved from the environment."""
    monkeypatch.setenv(ACCOUNT_ENV, FAKE_ACCOUNT)
    monkeypatch.setenv(SECRET_ENV, FAKE_SECRET)
    target = resolve_target(base_url=BASE, force_sandbox=False, profile=None)
    assert target.credentials is not None
    client, _ = build_client(target, transport=httpx.MockTransport(api), sleep=_no_sleep)
    app = DispatchApp(client, Settings(base_url=BASE), now=lambda: NOW)
    app.detail_controller.DETAIL_DEBOUNCE = 0.0
    app.bulk.engine_options = dict(settle_delay=0.0, settle_window=0.0)
    return app, target


async def test_a_crash_in_a_worker_and_in_an_event_handler_leak_no_secret(monkeypatch, capfd):
    api = HostileAPI([hostile_order("h-1", COMBINED), hostile_order("h-2", COMBINED)])
    app, target = _app_from_environment(monkeypatch, api)
    client = app.client

    async def exploding_get_order(handle: str, **kwargs: Any) -> Any:
        # A bug that formats the objects holding the secret into its message, with them in locals.
        credentials = target.credentials
        auth = client._auth
        raise RuntimeError(f"worker bug: {credentials!r} {auth!r} {client!r} {target!r}")

    def exploding_refresh() -> None:
        credentials = Credentials.from_env()
        environment_secret = credentials.secret_key if credentials else None
        raise RuntimeError(f"handler bug with {environment_secret!r}")

    monkeypatch.setattr(client, "get_order", exploding_get_order)
    monkeypatch.setattr(app, "action_refresh", exploding_refresh)
    outputs: list[str] = []
    with pytest.raises(RuntimeError, match="handler bug"):
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot, app)
            await select(pilot, app, "h-1")  # the detail worker fails: shown in the pane
            outputs.append(screen_text(app))
            assert "worker bug" in outputs[-1] or "RuntimeError" in outputs[-1]
            outputs.append(app.export_screenshot())
            await pilot.press("r")  # the handler raises: Textual's crash report, with locals
            await wait_until(pilot, lambda: app._exception is not None, "the crash")
    assert app.return_code == 1
    captured = capfd.readouterr()
    report = captured.out + captured.err
    # The crash report was printed, with the handler's locals (redacted, not absent).
    assert "handler bug" in report and "environment_secret" in report and "**********" in report
    outputs.append(report)
    for output in outputs:
        assert find_leaks(output) == [], find_leaks(output)


# --------------------------------------------------------------------------- headless commands


@pytest.fixture
def served_secret_sandbox():
    """A sandbox that accepts only the planted fake credentials, served over real loopback HTTP."""
    from console.sandbox import Sandbox
    from console.sandbox.server import serve_in_thread

    sandbox = Sandbox(seed=11, orders=40, account_id=FAKE_ACCOUNT, secret_key=FAKE_SECRET)
    with serve_in_thread(sandbox) as url:
        yield url, sandbox


def run_console(*args: str, prelude: str = "", timeout: float = 60) -> subprocess.CompletedProcess:
    code = f"{prelude}\nfrom console.cli import main\nraise SystemExit(main())"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=secret_env(), cwd=REPO, timeout=timeout, stdin=subprocess.DEVNULL)


def journal_bytes(path: Path) -> bytes:
    data = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        companion = Path(str(path) + suffix)
        if companion.exists():
            data += companion.read_bytes()
            assert stat.S_IMODE(companion.stat().st_mode) & 0o077 == 0, f"{companion} is readable by others"
    return data


def test_headless_runs_with_failures_and_a_crash_leak_no_secret(served_secret_sandbox, tmp_path, monkeypatch, capsys):
    url, sandbox = served_secret_sandbox
    open_orders = [o.handle for o in sandbox.orders() if o.status in ("assigned", "ongoing", "planned")][:5]
    assert len(open_orders) >= 3
    spare = "crash-run-order"  # an order nobody else touches, for the crash run
    sandbox.add_order(spare, status="assigned")
    sandbox.add_order("odd/#?%2F [/oops]", metadata={"note": COMBINED})
    sandbox.faults.script("POST", open_orders[0], ["502"])
    journal = tmp_path / "journal.db"
    outputs: dict[str, str | bytes] = {}

    # A real process, a run with failures: a 502 (in doubt, settled by a GET), a handle the
    # server does not know, a hostile handle; JSON results on stdout.
    run = run_console("complete", "--base-url", url, "--yes", "--json", "--journal", str(journal),
                      "--settle-window", "1", *open_orders, "no-such-order", "odd/#?%2F [/oops]")
    assert run.returncode != 0, run.stderr
    assert run.stdout.strip(), run.stderr
    for line in run.stdout.splitlines():
        json.loads(line)  # one JSON object per order
    outputs["complete stdout"], outputs["complete stderr"] = run.stdout, run.stderr

    # A real process that crashes in the middle of a run: an exception raised inside the engine,
    # with the credentials in local variables and in its message. The engine files the order as
    # not sent (exit 1); the logged error is one line (the exception's type and where), never a
    # traceback, never the exception's message.
    crash = run_console(
        "complete", "--base-url", url, "--yes", "--journal", str(journal), spare,
        prelude=(
            "import console.bulk.engine as engine\n"
            "async def _crash(self, item):\n"
            "    from console.api.credentials import Credentials\n"
            "    credentials = Credentials.from_env()\n"
            "    raise RuntimeError('forced crash in the engine: %r %r' % (credentials, self))\n"
            "engine.BulkEngine._send_once = _crash\n"
        ),
    )
    assert crash.returncode == 1, crash.stderr
    assert "Traceback" not in crash.stderr and "forced crash in the engine" not in crash.stderr, crash.stderr
    assert "(RuntimeError at console/bulk/engine.py:" in crash.stderr, crash.stderr
    outputs["crash stdout+stderr"] = crash.stdout + crash.stderr

    # In process (the same code, cheaper): the exports and a 401.
    from console.cli import main

    for name, value in secret_env().items():
        if name.startswith(("HYPERTRACK_", "DISPATCH_CONSOLE")):
            monkeypatch.setenv(name, value)
    empty = tmp_path / "config.toml"
    empty.write_text("")
    monkeypatch.setenv("DISPATCH_CONSOLE_CONFIG", str(empty))
    assert main(["orders", "--base-url", url, "--json"]) == 0
    captured = capsys.readouterr()
    outputs["orders --json"] = captured.out + captured.err
    assert main(["journal", "--json", "--base-url", url, "--journal", str(journal)]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip()
    outputs["journal --json"] = captured.out + captured.err
    monkeypatch.setenv(SECRET_ENV, FAKE_SECRET + "-wrong")
    assert main(["orders", "--base-url", url]) != 0
    captured = capsys.readouterr()
    outputs["401"] = captured.out + captured.err

    outputs["journal files"] = journal_bytes(journal)
    assert outputs["journal files"]
    leaks = {name: found for name, text in outputs.items() if (found := find_leaks(text))}
    assert leaks == {}

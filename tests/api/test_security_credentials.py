"""The secret never leaks: not in reprs, not in crash reports with local variables (as Textual
prints them), not to a redirect target or a proxy, not from the command line.

A known fake secret is planted; every output is searched for it plain, for the tail of it, and
for ``base64(account:secret)`` alone and in the ``Basic ...`` header (see tests.support.hostile.leak_markers).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import h11
import httpx
import pytest
import rich
from pydantic import SecretStr
from rich.console import Console
from rich.traceback import Traceback

from console.api import Credentials, OrdersClient
from console.api import errors as E
from console.api.client import BasicAuth
from console.api.retry import Backoff
from console.connection import resolve_target
from tests.support.hostile import FAKE_ACCOUNT, FAKE_SECRET, CraftedServer, Listener, find_leaks

REPO = Path(__file__).resolve().parents[2]
CREDS = Credentials(FAKE_ACCOUNT, SecretStr(FAKE_SECRET))


def crash_report(full: bool = False) -> str:
    """What Textual's crash report (``App._fatal_error``) would print for the exception being
    handled: the same extraction (``show_locals=True, locals_max_length=5``, Rich's default
    80-character string limit), every frame's locals and every exception in the chain.

    ``full=True`` renders it for real (slow: syntax highlighting of every frame); otherwise the
    extracted locals are rendered without the source listing, which is what could leak.
    """
    exc_type, exc_value, tb = sys.exc_info()
    if full:
        traceback = Traceback(show_locals=True, width=None, locals_max_length=5, suppress=[rich])
        console = Console(file=io.StringIO(), width=250, record=True, color_system=None)
        console.print(traceback)
        return console.export_text()
    trace = Traceback.extract(exc_type, exc_value, tb, show_locals=True, locals_max_length=5)
    parts: list[str] = []
    for stack in trace.stacks:
        parts.append(f"{stack.exc_type}: {stack.exc_value}")
        for frame in stack.frames:
            parts.append(f"{frame.filename}:{frame.lineno} in {frame.name}")
            for name, node in (frame.locals or {}).items():
                parts.append(f"  {name} = {node.render(max_width=250)}")
    return "\n".join(parts)


def completed_order(request: httpx.Request) -> httpx.Response:
    handle = request.url.path.split("/")[2]
    return httpx.Response(200, json={"order_handle": handle, "status": "completed"})


# --------------------------------------------------------------------------- reprs


def test_reprs_of_everything_holding_the_secret_are_redacted():
    target = resolve_target(base_url="https://v3.api.hypertrack.com", force_sandbox=False, profile=None,
                            environ={"HYPERTRACK_ACCOUNT_ID": FAKE_ACCOUNT, "HYPERTRACK_SECRET_KEY": FAKE_SECRET})
    client = OrdersClient(CREDS, base_url="https://v3.api.hypertrack.com")
    things = [CREDS, CREDS.secret_key, CREDS.basic_value(), BasicAuth(CREDS), client, target,
              target.credentials, vars(client)]
    for thing in things:
        for text in (repr(thing), str(thing)):
            assert find_leaks(text) == [], f"{type(thing).__name__} leaks: {text[:200]}"
    # Rich's pretty printer (used for crash-report locals) walks dataclasses and __dict__s.
    from rich.pretty import pretty_repr
    for thing in things:
        assert find_leaks(pretty_repr(thing, max_length=5)) == []


# --------------------------------------------------------------------------- crash reports


async def _call_and_report(client: OrdersClient, call: str, full: bool = False) -> str:
    try:
        if call == "get":
            await client.get_order("h-1")
        else:
            await client.complete_order("h-1")
    except BaseException:
        return crash_report(full)
    pytest.fail("the call was expected to fail")


@pytest.mark.parametrize("call", ["get", "complete"])
async def test_a_crash_inside_the_transport_does_not_put_the_secret_in_the_report(call):
    def explode(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("transport bug")

    client = OrdersClient(CREDS, base_url="http://127.0.0.1:9", transport=httpx.MockTransport(explode),
                          get_backoff=Backoff(max_attempts=1))
    report = await _call_and_report(client, call)
    assert "transport bug" in report or "RuntimeError" in report
    assert find_leaks(report) == []


@pytest.mark.parametrize("call", ["get", "complete"])
async def test_a_crash_while_writing_request_headers_does_not_put_the_secret_in_the_report(call, monkeypatch):
    """A bug (or an unmapped error) inside httpcore/h11 while the request headers are written:
    h11's Request event sits in a local there and its repr holds the Authorization header."""
    original = h11.Connection.send

    def send_then_fail(self, event):
        original(self, event)
        if isinstance(event, h11.Request):
            raise RuntimeError("h11 bug after building the request event")

    monkeypatch.setattr(h11.Connection, "send", send_then_fail)
    with Listener() as server:
        client = OrdersClient(CREDS, base_url=f"http://127.0.0.1:{server.port}",
                              get_backoff=Backoff(max_attempts=1))
        try:
            # One case is rendered in full, exactly as Textual prints it (slow); the other checks
            # the extracted locals, which is what the rendering prints.
            report = await _call_and_report(client, call, full=(call == "complete"))
        finally:
            await client.aclose()
    assert find_leaks(report) == [], "the crash report shows the Authorization header"
    # The report still says what failed and where: only the locals are gone.
    assert "h11 bug after building the request event" in report and "send_then_fail" in report


@pytest.mark.parametrize("response", [
    b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{\"order_handle\"",      # cut off
    b"HTTP/1.1 500 Oops\r\ncontent-length: 2\r\n\r\n{}",                     # server error
    b"NOT HTTP AT ALL\r\n\r\n",                                              # protocol error
    b"",                                                                     # closed at once
])
async def test_real_socket_failures_give_declared_errors_without_the_secret(response):
    import socket
    import threading

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()

    def serve() -> None:
        for _ in range(3):
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.sendall(response)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    client = OrdersClient(CREDS, base_url=f"http://127.0.0.1:{sock.getsockname()[1]}",
                          get_backoff=Backoff(max_attempts=1))
    try:
        with pytest.raises(E.HyperTrackError) as info:
            await client.complete_order("h-1")
        try:
            raise info.value
        except E.HyperTrackError:
            report = crash_report()
    finally:
        await client.aclose()
        sock.close()
    assert find_leaks(str(info.value)) == []
    assert find_leaks(report) == []


# --------------------------------------------------------------------------- where requests go


async def test_a_redirect_to_another_host_sends_it_nothing_and_no_authorization():
    with Listener() as foreign:
        def respond(req):
            return 307, {"location": f"http://localhost:{foreign.port}/orders/h-1/complete"}, b""

        with CraftedServer(respond) as origin:
            async with OrdersClient(CREDS, base_url=origin.url) as client:
                with pytest.raises(E.UnexpectedStatus):
                    await client.complete_order("h-1")
        foreign.settle()  # a (wrongly) followed request has been taken in by now
    assert [r.method for r in origin.requests] == ["POST"]
    assert origin.requests[0].headers.get("Authorization", "").startswith("Basic ")
    assert foreign.connections == 0 and bytes(foreign.received) == b""


async def test_a_hostile_proxy_in_the_environment_is_ignored(monkeypatch):
    with Listener() as proxy, CraftedServer(lambda req: (200, {"content-type": "application/json"},
                                                         json.dumps({"order_handle": "h-1", "status": "completed"}).encode())) as origin:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)

        # Control: a client that trusts the environment does go to the proxy, so this test can fail.
        async with httpx.AsyncClient(trust_env=True, timeout=1) as trusting:
            with pytest.raises(httpx.HTTPError):
                await trusting.get(origin.url + "/control")
        proxy.settle()
        assert proxy.connections >= 1
        before = proxy.connections

        async with OrdersClient(CREDS, base_url=origin.url) as client:
            order = await client.complete_order("h-1")
        proxy.settle()  # anything the client sent the proxy has been taken in by now
    assert order.status == "completed"
    assert [r.raw_path for r in origin.requests] == ["/orders/h-1/complete"]
    assert proxy.connections == before  # nothing more reached the proxy


# --------------------------------------------------------------------------- the command line


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("HYPERTRACK_", "DISPATCH_CONSOLE"))}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "console", *args], capture_output=True, text=True,
                          env=full_env, cwd=REPO, timeout=timeout, stdin=subprocess.DEVNULL)


SECRET_ARGS = [
    ["--secret-key", FAKE_SECRET],
    [f"--secret-key={FAKE_SECRET}"],
    ["--secret", FAKE_SECRET],
    ["--password", FAKE_SECRET],
    ["--token", FAKE_SECRET],
    ["--api-key", FAKE_SECRET],
    ["complete", "--secret-key", FAKE_SECRET, "h-1"],
    # Spellings nobody listed: argparse would answer "unrecognized arguments: ... <secret>".
    ["--hypertrack-secret-key", FAKE_SECRET],
    ["--secretkey", FAKE_SECRET],
    ["--api_key", FAKE_SECRET],
    ["--auth-token", FAKE_SECRET],
    ["--passwd", FAKE_SECRET],
    ["--key", FAKE_SECRET],
    ["--credentials", f"{FAKE_ACCOUNT}:{FAKE_SECRET}"],
    ["orders", f"--SECRET_KEY={FAKE_SECRET}"],
]


@pytest.mark.parametrize("args", SECRET_ARGS)
def test_a_secret_on_the_command_line_is_refused_and_not_echoed(args, capsys, monkeypatch):
    from console.cli import main

    monkeypatch.delenv("HYPERTRACK_SECRET_KEY", raising=False)
    assert main(args) == 2
    out = capsys.readouterr()
    assert "not accepted on the command line" in out.err, out.err
    assert find_leaks(out.out + out.err) == []


def test_the_real_entry_point_refuses_a_secret_flag_without_echoing_it():
    result = run_cli("--hypertrack-secret-key", FAKE_SECRET)
    assert result.returncode == 2
    assert "not accepted on the command line" in result.stderr
    assert find_leaks(result.stdout + result.stderr) == []


def test_an_argument_holding_the_configured_secret_is_refused_and_not_echoed():
    result = run_cli("--ops-group", f"x{FAKE_SECRET}", env={
        "HYPERTRACK_ACCOUNT_ID": FAKE_ACCOUNT, "HYPERTRACK_SECRET_KEY": FAKE_SECRET})
    assert result.returncode == 2
    assert find_leaks(result.stdout + result.stderr) == []


def test_the_console_s_own_secret_type_never_shows_its_value() -> None:
    """console.api.credentials.Secret replaces pydantic's SecretStr on the start path (issue 6):
    every way of turning it into text is redacted, and it refuses to be pickled in clear."""
    import pickle

    from console.api.credentials import Secret

    secret = Secret(FAKE_SECRET)
    for shown in (repr(secret), str(secret), f"{secret}", f"{secret!r}", f"{secret:>40}",
                  repr([secret]), repr({"k": secret}), repr(Credentials("acct", secret))):
        assert FAKE_SECRET not in shown
        assert "*" in shown
    assert secret.get_secret_value() == FAKE_SECRET
    assert secret == Secret(FAKE_SECRET) and secret != Secret("other") and len(secret) == len(FAKE_SECRET)
    assert str(Secret("")) == ""
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    header = Credentials("acct", secret).basic_value()
    assert isinstance(header, Secret) and "Basic" not in repr(header)
